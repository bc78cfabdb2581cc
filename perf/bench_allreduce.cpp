// Allreduce bandwidth of DistContext over message sizes, and the latency of
// the small all-gather the sampling stage does once per round.
//
//   mpirun -np 2 build/perf/bench_allreduce [--min-bytes N] [--max-bytes N] [--iters N]
//
// Prints one row per size: bytes, dtype, mean time, algorithm bandwidth
// (bytes/time) and bus bandwidth (2(p-1)/p x algbw, as nccl-tests report);
// then one row for an all-gather of 21 doubles per rank (the sampling
// stage's per-round statistics), averaged over 200 calls.
#include <ATen/ATen.h>

#include <boost/mpi/collectives.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench_common.hpp"
#include "rso/dist/dist_context.hpp"
#include "rso/dist/guarded_run.hpp"

int main(int argc, char** argv) {
  rso::DistContext context(argc, argv);
  return rso::run_guarded(context, [&] {
    std::int64_t min_bytes = 1 << 10, max_bytes = 64 << 20;
    int iterations = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
      if (!std::strcmp(argv[i], "--min-bytes")) min_bytes = std::atoll(argv[i + 1]);
      else if (!std::strcmp(argv[i], "--max-bytes")) max_bytes = std::atoll(argv[i + 1]);
      else if (!std::strcmp(argv[i], "--iters")) iterations = std::atoi(argv[i + 1]);
    }
    rso::DistConfig config;
    context.configure(config);
    const int p = context.size();
    if (context.is_root())
      std::printf("| ranks | backend | device | bytes | dtype | mean ms | algbw GB/s | busbw GB/s |\n"
                  "|---|---|---|---|---|---|---|---|\n");
    for (std::int64_t bytes = min_bytes; bytes <= max_bytes; bytes *= 4) {
      at::Tensor tensor = at::ones({bytes / 4}, at::TensorOptions().dtype(at::kFloat).device(context.device()));
      context.allreduce_(tensor);  // warm-up
      rso::perf::wait_for(tensor);  // GPU collectives are queued on a stream
      context.barrier();
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < iterations; ++i) context.allreduce_(tensor);
      rso::perf::wait_for(tensor);
      context.barrier();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / iterations;
      const double algbw = static_cast<double>(bytes) / seconds / 1e9;
      if (context.is_root())
        std::printf("| %d | %s | %s | %lld | float32 | %.3f | %.3f | %.3f |\n", p,
                    rso::enum_name(context.backend(), rso::kCollectiveBackendNames),
                    context.device_description().c_str(), static_cast<long long>(bytes), seconds * 1e3, algbw,
                    algbw * 2.0 * (p - 1) / p);
    }
    // The sampling stage's statistics exchange: block, pairs, max reward,
    // stop flag and the tally (9 counters + 8 per-round counts) per rank.
    constexpr int kStatsDoubles = 21, kStatsIterations = 200;
    std::vector<double> mine(kStatsDoubles, 1.0), all(static_cast<std::size_t>(kStatsDoubles * p));
    boost::mpi::all_gather(context.world(), mine.data(), kStatsDoubles, all.data());
    context.barrier();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kStatsIterations; ++i) boost::mpi::all_gather(context.world(), mine.data(), kStatsDoubles, all.data());
    context.barrier();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kStatsIterations;
    if (context.is_root())
      std::printf("\n| ranks | collective | bytes per rank | mean ms |\n|---|---|---|---|\n"
                  "| %d | MPI all_gather (sampling statistics) | %d | %.4f |\n",
                  p, kStatsDoubles * 8, seconds * 1e3);
    return 0;
  });
}
