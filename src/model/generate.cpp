#include "rso/model/generate.hpp"

#include <ATen/ATen.h>

#include "rso/core/error.hpp"
#include "rso/core/random.hpp"
#include "rso/model/batching.hpp"

namespace rso::model {

namespace {
// float32 (float64 for float64 models). Sampling in float64 from float32
// logits bought nothing and cost 40% of the decode time of the demo model.
c10::ScalarType sampling_type(const at::Tensor& logits) {
  return logits.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}
}  // namespace

at::Tensor sampling_distribution(const at::Tensor& logits, const SamplingOptions& options) {
  const at::Tensor wide = logits.to(sampling_type(logits));
  const std::int64_t vocab = wide.size(-1);
  if (options.greedy) {
    // argmax returns the first maximal index.
    return at::zeros_like(wide).scatter_(-1, wide.argmax(-1, /*keepdim=*/true), 1.0);
  }
  RSO_CHECK(options.temperature > 0, "temperature must be > 0");
  at::Tensor probabilities = at::softmax(wide / options.temperature, -1);
  if (options.top_k > 0 && options.top_k < vocab) {
    const at::Tensor kth = std::get<0>(probabilities.topk(options.top_k, -1)).narrow(-1, options.top_k - 1, 1);
    probabilities = probabilities.masked_fill(probabilities < kth, 0.0);
    probabilities = probabilities / probabilities.sum(-1, true);
  }
  if (options.top_p < 1.0) {
    const auto sorted = at::sort(probabilities, /*stable=*/true, /*dim=*/-1, /*descending=*/true);
    const at::Tensor& values = std::get<0>(sorted);
    const at::Tensor mass_before = values.cumsum(-1) - values;
    // Keep a token while the mass of the more likely ones is below top_p:
    // the first token is always kept.
    const at::Tensor keep_sorted = mass_before < options.top_p;
    const at::Tensor keep = at::zeros_like(keep_sorted).scatter_(-1, std::get<1>(sorted), keep_sorted);
    probabilities = probabilities.masked_fill(keep.logical_not(), 0.0);
    probabilities = probabilities / probabilities.sum(-1, true);
  }
  return probabilities;
}

at::Tensor sample_from(const at::Tensor& probabilities, const at::Tensor& uniforms) {
  const at::Tensor cdf = probabilities.cumsum(-1);
  const at::Tensor total = cdf.narrow(-1, cdf.size(-1) - 1, 1);
  // (1 - u) lies in (0, 1]: the target is above zero and at most the total.
  const at::Tensor target = (1.0 - uniforms.to(cdf.scalar_type()).unsqueeze(-1)) * total;
  return (cdf < target).sum(-1).clamp_max(cdf.size(-1) - 1);
}

std::vector<std::vector<Sample>> generate(Transformer& model, const std::vector<PromptToSample>& prompts,
                                          std::int64_t num_samples, const SamplingOptions& options,
                                          std::uint64_t seed) {
  RSO_CHECK(num_samples >= 1 && options.max_new_tokens >= 1, "at least one sample of at least one token");
  std::vector<std::vector<Sample>> result(prompts.size(), std::vector<Sample>(static_cast<std::size_t>(num_samples)));
  if (prompts.empty()) return result;
  at::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();

  // Left-pad the prompts into one batch.
  const auto device = model->model->embed_tokens->weight.device();
  std::vector<std::vector<std::int64_t>> prompt_tokens;
  for (const auto& prompt : prompts) {
    if (prompt.tokens.empty()) RSO_THROW(DataError, "prompt " + std::to_string(prompt.index) + " has no tokens");
    prompt_tokens.push_back(prompt.tokens);
  }
  auto [ids, mask] = left_pad(prompt_tokens, options.pad_id);
  const auto batch = ids.size(0);
  const auto prompt_length = ids.size(1);
  ids = ids.to(device);
  mask = mask.to(device);

  // Prefill once per prompt, then one cache row per candidate.
  const auto weight_options = model->model->embed_tokens->weight.options();
  KvCache cache = KvCache::allocate(model->options(), batch, prompt_length + options.max_new_tokens, weight_options);
  at::Tensor logits = model->forward(ids, mask, &cache).select(1, prompt_length - 1);
  cache.repeat_rows(num_samples);
  mask = mask.repeat_interleave(num_samples, 0);
  logits = logits.repeat_interleave(num_samples, 0);

  const std::int64_t rows = batch * num_samples;
  std::vector<RandomStream> streams;
  streams.reserve(static_cast<std::size_t>(rows));
  for (const auto& prompt : prompts)
    for (std::int64_t c = 0; c < num_samples; ++c)
      streams.emplace_back(StreamKey{seed, Stage::generate, prompt.index, static_cast<std::uint32_t>(c)});
  std::vector<bool> finished(static_cast<std::size_t>(rows), false);

  for (std::int64_t step = 0; step < options.max_new_tokens; ++step) {
    const at::Tensor distribution = sampling_distribution(logits, options);
    at::Tensor uniforms = at::zeros({rows}, at::kDouble);
    auto* u = uniforms.data_ptr<double>();
    for (std::int64_t r = 0; r < rows; ++r)
      if (!finished[static_cast<std::size_t>(r)]) u[r] = streams[static_cast<std::size_t>(r)].uniform();
    const at::Tensor tokens = sample_from(distribution, uniforms.to(distribution.device()));
    const at::Tensor picked = tokens.unsqueeze(-1);
    const at::Tensor sampling_logprob = distribution.gather(-1, picked).squeeze(-1).log().to(at::kCPU, at::kDouble);
    const at::Tensor policy_logprob =
        at::log_softmax(logits.to(distribution.scalar_type()), -1).gather(-1, picked).squeeze(-1).to(at::kCPU, at::kDouble);
    const at::Tensor host_tokens = tokens.to(at::kCPU);
    const auto* token = host_tokens.data_ptr<std::int64_t>();
    const auto* q = sampling_logprob.data_ptr<double>();
    const auto* pi = policy_logprob.data_ptr<double>();

    at::Tensor step_mask = at::zeros({rows, 1}, at::kLong);
    at::Tensor next = at::full({rows, 1}, options.pad_id, at::kLong);
    auto step_mask_at = step_mask.accessor<std::int64_t, 2>();
    auto next_at = next.accessor<std::int64_t, 2>();
    bool any_active = false;
    for (std::int64_t r = 0; r < rows; ++r) {
      if (finished[static_cast<std::size_t>(r)]) continue;
      Sample& sample = result[static_cast<std::size_t>(r / num_samples)][static_cast<std::size_t>(r % num_samples)];
      sample.tokens.push_back(token[r]);
      sample.sampling_logprobs.push_back(q[r]);
      sample.policy_logprobs.push_back(pi[r]);
      next_at[r][0] = token[r];
      step_mask_at[r][0] = 1;
      if (token[r] == options.eos_id) {
        sample.ended_with_eos = true;
        finished[static_cast<std::size_t>(r)] = true;
      } else {
        any_active = true;
      }
    }
    if (!any_active || step + 1 == options.max_new_tokens) break;
    mask = at::cat({mask, step_mask.to(device)}, 1);
    logits = model->forward(next.to(device), mask, &cache).select(1, 0);
  }
  if (was_training) model->train();
  return result;
}

}  // namespace rso::model
