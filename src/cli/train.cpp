// `rso train`: preference optimisation (see rso/train/preference_trainer.hpp).
#include "rso/cli/commands.hpp"
#include "rso/train/preference_trainer.hpp"

namespace rso::cli {

int run_train(DistContext& context, const ConfigOptions& options) {
  const Config config = resolve_config(context, options);
  context.configure(config.dist);
  record_config(context, config);
  train::run_preference_training(context, config);
  return exit_code::ok;
}

}  // namespace rso::cli
