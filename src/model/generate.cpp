#include "rso/model/generate.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <memory>

#include "rso/core/error.hpp"
#include "rso/core/random.hpp"
#include "rso/model/batching.hpp"
#include "rso/model/cuda_graph.hpp"

namespace rso::model {

namespace {
// float32 (float64 for float64 models). Sampling in float64 from float32
// logits bought nothing and cost 40% of the decode time of the demo model.
c10::ScalarType sampling_type(const at::Tensor& logits) {
  return logits.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// What the decode loop keeps per step and row, on the device: [steps, rows].
struct DecodeRecords {
  at::Tensor tokens, was_active, sampling_logprobs, policy_logprobs;
};

struct Drawn {
  at::Tensor token;   // int64 [rows]: the draw, or the pad id for rows that had finished
  at::Tensor active;  // bool [rows]: the row had not finished before this draw
};

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

namespace {

// Draws one token per row from `logits` [rows, V] with `uniforms` [rows],
// hands each per-row record to store(table, row), and marks the rows that
// drew the end of sequence as finished.
template <class Store>
Drawn draw_and_record(const at::Tensor& logits, const at::Tensor& uniforms, at::Tensor& finished,
                      const SamplingOptions& options, const DecodeRecords& records, const Store& store) {
  const at::Tensor distribution = sampling_distribution(logits, options);
  const at::Tensor drawn = sample_from(distribution, uniforms);
  const at::Tensor picked = drawn.unsqueeze(-1);
  Drawn result{drawn.masked_fill(finished, options.pad_id), finished.logical_not()};
  store(records.tokens, result.token);
  store(records.was_active, result.active);
  store(records.sampling_logprobs, distribution.gather(-1, picked).squeeze(-1).log());
  // log π(token) = logit - logsumexp(logits), untempered and unfiltered.
  const at::Tensor wide = logits.to(distribution.scalar_type());
  store(records.policy_logprobs, wide.gather(-1, picked).squeeze(-1) - at::logsumexp(wide, -1));
  if (options.eos_id >= 0) finished.logical_or_(result.token.eq(options.eos_id));
  return result;
}

}  // namespace

std::vector<std::vector<Sample>> generate(Transformer& model, const std::vector<PromptToSample>& prompts,
                                          std::int64_t num_samples, const SamplingOptions& options,
                                          std::uint64_t seed) {
  RSO_CHECK(num_samples >= 1 && options.max_new_tokens >= 1, "at least one sample of at least one token");
  std::vector<std::vector<Sample>> result(prompts.size(), std::vector<Sample>(static_cast<std::size_t>(num_samples)));
  if (prompts.empty()) return result;
  // Inference mode: no autograd bookkeeping at all (version counters, view
  // tracking), which a decode step of small kernels pays for on the host.
  c10::InferenceMode inference;
  const bool was_training = model->is_training();
  model->eval();
  const FusedProjections fused(*model);

  // Left-pad the prompts into one batch.
  const auto device = model->model->embed_tokens->weight.device();
  std::vector<std::vector<std::int64_t>> prompt_tokens;
  for (const auto& prompt : prompts) {
    if (prompt.tokens.empty()) RSO_THROW(DataError, "prompt " + std::to_string(prompt.index) + " has no tokens");
    prompt_tokens.push_back(prompt.tokens);
  }
  auto [ids, prompt_mask] = left_pad(prompt_tokens, options.pad_id);
  const auto batch = ids.size(0);
  const auto prompt_length = ids.size(1);
  const std::int64_t steps = options.max_new_tokens;
  const std::int64_t rows = batch * num_samples;
  // The last draw needs no forward: the longest sequence the model reads is
  // prompt + steps - 1 tokens. Refused before any work is done.
  if (prompt_length + steps - 1 > model->options().max_positions())
    RSO_THROW(DataError, "a prompt of " + std::to_string(prompt_length) + " tokens and " + std::to_string(steps) +
                             " new tokens exceed max_positions " + std::to_string(model->options().max_positions()));
  ids = ids.to(device);
  prompt_mask = prompt_mask.to(device);

  // Every uniform the loop can use, drawn up front. A row takes draw s of its
  // stream at step s for as long as it is unfinished and none after, so the
  // table is known before decoding starts and the loop never waits on the
  // host for randomness. [steps, rows]: each step reads one contiguous row.
  at::Tensor uniforms = at::empty({steps, rows}, at::kDouble);
  {
    auto* u = uniforms.data_ptr<double>();
    std::int64_t r = 0;
    for (const auto& prompt : prompts)
      for (std::int64_t c = 0; c < num_samples; ++c, ++r) {
        RandomStream stream(StreamKey{seed, Stage::generate, prompt.index, static_cast<std::uint32_t>(c)});
        for (std::int64_t s = 0; s < steps; ++s) u[s * rows + r] = stream.uniform();
      }
  }
  uniforms = uniforms.to(device);

  // Prefill once per prompt, then one cache row per candidate.
  const auto weight_options = model->model->embed_tokens->weight.options();
  KvCache cache = KvCache::allocate(model->options(), batch, prompt_length + steps, weight_options);
  at::Tensor logits = model->forward(ids, prompt_mask, &cache).select(1, prompt_length - 1);
  cache.repeat_rows(num_samples);
  logits = logits.repeat_interleave(num_samples, 0);
  const at::Tensor row_prompt_mask = prompt_mask.repeat_interleave(num_samples, 0);

  // Results stay on the device until the loop ends: [steps, rows].
  const auto long_options = at::TensorOptions().dtype(at::kLong).device(device);
  DecodeRecords records{at::empty({steps, rows}, long_options), at::empty({steps, rows}, long_options.dtype(at::kBool)),
                        at::empty({steps, rows}, long_options.dtype(sampling_type(logits))), at::Tensor()};
  records.policy_logprobs = at::empty_like(records.sampling_logprobs);
  at::Tensor finished = at::zeros({rows}, long_options.dtype(at::kBool));
  // Whether every row has ended is asked of the device only every few steps
  // (each question is a synchronisation); steps run past the last EOS are
  // discarded below, so the answer's timing never changes the result.
  const std::int64_t finish_check_every = device.is_cpu() ? 1 : 16;
  auto all_finished_after = [&](std::int64_t step) {
    return options.eos_id >= 0 && (step + 1) % finish_check_every == 0 && finished.all().item<bool>();
  };

  std::int64_t steps_run = 0;
  if (options.decode == DecodeMode::dynamic) {
    // The attention mask of the whole generation, filled one column per
    // step: a view of it is passed each step instead of a concatenation.
    at::Tensor mask = at::zeros({rows, prompt_length + steps}, prompt_mask.options());
    mask.narrow(1, 0, prompt_length).copy_(row_prompt_mask);
    for (std::int64_t step = 0; step < steps; ++step) {
      const auto store = [step](const at::Tensor& table, const at::Tensor& row) { table.select(0, step).copy_(row); };
      const Drawn drawn = draw_and_record(logits, uniforms.select(0, step), finished, options, records, store);
      steps_run = step + 1;
      if (step + 1 == steps || all_finished_after(step)) break;
      mask.select(1, prompt_length + step).copy_(drawn.active);
      logits = model->forward(drawn.token.unsqueeze(1), mask.narrow(1, 0, prompt_length + step + 1), &cache)
                   .select(1, 0);
    }
  } else {
    // Every input of a step lives in a device tensor that the step itself
    // advances, so that all steps are one and the same sequence of kernels.
    const std::int64_t capacity = prompt_length + steps;
    const at::Tensor step_index = at::zeros({1}, long_options);
    cache.column = at::full({1}, prompt_length, long_options);
    // A new token's rotary position: the row's real prompt tokens plus the
    // tokens drawn before it (rows that have finished read no further).
    const at::Tensor positions = row_prompt_mask.to(at::kLong).sum(1, /*keepdim=*/true) + step_index;
    const at::Tensor allowed = at::zeros({rows, 1, 1, capacity}, long_options.dtype(at::kBool));
    allowed.narrow(3, 0, prompt_length).copy_(row_prompt_mask.to(at::kBool).view({rows, 1, 1, prompt_length}));
    const at::Tensor next_logits = logits.contiguous();
    const auto store = [&step_index](const at::Tensor& table, const at::Tensor& row) {
      table.index_copy_(0, step_index, row.unsqueeze(0));
    };
    auto draw = [&] {
      return draw_and_record(next_logits, uniforms.index_select(0, step_index).squeeze(0), finished, options,
                             records, store);
    };
    auto step_then_forward = [&] {
      const Drawn drawn = draw();
      // The new token sees itself; later tokens see it if it is real.
      allowed.index_fill_(3, cache.column, true);
      next_logits.copy_(
          model->read_out(model->model->decode_fixed(drawn.token.unsqueeze(1), positions, allowed, cache)).select(1, 0));
      allowed.index_copy_(3, cache.column, drawn.active.view({rows, 1, 1, 1}));
      cache.column.add_(1);
      positions.add_(1);
      step_index.add_(1);
    };
    std::unique_ptr<GraphedStep> graphed;
    if (options.decode == DecodeMode::graph) graphed = std::make_unique<GraphedStep>(device, step_then_forward);
    bool every_row_ended = false;
    for (std::int64_t step = 0; step + 1 < steps && !every_row_ended; ++step) {
      if (graphed)
        graphed->run();
      else
        step_then_forward();
      steps_run = step + 1;
      every_row_ended = all_finished_after(step);
    }
    if (!every_row_ended) {  // the last token needs no forward after it
      draw();
      steps_run = steps;
    }
  }

  const at::Tensor host_tokens = records.tokens.narrow(0, 0, steps_run).to(at::kCPU).contiguous();
  const at::Tensor host_active = records.was_active.narrow(0, 0, steps_run).to(at::kCPU).contiguous();
  const at::Tensor host_q = records.sampling_logprobs.narrow(0, 0, steps_run).to(at::kCPU, at::kDouble).contiguous();
  const at::Tensor host_pi = records.policy_logprobs.narrow(0, 0, steps_run).to(at::kCPU, at::kDouble).contiguous();
  const auto* token = host_tokens.data_ptr<std::int64_t>();
  const auto* active = host_active.data_ptr<bool>();
  const auto* q = host_q.data_ptr<double>();
  const auto* pi = host_pi.data_ptr<double>();
  for (std::int64_t r = 0; r < rows; ++r) {
    Sample& sample = result[static_cast<std::size_t>(r / num_samples)][static_cast<std::size_t>(r % num_samples)];
    for (std::int64_t s = 0; s < steps_run && active[s * rows + r]; ++s) {
      sample.tokens.push_back(token[s * rows + r]);
      sample.sampling_logprobs.push_back(q[s * rows + r]);
      sample.policy_logprobs.push_back(pi[s * rows + r]);
      if (token[s * rows + r] == options.eos_id) {
        sample.ended_with_eos = true;
        break;
      }
    }
  }
  if (was_training) model->train();
  return result;
}

}  // namespace rso::model
