#include "rso/model/reward.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>

#include "rso/core/error.hpp"
#include "rso/model/batching.hpp"

namespace rso::model {

namespace {
// Token valences are stored divided by this. Adam moves every parameter by
// about the learning rate per step; a word's valence must travel O(1) (a
// Bradley–Terry logit of a few units) in a few hundred steps, the backbone's
// weights only a little: the scale gives the valences the larger step
// without a second learning rate.
constexpr double kValenceScale = 32.0;
}  // namespace

RewardModelImpl::RewardModelImpl(TransformerOptions options) : options_(std::move(options)) {
  options_.validate();
  model = register_module("model", Backbone(options_));
  score = register_module("score", torch::nn::Linear(torch::nn::LinearOptions(options_.hidden_size(), 1).bias(false)));
  init_llama_weights(*this, options_.init_std());
}

void RewardModelImpl::set_pooling(const std::string& pooling, std::int64_t modifier_window) {
  if (pooling != "last" && pooling != "mean" && pooling != "sum" && pooling != "lexicon" &&
      pooling != "contextual-lexicon" && pooling != "lexicon-modifiers")
    RSO_THROW(DataError, "reward pooling '" + pooling +
                             "' is none of last, mean, sum, lexicon, contextual-lexicon, lexicon-modifiers");
  if (pooling == "lexicon-modifiers" && (modifier_window < 1 || modifier_window > 64))
    RSO_THROW(DataError, "reward modifier window " + std::to_string(modifier_window) + " is not within 1..64");
  pooling_ = pooling;
  const bool learns_valences = pooling_ == "lexicon" || pooling_ == "contextual-lexicon" || pooling_ == "lexicon-modifiers";
  if (learns_valences && !token_valence) {
    // Starts at zero, as the score head's pointwise training starts: the
    // model begins indifferent.
    token_valence = register_module(
        "token_valence", torch::nn::Embedding(torch::nn::EmbeddingOptions(options_.vocab_size(), 1)));
    token_valence->to(score->weight.device(), score->weight.scalar_type());
    at::NoGradGuard no_grad;
    token_valence->weight.zero_();
  }
  if (pooling_ == "contextual-lexicon" && !valence_gate) {
    // Zero: every valence starts at its full, context-free weight (the plain
    // lexicon), and the pairs teach which contexts scale it.
    valence_gate = register_module(
        "valence_gate", torch::nn::Linear(torch::nn::LinearOptions(options_.hidden_size(), 1).bias(false)));
    valence_gate->to(score->weight.device(), score->weight.scalar_type());
    at::NoGradGuard no_grad;
    valence_gate->weight.zero_();
  }
  if (pooling_ == "lexicon-modifiers") {
    modifier_window_ = modifier_window;
    if (!token_modifier) {
      // Zero: no token modifies its neighbours until the pairs show one does.
      token_modifier = register_module(
          "token_modifier", torch::nn::Embedding(torch::nn::EmbeddingOptions(options_.vocab_size(), 1)));
      token_modifier->to(score->weight.device(), score->weight.scalar_type());
      at::NoGradGuard no_grad;
      token_modifier->weight.zero_();
    }
  }
}

at::Tensor RewardModelImpl::valences() const {
  if (!token_valence) return {};
  return kValenceScale * token_valence->weight.squeeze(-1);
}

at::Tensor RewardModelImpl::modifiers() const {
  if (!token_modifier) return {};
  return kValenceScale * token_modifier->weight.squeeze(-1);
}

at::Tensor RewardModelImpl::modifier_factor(const at::Tensor& input_ids, const at::Tensor& real) {
  // Padding modifies nothing; a row's first tokens have fewer tokens before
  // them, the columns shifted in from the left add zero.
  const at::Tensor modifier = kValenceScale * token_modifier(input_ids).squeeze(-1).to(real.scalar_type()) * real;
  const std::int64_t length = input_ids.size(1);
  at::Tensor factor = at::ones_like(modifier);
  for (std::int64_t k = 1; k <= std::min(modifier_window_, length - 1); ++k)
    factor = factor + at::constant_pad_nd(modifier.narrow(1, 0, length - k), {k, 0});
  return factor;
}

at::Tensor RewardModelImpl::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  const at::Tensor mask = attention_mask.defined() ? attention_mask : at::ones_like(input_ids);
  return score_layer_states(model->layer_states(input_ids, mask), input_ids, mask);
}

