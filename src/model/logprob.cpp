#include "rso/model/logprob.hpp"

#include <ATen/ATen.h>

#include "rso/core/error.hpp"
#include "rso/model/batching.hpp"

namespace rso::model {

PromptResponseBatch pack_prompt_response(const std::vector<std::vector<std::int64_t>>& prompts,
                                         const std::vector<std::vector<std::int64_t>>& responses,
                                         std::int64_t pad_id) {
  RSO_CHECK(prompts.size() == responses.size(), "as many prompts as responses");
  std::vector<std::vector<std::int64_t>> rows;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    rows.push_back(prompts[i]);
    rows.back().insert(rows.back().end(), responses[i].begin(), responses[i].end());
  }
  PromptResponseBatch out;
  std::tie(out.input_ids, out.attention_mask) = left_pad(rows, pad_id);
  // Left padding puts every response in the last columns of its row.
  out.response_mask = at::zeros_like(out.input_ids);
  const std::int64_t length = out.input_ids.size(1);
  for (std::size_t i = 0; i < responses.size(); ++i) {
    const auto n = static_cast<std::int64_t>(responses[i].size());
    out.response_mask[static_cast<std::int64_t>(i)].narrow(0, length - n, n).fill_(1);
  }
  return out;
}

PromptResponseBatch pack_pairs(const std::vector<std::vector<std::int64_t>>& prompts,
                               const std::vector<std::vector<std::int64_t>>& chosen,
                               const std::vector<std::vector<std::int64_t>>& rejected, std::int64_t pad_id) {
  RSO_CHECK(prompts.size() == chosen.size() && prompts.size() == rejected.size(),
            "as many prompts as chosen and rejected responses");
  std::vector<std::vector<std::int64_t>> both_prompts = prompts, responses = chosen;
  both_prompts.insert(both_prompts.end(), prompts.begin(), prompts.end());
  responses.insert(responses.end(), rejected.begin(), rejected.end());
  return pack_prompt_response(both_prompts, responses, pad_id);
}

SequenceLogprobs sequence_logprob(Transformer& model, const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                  const at::Tensor& response_mask) {
  RSO_CHECK(input_ids.sizes() == response_mask.sizes(), "response_mask must match input_ids");
  if (response_mask.size(1) > 0 && response_mask.select(1, 0).ne(0).any().item<bool>())
    RSO_THROW(DataError, "a response token at the first position has no context to be predicted from");
  // Only the columns that predict a response token need logits: with left
  // padding they are the last R - 1 .. T - 2, R the longest response. The
  // vocabulary projection and its log-softmax, often the largest matrix
  // product of a small model, then cost R / T of a full forward's.
  const std::int64_t length = input_ids.size(1);
  const at::Tensor columns_with_response = response_mask.ne(0).any(0);
  const std::int64_t first = columns_with_response.any().item<bool>()
                                 ? columns_with_response.to(at::kLong).argmax().item<std::int64_t>()
                                 : length;
  const std::int64_t span = length - first;  // columns first .. T-1 hold every response token
  const at::Tensor hidden = model->model->forward(input_ids, attention_mask);
  // first >= 1 when span > 0 (checked above).
  const at::Tensor logits = model->read_out(hidden.narrow(1, span > 0 ? first - 1 : first, span).contiguous());
  const auto wide = logits.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  // log softmax at the target only: logit[target] - logsumexp(logits), which
  // never materialises a second [B, span, V] tensor.
  const at::Tensor predicting = logits.to(wide);  // column first - 1 + j predicts column first + j
  const at::Tensor targets = input_ids.narrow(1, first, span);
  const at::Tensor picked = predicting.gather(-1, targets.unsqueeze(-1)).squeeze(-1);
  const at::Tensor shifted = picked - at::logsumexp(predicting, -1);
  const at::Tensor mask = response_mask.narrow(1, first, span).to(wide);
  SequenceLogprobs out;
  out.per_token = at::cat({at::zeros({input_ids.size(0), first}, shifted.options()), shifted * mask}, 1);
  out.total = out.per_token.sum(1);
  return out;
}

at::Tensor sequence_kl(Transformer& p, Transformer& q, const PromptResponseBatch& batch) {
  RSO_CHECK(batch.input_ids.sizes() == batch.response_mask.sizes(), "response_mask must match input_ids");
  const std::int64_t length = batch.input_ids.size(1);
  const at::Tensor columns_with_response = batch.response_mask.ne(0).any(0);
  if (!columns_with_response.any().item<bool>()) return at::zeros({batch.input_ids.size(0)}, at::kDouble);
  const std::int64_t first = columns_with_response.to(at::kLong).argmax().item<std::int64_t>();
  if (first == 0) RSO_THROW(DataError, "a response token at the first position has no context to be predicted from");
  const std::int64_t span = length - first;
  auto log_probs = [&](Transformer& model) {
    const at::Tensor hidden = model->model->forward(batch.input_ids, batch.attention_mask);
    const at::Tensor logits = model->read_out(hidden.narrow(1, first - 1, span).contiguous());
    return at::log_softmax(logits.to(logits.scalar_type() == at::kDouble ? at::kDouble : at::kFloat), -1);
  };
  const at::Tensor log_p = log_probs(p), log_q = log_probs(q).to(log_p.scalar_type());
  const at::Tensor per_step = (log_p.exp() * (log_p - log_q)).sum(-1);  // [B, span]
  const at::Tensor mask = batch.response_mask.narrow(1, first, span).to(per_step.scalar_type());
  return (per_step * mask).sum(1).clamp_min(0);  // rounding can leave -1e-9 for equal policies
}

}  // namespace rso::model
