// `rso eval`: the trained policy against the SFT policy (see rso/eval/evaluate.hpp).
#include <iostream>

#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"
#include "rso/eval/evaluate.hpp"
#include "rso/sampling/text_scorer.hpp"

namespace rso::cli {

int run_eval(DistContext& context, const ConfigOptions& options) {
  const Config config = resolve_config(context, options);
  context.configure(config.dist);
  const io::RunDirectoryLock lock = claim_run_directory(context, config, "eval");
  record_config_at_start(context, config);
  const auto scorer = make_text_scorer(context, config, config.sample.scorer, "sample.scorer");
  eval::run_evaluation(context, config, [&] { return builtin_judges(context, config); }, scorer.get());
  record_config(context, config);
  return exit_code::ok;
}

}  // namespace rso::cli
