// Preference-training step throughput: the work of one `rso train` step on one
// rank (sequence log-probs of chosen and rejected responses in one forward, the sigmoid-norm
// loss, backward, AdamW on float32 master weights when the model computes in
// bfloat16), random weights and tokens, no padding, reference log-probs given.
//
//   build/perf/bench_train [--preset demo|bench] [--pairs B] [--prompt-len L]
//                          [--response-len R] [--steps S] [--threads T]
//                          [--device cpu|cuda] [--dtype float32|bfloat16]
//
// Prints one Markdown row: ms per step and tokens/s (prompt + response of both
// responses), model TFLOP/s (PaLM's count, src/train/model_flops) and, on a
// GPU, MFU against the bf16 matrix-product rate measured in the same run, as
// perf/peer_train.py and perf/peer_gpu.py do for the Python peers.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <torch/version.h>

#include "bench_common.hpp"
#include "rso/dist/host_memory.hpp"
#include "rso/model/logprob.hpp"
#include "rso/train/losses.hpp"
#include "rso/train/master_weights.hpp"
#include "rso/train/model_flops.hpp"
#include "rso/train/optimizer.hpp"
#include "rso/train/trainer.hpp"

namespace {

std::vector<std::vector<std::int64_t>> random_rows(std::int64_t rows, std::int64_t length, std::int64_t vocab) {
  std::vector<std::vector<std::int64_t>> out;
  for (std::int64_t r = 0; r < rows; ++r) {
    const at::Tensor t = at::randint(vocab, {length}, at::kLong);
    out.emplace_back(t.data_ptr<std::int64_t>(), t.data_ptr<std::int64_t>() + length);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const rso::perf::Flags flags(argc, argv);
  const std::string preset = flags.text("preset", "demo");
  const std::int64_t pairs = flags.integer("pairs", 8), steps = flags.integer("steps", 5);
  const std::int64_t prompt_len = flags.integer("prompt-len", 32), response_len = flags.integer("response-len", 32);
  const c10::Device device = rso::perf::device_named(flags.text("device", "cpu"));
  const std::string dtype_name = flags.text("dtype", "float32");
  const c10::ScalarType dtype = rso::perf::dtype_named(dtype_name);
  if (const auto threads = flags.integer("threads", 0); threads > 0) at::set_num_threads(static_cast<int>(threads));
  rso::keep_freed_host_memory();  // as the rso binary does
  rso::model::TransformerOptions options = rso::perf::preset_options(preset);
  options.max_positions(prompt_len + response_len);
  at::manual_seed(0);
  rso::model::Transformer policy(options);
  policy->to(device, dtype);
  const auto named = rso::train::named_parameters(*policy);
  std::int64_t parameters = 0;
  for (const auto& p : named) parameters += p.tensor.numel();
  rso::train::MasterWeights masters(named);
  auto optimizer = rso::train::make_adamw(masters.masters());
  const double flops_per_step =
      2.0 * static_cast<double>(pairs) *
      rso::train::flop_model(named, options, options.tie_embeddings()).sequence(prompt_len + response_len);

  const auto to_device = [&](rso::model::PromptResponseBatch batch) {
    batch.input_ids = batch.input_ids.to(device);
    batch.attention_mask = batch.attention_mask.to(device);
    batch.response_mask = batch.response_mask.to(device);
    return batch;
  };
  const auto prompts = random_rows(pairs, prompt_len, options.vocab_size());
  // Chosen and rejected in one batch of 2 x pairs rows, as the trainer packs them.
  const auto both_batch = to_device(rso::model::pack_pairs(prompts, random_rows(pairs, response_len, options.vocab_size()),
                                                           random_rows(pairs, response_len, options.vocab_size()), 0));
  const at::Tensor reference = at::zeros({pairs}, at::TensorOptions().dtype(at::kDouble).device(device));
  auto step = [&] {
    masters.zero_gradients();
    rso::train::PairLogprobs logprobs;
    const at::Tensor both = rso::model::sequence_logprob(policy, both_batch).total;
    logprobs.policy_chosen = both.narrow(0, 0, pairs);
    logprobs.policy_rejected = both.narrow(0, pairs, pairs);
    logprobs.reference_chosen = reference;
    logprobs.reference_rejected = reference;
    rso::train::preference_loss(rso::LossKind::sigmoid_norm, logprobs, 0.05).per_pair.mean().backward();
    masters.collect_gradients();
    optimizer->step(1e-5);
    masters.publish();
  };
  step();  // warm-up: kernels loaded, allocator pools filled
  step();
  rso::perf::wait_for(masters.masters().front().tensor);
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t s = 0; s < steps; ++s) step();
  rso::perf::wait_for(masters.masters().front().tensor);
  const double seconds = rso::perf::seconds_since(start) / static_cast<double>(steps);
  const double tokens = static_cast<double>(pairs * 2 * (prompt_len + response_len));
  const double model_flops = flops_per_step / seconds;
  std::string mfu = "-";
  if (device.is_cuda()) {
    const double peak = rso::perf::measured_matmul_flops(device, dtype);
    char text[64];
    std::snprintf(text, sizeof text, "%.1f%% of %.0f", 100.0 * model_flops / peak, peak / 1e12);
    mfu = text;
  }
  std::printf("| rso (LibTorch %s) | %s | %.1fM | %s %s | %lld | %lld + %lld | %d | %.1f | %.0f | %.1f | %s |\n",
              TORCH_VERSION, preset.c_str(), parameters / 1e6, device.is_cuda() ? "cuda" : "cpu", dtype_name.c_str(),
              static_cast<long long>(pairs), static_cast<long long>(prompt_len), static_cast<long long>(response_len),
              at::get_num_threads(), 1000 * seconds, tokens / seconds, model_flops / 1e12, mfu.c_str());
  return 0;
}
