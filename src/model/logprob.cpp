#include "rso/model/logprob.hpp"

#include <ATen/ATen.h>

#include "rso/core/error.hpp"

namespace rso::model {

PromptResponseBatch pack_prompt_response(const std::vector<std::vector<std::int64_t>>& prompts,
                                         const std::vector<std::vector<std::int64_t>>& responses,
                                         std::int64_t pad_id) {
  RSO_CHECK(prompts.size() == responses.size(), "as many prompts as responses");
  const auto batch = static_cast<std::int64_t>(prompts.size());
  std::int64_t length = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i)
    length = std::max<std::int64_t>(length, static_cast<std::int64_t>(prompts[i].size() + responses[i].size()));
  PromptResponseBatch out;
  out.input_ids = at::full({batch, length}, pad_id, at::kLong);
  out.attention_mask = at::zeros({batch, length}, at::kLong);
  out.response_mask = at::zeros({batch, length}, at::kLong);
  auto ids = out.input_ids.accessor<std::int64_t, 2>();
  auto attention = out.attention_mask.accessor<std::int64_t, 2>();
  auto response = out.response_mask.accessor<std::int64_t, 2>();
  for (std::int64_t b = 0; b < batch; ++b) {
    const auto& prompt = prompts[static_cast<std::size_t>(b)];
    const auto& answer = responses[static_cast<std::size_t>(b)];
    std::int64_t column = length - static_cast<std::int64_t>(prompt.size() + answer.size());
    for (std::int64_t token : prompt) ids[b][column] = token, attention[b][column++] = 1;
    for (std::int64_t token : answer) ids[b][column] = token, attention[b][column] = 1, response[b][column++] = 1;
  }
  return out;
}

SequenceLogprobs sequence_logprob(Transformer& model, const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                  const at::Tensor& response_mask) {
  RSO_CHECK(input_ids.sizes() == response_mask.sizes(), "response_mask must match input_ids");
  if (response_mask.size(1) > 0 && response_mask.select(1, 0).ne(0).any().item<bool>())
    RSO_THROW(DataError, "a response token at the first position has no context to be predicted from");
  const at::Tensor logits = model->forward(input_ids, attention_mask);
  const auto wide = logits.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  // log softmax at the target only: logit[target] - logsumexp(logits), which
  // never materialises a second [B, T, V] tensor.
  const at::Tensor predicting = logits.narrow(1, 0, logits.size(1) - 1).to(wide);  // predicts column t+1
  const at::Tensor targets = input_ids.narrow(1, 1, input_ids.size(1) - 1);
  const at::Tensor picked = predicting.gather(-1, targets.unsqueeze(-1)).squeeze(-1);
  const at::Tensor shifted = picked - at::logsumexp(predicting, -1);
  const at::Tensor mask = response_mask.narrow(1, 1, response_mask.size(1) - 1).to(wide);
  SequenceLogprobs out;
  out.per_token = at::cat({at::zeros({input_ids.size(0), 1}, shifted.options()), shifted * mask}, 1);
  out.total = out.per_token.sum(1);
  return out;
}

}  // namespace rso::model
