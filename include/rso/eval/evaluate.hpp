// `rso eval`: the trained policy πθ against the reference (SFT) policy on
// held-out prompts (DESIGN.md, "Evaluation").
//
// For each prompt, eval.samples_per_prompt responses from each policy (the
// sampling stage's temperature, top-k, top-p and length; the same random
// streams for both, so the comparison pairs response j of one with response
// j of the other). Per pair:
//   - proxy win: the reward model prefers πθ's response (pointwise: r(x, yθ) >
//     r(x, y_ref); ranking: the ranking logit averaged over both orders > 0);
//   - gold win: the gold reward (VADER compound of the text) prefers it;
//   ties count half.
// Per πθ response: the gold reward, the length in tokens, and the per-token
// log-ratio log πθ(y)/π_ref(y) / |y|, whose mean over πθ's own samples
// estimates KL(πθ ‖ π_ref) per token. Every figure is a mean over prompts of
// the per-prompt mean, with a 95% interval mean ± 1.96·sd/√n over the n
// prompts. Writes <output>/report.json, report.md and samples.jsonl.
#pragma once

#include <nlohmann/json.hpp>

#include "rso/core/config.hpp"
#include "rso/dist/dist_context.hpp"

namespace rso::eval {

// Collective. Returns the report (also written to disk by rank 0).
nlohmann::ordered_json run_evaluation(DistContext& context, const Config& config);

// Mean and 95% half-width (1.96·sd/√n, sample sd) of per-prompt values.
struct Estimate {
  double mean = 0, ci95 = 0;
  std::size_t n = 0;
};
Estimate estimate(const std::vector<double>& values);

}  // namespace rso::eval
