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
// The proxy is the reward model, or the reward function sample.scorer names.
// Per response: the gold reward, whether it is nonzero (the response has a
// sentiment word), the length in tokens. KL(πθ ‖ π_ref) per token: on
// further samples of πθ itself (temperature 1, no top-k or top-p), the exact
// KL of the two next-token distributions summed over each response
// (model::sequence_kl) divided by its length. Every figure is a mean over
// prompts of the per-prompt mean, with a 95% interval mean ± 1.96·sd/√n over
// the n prompts. Also, over all responses: the share of words found in a
// word list (eval.dictionary), and the proxy's agreement with the gold
// reward on pairs of π_ref samples that the gold reward tells apart (the
// pairs rso sample ranks). Writes <output>/report.json, report.md and
// samples.jsonl.
#pragma once

#include <nlohmann/json.hpp>

#include "rso/core/config.hpp"
#include "rso/dist/dist_context.hpp"
#include "rso/eval/judges.hpp"

namespace rso::sampling {
class TextScorer;
}

namespace rso::eval {

// Collective. Returns the report (also written to disk by rank 0). `judges`
// give the gold reward (the same on every rank) and the labelled sentences;
// `scorer`, when given, is the proxy judge in place of eval.reward_model.
nlohmann::ordered_json run_evaluation(DistContext& context, const Config& config, const JudgesSource& judges_source,
                                      sampling::TextScorer* scorer = nullptr);

// report.md from report.json's content and the judges' names.
std::string report_markdown(const nlohmann::ordered_json& report, const Judges& judges);

// Mean and 95% half-width (1.96·sd/√n, sample sd) of per-prompt values.
struct Estimate {
  double mean = 0, ci95 = 0;
  std::size_t n = 0;
};
Estimate estimate(const std::vector<double>& values);

}  // namespace rso::eval