at::Tensor RewardModelImpl::score_layer_states(const at::Tensor& states, const at::Tensor& input_ids,
                                               const at::Tensor& attention_mask) {
  const at::Tensor mask = attention_mask.defined() ? attention_mask : at::ones_like(input_ids);
  const at::Tensor hidden = model->norm(states);  // [B, T, H]
  if (pooling_ != "last") {
    const at::Tensor real = mask.to(hidden.scalar_type());
    at::Tensor per_token = score(hidden).squeeze(-1);
    if (token_valence) {
      at::Tensor valence = kValenceScale * token_valence(input_ids).squeeze(-1).to(per_token.scalar_type());
      // VADER's rules are multiplicative: a negation before a word scales its
      // valence by -0.74, an intensifier by 1 ± 0.29. A learned context
      // factor 1 + g(h_t) can express them; an additive context score would
      // have to know each word's valence to cancel it.
      if (valence_gate) valence = valence * (1 + valence_gate(hidden).squeeze(-1));
      if (token_modifier) valence = valence * modifier_factor(input_ids, real);
      per_token = per_token + valence;
    }
    const at::Tensor total = (per_token * real).sum(1);
    return pooling_ == "mean" ? total / real.sum(1).clamp_min(1) : total;
  }
  // The last real token of each row, whatever side the padding is on.
  const at::Tensor columns = at::arange(mask.size(1), mask.options().dtype(at::kLong));
  const at::Tensor last = (mask.to(at::kLong) * (columns + 1)).argmax(1);
  const at::Tensor picked = hidden.gather(1, last.view({-1, 1, 1}).expand({-1, 1, hidden.size(2)})).squeeze(1);
  return score(picked).squeeze(-1);
}

at::Tensor bradley_terry_probability(const at::Tensor& reward_a, const at::Tensor& reward_b) {
  return at::sigmoid(reward_a - reward_b);
}

std::pair<at::Tensor, at::Tensor> pack_ranking_inputs(const std::vector<std::vector<std::int64_t>>& prompts,
                                                      const std::vector<std::vector<std::int64_t>>& first,
                                                      const std::vector<std::vector<std::int64_t>>& second,
                                                      const RankingSeparators& separators, std::int64_t pad_id) {
  RSO_CHECK(prompts.size() == first.size() && prompts.size() == second.size(), "one pair per prompt");
  std::vector<std::vector<std::int64_t>> rows;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    std::vector<std::int64_t> row = prompts[i];
    for (const auto* part : {&separators.before_first, &first[i], &separators.before_second, &second[i]})
      row.insert(row.end(), part->begin(), part->end());
    rows.push_back(std::move(row));
  }
  return left_pad(rows, pad_id);
}

at::Tensor ranking_probability(RewardModel& ranker, const std::vector<std::vector<std::int64_t>>& prompts,
                               const std::vector<std::vector<std::int64_t>>& first,
                               const std::vector<std::vector<std::int64_t>>& second,
                               const RankingSeparators& separators, std::int64_t pad_id) {
  const auto [ids, mask] = pack_ranking_inputs(prompts, first, second, separators, pad_id);
  const auto device = ranker->model->embed_tokens->weight.device();
  return at::sigmoid(ranker->forward(ids.to(device), mask.to(device)));
}

at::Tensor reward_from_ranking(RewardModel& ranker, const std::vector<std::vector<std::int64_t>>& prompts,
                               const std::vector<std::vector<std::int64_t>>& responses,
                               const std::vector<std::vector<std::int64_t>>& baselines,
                               const RankingSeparators& separators, std::int64_t pad_id) {
  const auto [ids, mask] = pack_ranking_inputs(prompts, responses, baselines, separators, pad_id);
  const auto device = ranker->model->embed_tokens->weight.device();
  return ranker->forward(ids.to(device), mask.to(device));
}

std::int64_t longest_scorable_prompt(const TransformerOptions& options, bool ranking,
                                     const RankingSeparators& separators, std::int64_t response_tokens) {
  if (!ranking) return options.max_positions() - response_tokens;
  const auto separator_tokens = static_cast<std::int64_t>(separators.before_first.size() + separators.before_second.size());
  return options.max_positions() - 2 * response_tokens - separator_tokens;
}

}  // namespace rso::model
