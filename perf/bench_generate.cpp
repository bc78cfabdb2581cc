// Candidate sampling throughput of model::generate (KV cache, top-k,
// temperature), random weights, no early EOS.
//
//   build/perf/bench_generate [--preset demo|bench] [--prompts P] [--candidates C]
//                             [--prompt-len L] [--new-tokens N] [--threads T]
//                             [--device cpu|cuda] [--dtype float32|bfloat16] [--repeats R]
//                             [--decode dynamic|fixed|graph] [--count-ops 1]
//
// Prints one Markdown row: new tokens per second over the whole call
// (prefill included, the median of R timed calls after one untimed call of
// the same size), as perf/peer_generate.py and perf/peer_gpu.py do for the
// Python peers. With --count-ops 1 it times nothing and prints instead the
// ATen operators one decode step dispatches (see op_count.hpp), by name.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <torch/version.h>

#include "bench_common.hpp"
#include "op_count.hpp"
#include "rso/dist/host_memory.hpp"
#include "rso/model/generate.hpp"

namespace {

// Operators of one decode step: a call of N new tokens minus a call of one
// (prefill and the first draw), over N - 1.
int print_ops_per_step(rso::model::Transformer& model, const std::vector<rso::model::PromptToSample>& batch,
                       std::int64_t candidates, rso::model::SamplingOptions sampling) {
  const std::int64_t steps = sampling.max_new_tokens;
  if (steps < 2) {
    std::fprintf(stderr, "--count-ops needs --new-tokens of at least 2\n");
    return 2;
  }
  rso::model::generate(model, batch, candidates, sampling, 1);  // caches filled, as in a run
  auto count = [&](std::int64_t new_tokens) {
    sampling.max_new_tokens = new_tokens;
    rso::perf::OpCount ops;
    rso::model::generate(model, batch, candidates, sampling, 1);
    return std::make_tuple(ops.top_level(), ops.all(), ops.by_name());
  };
  const auto [top_one, all_one, names_one] = count(1);
  const auto [top_many, all_many, names_many] = count(steps);
  const double per_step = static_cast<double>(steps - 1);
  std::printf("| operator | calls per decode step |\n|---|---|\n");
  for (const auto& [name, calls] : names_many) {
    const auto before = names_one.count(name) ? names_one.at(name) : 0;
    if (calls > before) std::printf("| %s | %.2f |\n", name.c_str(), (calls - before) / per_step);
  }
  std::printf("| **top-level operators** | **%.2f** |\n| all operators (nested, views included) | %.2f |\n",
              (top_many - top_one) / per_step, (all_many - all_one) / per_step);
  return 0;
}

}  // namespace

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
  const std::string decode = flags.text("decode", "dynamic");
  if (decode == "fixed")
    sampling.decode = rso::model::DecodeMode::fixed;
  else if (decode == "graph")
    sampling.decode = rso::model::DecodeMode::graph;
  else if (decode != "dynamic") {
    std::fprintf(stderr, "--decode must be dynamic, fixed or graph, not '%s'\n", decode.c_str());
    return 2;
  }
  if (sampling.decode == rso::model::DecodeMode::graph && !device.is_cuda()) {
    std::fprintf(stderr, "--decode graph needs --device cuda\n");
    return 2;
  }
  if (flags.integer("count-ops", 0) != 0) return print_ops_per_step(model, batch, candidates, sampling);
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
  std::printf("| rso (LibTorch %s%s) | %s | %.1fM | %s %s | %lld x %lld | %lld | %lld | %d | %.3f | %.2f | %.0f |\n",
              TORCH_VERSION, decode == "dynamic" ? "" : (", " + decode + " decode").c_str(), preset.c_str(), parameters / 1e6, device.is_cuda() ? "cuda" : "cpu",
              flags.text("dtype", "float32").c_str(), static_cast<long long>(prompts),
              static_cast<long long>(candidates), static_cast<long long>(prompt_len),
              static_cast<long long>(new_tokens), at::get_num_threads(), seconds,
              1000 * seconds / static_cast<double>(new_tokens), generated / seconds);
  return 0;
}
