// `rso sample`: the sampling stage (see rso/sampling/sample_stage.hpp).
#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"
#include "rso/sampling/sample_stage.hpp"
#include "rso/sampling/text_scorer.hpp"

namespace rso::cli {

int run_sample(DistContext& context, const ConfigOptions& options, std::int64_t max_blocks) {
  const Config config = resolve_config(context, options);
  context.configure(config.dist);
  const io::RunDirectoryLock lock = claim_run_directory(context, config, "sample");
  record_config_at_start(context, config);
  sampling::SampleStageLimits limits;
  limits.max_blocks = max_blocks;
  // Stopped by a limit or a signal with blocks left: exit 75 asks the scheduler to requeue.
  const auto scorer = make_text_scorer(context, config, config.sample.scorer, "sample.scorer");
  const bool finished = sampling::run_sample_stage(context, config, limits, scorer.get());
  record_config(context, config);
  return finished ? exit_code::ok : exit_code::requeue;
}

}  // namespace rso::cli
