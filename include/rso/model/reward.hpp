// Reward models on the transformer backbone.
//
// - Pointwise Bradley–Terry reward r(x, y): a scalar head on the final hidden
//   state of the last real token of "x y" (Hugging Face's
//   LlamaForSequenceClassification with one label: parameters "model.*" and
//   "score.weight"). P(y1 ≻ y2 | x) = σ(r(x, y1) − r(x, y2)).
// - The paper's pairwise reward-ranking model ρ(x, y1, y2) = P(y1 ≻ y2 | x):
//   the same network reading "x [sep_a] y1 [sep_b] y2" in one sequence, with
//   ρ = σ(score).
// - A ranking model made pointwise: r(x, y) = logit ρ(x, y, y_b) with y_b a
//   baseline (SFT) response of the same prompt, so r(x, y_b) ≈ 0.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rso/model/transformer.hpp"

namespace rso::model {

class RewardModelImpl : public torch::nn::Module {
 public:
  explicit RewardModelImpl(TransformerOptions options);
  // One score per row [B]: read at each row's last real token (pooling
  // "last", Hugging Face's), or the mean over real tokens of per-token scores
  // (pooling "mean": a learned lexicon averaged over the text, which small
  // models fit from few pairs), or their sum (pooling "sum": under causal
  // attention the prompt's tokens score alike after any response, so two
  // responses to one prompt differ by their own tokens' scores only, the
  // shape of a lexicon sum like VADER's), or that sum with a learned valence
  // per token id added to each token's score (pooling "lexicon": a word's
  // context-free valence is one parameter to learn, not a direction the
  // backbone's hidden states must come to encode; the backbone's score adds
  // context), or that with each valence scaled by 1 + g(h_t), a learned
  // linear function of the token's hidden state (pooling
  // "contextual-lexicon": negation flips a word's valence, an intensifier
  // scales it, as VADER's rules do), or lexicon with each valence scaled by
  // 1 + the sum of learned per-token modifiers of the modifier_window tokens
  // before it (pooling "lexicon-modifiers": VADER's own shape, where "not"
  // within three words flips a valence and "very" raises it, learnt from the
  // pairs rather than listed); pointwise models only.
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask = {});
  // forward() from the backbone's layer states [B, T, hidden] of these
  // tokens (Backbone::layer_states): the final norm and the head, the part
  // that trains when reward.frozen_layers freezes every layer.
  at::Tensor score_layer_states(const at::Tensor& states, const at::Tensor& input_ids, const at::Tensor& attention_mask);
  const TransformerOptions& options() const { return options_; }
  const std::string& pooling() const { return pooling_; }
  // modifier_window: how many tokens before a word its modifiers reach
  // (pooling "lexicon-modifiers" only).
  void set_pooling(const std::string& pooling, std::int64_t modifier_window = 3);
  std::int64_t modifier_window() const { return modifier_window_; }
  // Each token id's learned valence before its context scales it [vocab]
  // (the lexicon poolings; undefined otherwise), differentiable: what a penalty on the
  // valences acts on.
  at::Tensor valences() const;
  // Each token id's learned modifier of the valences after it [vocab]
  // (pooling "lexicon-modifiers"; undefined otherwise), differentiable.
  at::Tensor modifiers() const;

  Backbone model{nullptr};
  torch::nn::Linear score{nullptr};
  torch::nn::Embedding token_valence{nullptr};  // [vocab, 1], the lexicon poolings
  torch::nn::Linear valence_gate{nullptr};      // hidden -> 1, pooling "contextual-lexicon" only
  torch::nn::Embedding token_modifier{nullptr}; // [vocab, 1], pooling "lexicon-modifiers" only

 private:
  // 1 + Σ_{k=1..window} modifier(x_{t−k}) for each position t [B, T].
  at::Tensor modifier_factor(const at::Tensor& input_ids, const at::Tensor& real);

  TransformerOptions options_;
  std::string pooling_ = "last";
  std::int64_t modifier_window_ = 0;
};
TORCH_MODULE(RewardModel);

// σ(r_a − r_b), elementwise.
at::Tensor bradley_terry_probability(const at::Tensor& reward_a, const at::Tensor& reward_b);

// Token ids that mark where each response starts in a ranking input.
struct RankingSeparators {
  std::vector<std::int64_t> before_first;
  std::vector<std::int64_t> before_second;
};

// Left-padded batch of "x sep_a y1 sep_b y2" sequences: {input_ids, attention_mask}.
std::pair<at::Tensor, at::Tensor> pack_ranking_inputs(const std::vector<std::vector<std::int64_t>>& prompts,
                                                      const std::vector<std::vector<std::int64_t>>& first,
                                                      const std::vector<std::vector<std::int64_t>>& second,
                                                      const RankingSeparators& separators, std::int64_t pad_id);

// ρ(x, y1, y2) = P(y1 ≻ y2 | x) for each row.
at::Tensor ranking_probability(RewardModel& ranker, const std::vector<std::vector<std::int64_t>>& prompts,
                               const std::vector<std::vector<std::int64_t>>& first,
                               const std::vector<std::vector<std::int64_t>>& second,
                               const RankingSeparators& separators, std::int64_t pad_id);

// r(x, y) = logit ρ(x, y, y_b): the ranking model's raw score, computed
// directly rather than through σ and logit, which would saturate.
at::Tensor reward_from_ranking(RewardModel& ranker, const std::vector<std::vector<std::int64_t>>& prompts,
                               const std::vector<std::vector<std::int64_t>>& responses,
                               const std::vector<std::vector<std::int64_t>>& baselines,
                               const RankingSeparators& separators, std::int64_t pad_id);

// The longest prompt whose responses of up to `response_tokens` tokens the
// reward model can read within its max_positions: "x y" for a pointwise
// model, "x sep_a y1 sep_b y2" for a ranking one. Below 1 when none fits.
std::int64_t longest_scorable_prompt(const TransformerOptions& options, bool ranking,
                                     const RankingSeparators& separators, std::int64_t response_tokens);

}  // namespace rso::model
