// Candidate sampling throughput of model::generate (KV cache, top-k,
// temperature), random weights, no early EOS.
//
//   build/perf/bench_generate [--preset demo|bench] [--prompts P] [--candidates C]
//                             [--prompt-len L] [--new-tokens N] [--threads T]
//                             [--device cpu|cuda] [--dtype float32|bfloat16] [--repeats R]
//
// Prints one Markdown row: new tokens per second over the whole call
// (prefill included, the median of R timed calls after one untimed call of
// the same size), as perf/peer_generate.py and perf/peer_gpu.py do for the
// Python peers.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <torch/version.h>

#include "bench_common.hpp"
#include "rso/dist/host_memory.hpp"
#include "rso/model/generate.hpp"

int main(int argc, char** argv) {
  const rso::perf::Flags flags(argc, argv);
  const std::string preset = flags.text("preset", "demo");
  const std::int64_t prompts = flags.integer("prompts", 4), candidates = flags.integer("candidates", 16);
  const std::int64_t prompt_len = flags.integer("prompt-len", 32), new_tokens = flags.integer("new-tokens", 32);
  const std::int64_t repeats = flags.integer("repeats", 1);
  const c10::Device device = rso::perf::device_named(flags.text("device", "cpu"));
  const c10::ScalarType dtype = rso::perf::dtype_named(flags.text("dtype", "float32"));
  if (const auto threads = flags.integer("threads", 0); threads > 0) at::set_num_threads(static_cast<int>(threads));
  rso::keep_freed_host_memory();  // as the rso binary does
  rso::model::TransformerOptions options = rso::perf::preset_options(preset);
  options.max_positions(prompt_len + new_tokens);
  at::manual_seed(0);
  rso::model::Transformer model(options);
  model->to(device, dtype);
  std::int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();

  std::vector<rso::model::PromptToSample> batch;
  for (std::int64_t p = 0; p < prompts; ++p) {
    const at::Tensor tokens = at::randint(options.vocab_size(), {prompt_len}, at::kLong);
    batch.push_back({std::vector<std::int64_t>(tokens.data_ptr<std::int64_t>(),
                                               tokens.data_ptr<std::int64_t>() + prompt_len),
                     static_cast<std::uint64_t>(p)});
  }
  rso::model::SamplingOptions sampling;
  sampling.temperature = 0.7;
  sampling.top_k = 40;
  sampling.max_new_tokens = new_tokens;
  // Untimed call of the full size: kernels loaded, allocator pools filled.
  rso::model::generate(model, device.is_cuda() ? batch : std::vector{batch.front()}, device.is_cuda() ? candidates : 1,
                       sampling, 1);
  std::vector<double> times;
  std::int64_t generated = 0;
  for (std::int64_t r = 0; r < std::max<std::int64_t>(repeats, 1); ++r) {
    const auto start = std::chrono::steady_clock::now();
    const auto samples = rso::model::generate(model, batch, candidates, sampling, 7 + static_cast<std::uint64_t>(r));
    times.push_back(rso::perf::seconds_since(start));  // generate returns host vectors: the device is done
    generated = 0;
    for (const auto& per_prompt : samples)
      for (const auto& sample : per_prompt) generated += static_cast<std::int64_t>(sample.tokens.size());
  }
  std::sort(times.begin(), times.end());
  const double seconds = times[times.size() / 2];
  std::printf("| rso (LibTorch %s) | %s | %.1fM | %s %s | %lld x %lld | %lld | %lld | %d | %.3f | %.2f | %.0f |\n",
              TORCH_VERSION, preset.c_str(), parameters / 1e6, device.is_cuda() ? "cuda" : "cpu",
              flags.text("dtype", "float32").c_str(), static_cast<long long>(prompts),
              static_cast<long long>(candidates), static_cast<long long>(prompt_len),
              static_cast<long long>(new_tokens), at::get_num_threads(), seconds,
              1000 * seconds / static_cast<double>(new_tokens), generated / seconds);
  return 0;
}
