// Reward scoring throughput: the sampling stage's scoring of candidates, a
// pointwise reward model (the policy's architecture with a one-output score
// head, read at the last token) over "prompt + response" sequences of one
// length, in batches, without gradients. Random weights and tokens.
//
//   build/perf/bench_reward [--preset demo|bench] [--sequences N] [--batch B]
//                           [--length L] [--threads T] [--device cpu|cuda]
//                           [--dtype float32|bfloat16] [--repeats R]
//
// Prints one Markdown row: sequences and tokens scored per second (the median
// of R timed passes over all N sequences after one untimed pass), as
// perf/peer_reward.py (CPU) and perf/peer_gpu.py reward (GPU) do for the peers.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <torch/version.h>

#include "bench_common.hpp"
#include "rso/dist/host_memory.hpp"
#include "rso/model/reward.hpp"

int main(int argc, char** argv) {
  const rso::perf::Flags flags(argc, argv);
  const std::string preset = flags.text("preset", "demo");
  const std::int64_t sequences = flags.integer("sequences", 64), batch = flags.integer("batch", 16);
  const std::int64_t length = flags.integer("length", 64), repeats = flags.integer("repeats", 3);
  const c10::Device device = rso::perf::device_named(flags.text("device", "cpu"));
  const std::string dtype_name = flags.text("dtype", "float32");
  const c10::ScalarType dtype = rso::perf::dtype_named(dtype_name);
  if (sequences < 1 || batch < 1 || length < 1) {
    std::fprintf(stderr, "--sequences, --batch and --length must be >= 1\n");
    return 2;
  }
  if (const auto threads = flags.integer("threads", 0); threads > 0) at::set_num_threads(static_cast<int>(threads));
  rso::keep_freed_host_memory();  // as the rso binary does
  rso::model::TransformerOptions options = rso::perf::preset_options(preset);
  options.max_positions(length);
  at::manual_seed(0);
  rso::model::RewardModel reward(options);
  reward->to(device, dtype);
  reward->eval();
  std::int64_t parameters = 0;
  for (const auto& p : reward->parameters()) parameters += p.numel();
  const at::Tensor ids = at::randint(options.vocab_size(), {sequences, length}, at::kLong).to(device);
  const at::Tensor mask = at::ones_like(ids);

  c10::InferenceMode inference;
  at::Tensor scores = at::empty({sequences}, at::TensorOptions().dtype(dtype).device(device));
  auto pass = [&] {
    for (std::int64_t first = 0; first < sequences; first += batch) {
      const std::int64_t rows = std::min(batch, sequences - first);
      scores.narrow(0, first, rows).copy_(reward->forward(ids.narrow(0, first, rows), mask.narrow(0, first, rows)));
    }
    rso::perf::wait_for(scores);
  };
  pass();  // untimed: kernels loaded, allocator pools filled
  std::vector<double> times;
  for (std::int64_t r = 0; r < std::max<std::int64_t>(repeats, 1); ++r) {
    const auto start = std::chrono::steady_clock::now();
    pass();
    times.push_back(rso::perf::seconds_since(start));
  }
  std::sort(times.begin(), times.end());
  const double seconds = times[times.size() / 2];
  std::printf("| rso (LibTorch %s) | %s | %.1fM | %s %s | %lld | %lld | %lld | %d | %.3f | %.0f | %.0f |\n", TORCH_VERSION,
              preset.c_str(), parameters / 1e6, device.is_cuda() ? "cuda" : "cpu", dtype_name.c_str(),
              static_cast<long long>(sequences), static_cast<long long>(length), static_cast<long long>(batch),
              at::get_num_threads(), seconds, static_cast<double>(sequences) / seconds,
              static_cast<double>(sequences * length) / seconds);
  return 0;
}
