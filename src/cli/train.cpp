// `rso train`: preference optimisation (see rso/train/preference_trainer.hpp).
#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"
#include "rso/train/preference_trainer.hpp"

namespace rso::cli {

int run_train(DistContext& context, const ConfigOptions& options, const std::string& resume,
              std::int64_t stop_after_step) {
  const Config config = resolve_config(context, options);
  context.configure(config.dist);
  record_config(context, config);
  train::TrainingControl control;
  control.resume = resume == "auto";
  control.stop_after_step = stop_after_step;
  // Stopped with a checkpoint: exit 75 asks the scheduler to requeue.
  return train::run_preference_training(context, config, control) ? exit_code::ok : exit_code::requeue;
}

}  // namespace rso::cli
