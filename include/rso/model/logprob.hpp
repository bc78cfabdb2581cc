// Sequence log-probabilities log π(y | x) = Σ_t log π(y_t | x, y_<t), batched,
// for reference log-probs (π_sft) and for training.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "rso/model/transformer.hpp"

namespace rso::model {

// prompt + response token ids of several examples, left-padded to one length
// so that every response ends at the last column.
struct PromptResponseBatch {
  at::Tensor input_ids;       // [B, T] int64
  at::Tensor attention_mask;  // [B, T] int64: 1 on real tokens
  at::Tensor response_mask;   // [B, T] int64: 1 on response tokens
};

PromptResponseBatch pack_prompt_response(const std::vector<std::vector<std::int64_t>>& prompts,
                                         const std::vector<std::vector<std::int64_t>>& responses,
                                         std::int64_t pad_id);

// B preference pairs as one batch of 2B rows: the chosen responses (rows
// 0..B-1), then the rejected ones (B..2B-1), each after its prompt, so that
// both sides of every pair go through one forward: half the kernels of two
// forwards, twice the rows per matrix product.
PromptResponseBatch pack_pairs(const std::vector<std::vector<std::int64_t>>& prompts,
                               const std::vector<std::vector<std::int64_t>>& chosen,
                               const std::vector<std::vector<std::int64_t>>& rejected, std::int64_t pad_id);

struct SequenceLogprobs {
  // [B, T]: log π(token t | tokens < t) where response_mask is 1, else 0.
  at::Tensor per_token;
  // [B]: the sum over each row's response tokens.
  at::Tensor total;
};

// Differentiable through the model; computed in float32 (float64 for
// float64 models) whatever the model's dtype. A response token at column 0
// (nothing before it) is an error.
SequenceLogprobs sequence_logprob(Transformer& model, const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                  const at::Tensor& response_mask);
inline SequenceLogprobs sequence_logprob(Transformer& model, const PromptResponseBatch& batch) {
  return sequence_logprob(model, batch.input_ids, batch.attention_mask, batch.response_mask);
}

// KL(p ‖ q) of two policies along each row's response, exactly at every
// step: Σ_t Σ_v p(v | y_<t) (log p(v | y_<t) − log q(v | y_<t)) over the
// response positions t, [B]. On responses drawn from p itself (temperature 1,
// no truncation) its mean is the sequence KL(p ‖ q), with less variance than
// the log-ratio of the drawn tokens and never below 0. No gradients.
at::Tensor sequence_kl(Transformer& p, Transformer& q, const PromptResponseBatch& batch);

}  // namespace rso::model
