// Data parallelism is gradient accumulation: W ranks with micro-batch b each
// give the same update as one process accumulating W micro-batches of b.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "mpi_test_env.hpp"
#include "rso/core/random.hpp"
#include "rso/train/gradient_sync.hpp"
#include "rso/train/optimizer.hpp"

namespace rso::train {
namespace {

using testing::dist;

// A small two-layer network in float64 and one micro-batch of its data.
struct Net {
  at::Tensor w1, b1, w2;
  Net() {
    at::manual_seed(11);  // identical start on every rank
    w1 = at::randn({6, 4}, at::kDouble).requires_grad_(true);
    b1 = at::randn({6}, at::kDouble).requires_grad_(true);
    w2 = at::randn({1, 6}, at::kDouble).requires_grad_(true);
  }
  std::vector<at::Tensor> parameters() const { return {w1, b1, w2}; }
  at::Tensor loss(int micro_batch) const {
    // Data keyed by the global micro-batch index, never by rank.
    at::Tensor x = at::empty({3, 4}, at::kDouble), y = at::empty({3, 1}, at::kDouble);
    RandomStream stream({5, Stage::test, static_cast<std::uint64_t>(micro_batch), 0});
    for (std::int64_t i = 0; i < 12; ++i) x.view(-1)[i] = stream.normal();
    for (std::int64_t i = 0; i < 3; ++i) y[i][0] = stream.normal();
    const at::Tensor h = at::tanh(at::matmul(x, w1.t()) + b1);
    return (at::matmul(h, w2.t()) - y).pow(2).mean();
  }
};

// zero_in_place: gradients zeroed in place, so backward accumulates into
// the synchroniser's buckets (nothing copied); otherwise reset, so that each
// step's fresh gradients are copied in.
void expect_ranks_are_accumulation_steps(bool zero_in_place) {
  const int world = dist().size();
  // Data parallel: rank r takes micro-batch r; a tiny bucket size forces
  // several buckets.
  Net parallel;
  auto parallel_optimizer = make_adamw({{"w1", parallel.w1}, {"b1", parallel.b1}, {"w2", parallel.w2}});
  GradientSynchronizer sync(dist(), parallel.parameters(), 64);
  EXPECT_GE(sync.bucket_count(), 2u);
  // One process: accumulate the W micro-batches, each loss scaled by 1/W.
  Net serial;
  auto serial_optimizer = make_adamw({{"w1", serial.w1}, {"b1", serial.b1}, {"w2", serial.w2}});
  const void* bucket_memory = parallel.w1.grad().data_ptr();  // the synchroniser set it up
  for (int step = 0; step < 3; ++step) {
    for (auto& p : parallel.parameters()) {
      if (zero_in_place)
        p.mutable_grad().zero_();
      else
        p.mutable_grad() = at::Tensor();
    }
    parallel.loss(step * world + dist().rank()).backward();
    sync.average();
    // Either way the averaged gradients live in the buckets afterwards.
    EXPECT_EQ(parallel.w1.grad().data_ptr(), bucket_memory);
    parallel_optimizer->step(0.01);

    for (auto& p : serial.parameters()) p.mutable_grad() = at::Tensor();
    for (int r = 0; r < world; ++r) (serial.loss(step * world + r) / world).backward();
    serial_optimizer->step(0.01);
  }
  // Summation order differs (a tree over ranks against a running sum): 1e-12.
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_LT((parallel.parameters()[i] - serial.parameters()[i]).abs().max().item<double>(), 1e-12);
  EXPECT_NEAR(gradient_norm(parallel.parameters()), gradient_norm(serial.parameters()), 1e-12);
}

TEST(GradientSync, RanksAreAccumulationStepsWithGradientsInTheBuckets) { expect_ranks_are_accumulation_steps(true); }
TEST(GradientSync, RanksAreAccumulationStepsWithFreshGradients) { expect_ranks_are_accumulation_steps(false); }

}  // namespace
}  // namespace rso::train
