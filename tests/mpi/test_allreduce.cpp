#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "mpi_test_env.hpp"
#include "rso/core/error.hpp"
#include "rso/core/random.hpp"

namespace rso {
namespace {

using testing::dist;

// The values rank `r` contributes, in float64, before rounding to `type`.
// Integers stay small so that no dtype overflows.
at::Tensor contribution(int r, std::int64_t n, at::ScalarType type) {
  at::Tensor values = at::empty({n}, at::kDouble);
  RandomStream stream({2024, Stage::test, static_cast<std::uint64_t>(r), static_cast<std::uint32_t>(n)});
  auto* v = values.data_ptr<double>();
  for (std::int64_t i = 0; i < n; ++i)
    v[i] = at::isFloatingType(type) ? stream.normal() * 3.0 : static_cast<double>(stream.below(9)) - 4.0;
  if (type == at::kByte) values.abs_();
  return values.to(type);
}

// The single-rank reference: every rank's contribution, combined in float64.
at::Tensor reference(std::int64_t n, at::ScalarType type, ReduceOp op) {
  at::Tensor result;
  for (int r = 0; r < dist().size(); ++r) {
    const at::Tensor mine = contribution(r, n, type).to(at::kDouble);
    if (!result.defined()) result = mine.clone();
    else if (op == ReduceOp::max) result = at::maximum(result, mine);
    else if (op == ReduceOp::min) result = at::minimum(result, mine);
    else result += mine;
  }
  if (op == ReduceOp::average) result /= dist().size();
  return result;
}

struct Tolerance {
  double rtol, atol;
};

Tolerance tolerance_for(at::ScalarType type) {
  switch (type) {
    case at::kDouble: return {1e-12, 1e-12};
    case at::kFloat: return {1e-6, 1e-5};
    case at::kHalf: return {1e-3, 1e-2};      // one float16 rounding of the result
    case at::kBFloat16: return {8e-3, 5e-2};  // one bfloat16 rounding of the result
    default: return {0, 0};                   // integers: exact
  }
}

class AllreduceTest : public ::testing::TestWithParam<std::tuple<at::ScalarType, std::int64_t>> {};

TEST_P(AllreduceTest, EqualsTheSingleRankReference) {
  const auto [type, n] = GetParam();
  std::vector<ReduceOp> ops = {ReduceOp::sum, ReduceOp::max, ReduceOp::min};
  if (at::isFloatingType(type)) ops.push_back(ReduceOp::average);
  for (ReduceOp op : ops) {
    at::Tensor tensor = contribution(dist().rank(), n, type);
    dist().allreduce_(tensor, op);
    ASSERT_EQ(tensor.scalar_type(), type);
    ASSERT_EQ(tensor.numel(), n);
    const at::Tensor expected = reference(n, type, op);
    const Tolerance tol = tolerance_for(type);
    EXPECT_TRUE(at::allclose(tensor.to(at::kDouble), expected, tol.rtol, tol.atol))
        << "dtype " << c10::toString(type) << " n " << n << " op " << static_cast<int>(op)
        << " max diff " << (tensor.to(at::kDouble) - expected).abs().max().item<double>();
  }
}

INSTANTIATE_TEST_SUITE_P(
    DtypesAndSizes, AllreduceTest,
    ::testing::Combine(::testing::Values(at::kFloat, at::kDouble, at::kBFloat16, at::kHalf, at::kInt, at::kLong,
                                         at::kChar, at::kByte),
                       ::testing::Values<std::int64_t>(1, 7, 4099, 1 << 20)));

// Larger than one 16 MiB MPI chunk, and not a multiple of it: every element
// must be reduced exactly once. Integer-valued floats keep the sums exact.
TEST(Allreduce, TensorsSpanningSeveralChunksAreReducedWhole) {
  const std::int64_t n = (5 << 20) + 7;  // 20 MiB of float32
  const int s = dist().size();
  const at::Tensor pattern = at::remainder(at::arange(n, at::kFloat), 1000.0);
  for (auto type : {at::kFloat, at::kDouble}) {
    at::Tensor tensor = (pattern * (dist().rank() + 1)).to(type);
    dist().allreduce_(tensor, ReduceOp::sum);
    EXPECT_TRUE(at::equal(tensor, (pattern * (s * (s + 1) / 2)).to(type))) << c10::toString(type);
  }
}

TEST(Allreduce, NonContiguousTensorsAreReducedInPlace) {
  const at::Tensor full = at::arange(12, at::kFloat).reshape({3, 4}) * (dist().rank() + 1);
  at::Tensor view = full.t();
  dist().allreduce_(view, ReduceOp::sum);
  const int s = dist().size();
  const at::Tensor expected = at::arange(12, at::kFloat).reshape({3, 4}).t() * (s * (s + 1) / 2);
  EXPECT_TRUE(at::equal(full.t(), expected));
}

TEST(Allreduce, AverageOfIntegersIsRefused) {
  at::Tensor ints = at::ones({3}, at::kLong);
  EXPECT_THROW(dist().allreduce_(ints, ReduceOp::average), InternalError);
}

TEST(Allreduce, EmptyTensorIsANoOp) {
  at::Tensor empty = at::empty({0}, at::kFloat);
  EXPECT_NO_THROW(dist().allreduce_(empty, ReduceOp::sum));
}

TEST(DistContext, KnowsItsRanksAndNode) {
  EXPECT_GE(dist().size(), 2);
  EXPECT_GE(dist().rank(), 0);
  EXPECT_LT(dist().rank(), dist().size());
  // The tests run on one node: everyone is node-local.
  EXPECT_EQ(dist().local_size(), dist().size());
  EXPECT_EQ(dist().local_rank(), dist().rank());
  EXPECT_TRUE(dist().device().is_cpu());
  EXPECT_EQ(dist().backend(), CollectiveBackend::mpi);
  EXPECT_EQ(dist().torch_threads(), 1);
  EXPECT_FALSE(dist().host().empty());
}

}  // namespace
}  // namespace rso
