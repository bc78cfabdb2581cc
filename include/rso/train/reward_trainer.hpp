// `rso reward`: trains the reward model on human preference pairs, through the
// shared loop of train/trainer.hpp (an example is a pair).
//
// - pointwise (Bradley–Terry): r(x, y) from "x y"; loss −log σ(r(x, y_w) − r(x, y_l)).
// - ranking (the paper's ρ): one sequence "x <first_marker> y1 <second_marker> y2"
//   scored s, ρ = σ(s) = P(y1 ≻ y2 | x); loss −log ρ when y1 is the chosen
//   response. Each visit of a pair flips its order with probability 1/2
//   (keyed by the visit's position in the run, so a resumed run flips the
//   same way), which removes position bias. Held-out pairs are read in both
//   orders; their accuracy is the mean of the two.
//
// The model starts from reward.init: a policy lends its backbone (the score
// head starts at zero, so every pair starts at loss log 2), or a reward model
// of the same kind continues. Accuracy = share of pairs whose chosen response
// scores higher; reported on training batches and on held-out pairs
// (reward.eval_pairs, or a seeded reward.eval_fraction of reward.pairs).
#pragma once

#include "rso/core/config.hpp"
#include "rso/dist/dist_context.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/text/tokenizer.hpp"
#include "rso/train/trainer.hpp"

namespace rso::train {

// The ranking markers of reward.first_marker / second_marker as token ids:
// "ids:3,4" gives ids directly; other text goes through the tokenizer (an
// error without one).
model::RankingSeparators ranking_separators(const RewardConfig& config, const text::Tokenizer* tokenizer,
                                            std::int64_t vocab_size);

bool run_reward_training(DistContext& context, const Config& config, const TrainingControl& control = {});

}  // namespace rso::train
