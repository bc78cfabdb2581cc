#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "rso/core/random.hpp"

namespace rso {
namespace {

// Known-answer vectors of Random123 (kat_vectors, philox4x32 with 10 rounds).
TEST(Philox, MatchesRandom123KnownAnswers) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

std::vector<std::uint32_t> first_draws(std::uint64_t index, int count) {
  RandomStream stream({42, Stage::reject, index, 3});
  std::vector<std::uint32_t> out;
  for (int i = 0; i < count; ++i) out.push_back(stream.next_u32());
  return out;
}

TEST(RandomStream, DrawsForAnIndexDoNotDependOnHowIndicesAreSplit) {
  const std::uint64_t n = 100;
  std::vector<std::vector<std::uint32_t>> in_order;
  for (std::uint64_t i = 0; i < n; ++i) in_order.push_back(first_draws(i, 7));
  // Three "ranks" with uneven contiguous shards, processed back to front.
  const std::uint64_t bounds[] = {0, 33, 34, 100};
  for (int shard = 2; shard >= 0; --shard)
    for (std::uint64_t i = bounds[shard + 1]; i-- > bounds[shard];) EXPECT_EQ(first_draws(i, 7), in_order[i]) << i;
}

TEST(RandomStream, KeysSeparateStreams) {
  auto word = [](StreamKey key) { return RandomStream(key).next_u64(); };
  const StreamKey base{42, Stage::reject, 5, 0};
  const std::uint64_t reference = word(base);
  EXPECT_EQ(word(base), reference);
  EXPECT_NE(word({43, Stage::reject, 5, 0}), reference);
  EXPECT_NE(word({42, Stage::pair, 5, 0}), reference);
  EXPECT_NE(word({42, Stage::reject, 6, 0}), reference);
  EXPECT_NE(word({42, Stage::reject, 5, 1}), reference);
  EXPECT_NE(word({42, Stage::reject, 5ULL + (1ULL << 32), 0}), reference);  // high index bits count
}

TEST(RandomStream, SeekResumesExactly) {
  RandomStream stream({1, Stage::train, 9, 0});
  for (int i = 0; i < 11; ++i) stream.next_u32();
  const auto saved = stream.position();
  std::vector<double> expected;
  for (int i = 0; i < 6; ++i) expected.push_back(stream.uniform());
  RandomStream restored({1, Stage::train, 9, 0});
  restored.seek(saved);
  for (double value : expected) EXPECT_EQ(restored.uniform(), value);
}

// The streams are deterministic, so these statistical checks cannot flake;
// the bounds are still set at about five standard deviations.
TEST(RandomStream, UniformHasTheRightMoments) {
  RandomStream stream({7, Stage::test, 0, 0});
  const int n = 100000;
  double sum = 0, sum_sq = 0, lo = 1, hi = 0;
  for (int i = 0; i < n; ++i) {
    const double u = stream.uniform();
    sum += u;
    sum_sq += u * u;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 1.0);
  EXPECT_NEAR(sum / n, 0.5, 0.005);
  EXPECT_NEAR(sum_sq / n - (sum / n) * (sum / n), 1.0 / 12, 0.002);
}

TEST(RandomStream, BelowIsUniformOverItsRange) {
  RandomStream stream({7, Stage::test, 1, 0});
  const int n = 70000, k = 7;
  std::vector<int> counts(k, 0);
  for (int i = 0; i < n; ++i) {
    const auto v = stream.below(k);
    ASSERT_LT(v, static_cast<std::uint64_t>(k));
    ++counts[v];
  }
  double chi2 = 0;
  for (int c : counts) chi2 += (c - n / k) * (c - n / k) / double(n / k);
  EXPECT_LT(chi2, 30.0);  // 6 degrees of freedom: P(chi2 > 30) < 1e-4
}

TEST(RandomStream, NormalAndBernoulliHaveTheRightMoments) {
  RandomStream stream({7, Stage::test, 2, 0});
  const int n = 100000;
  double sum = 0, sum_sq = 0;
  int hits = 0;
  for (int i = 0; i < n; ++i) {
    const double z = stream.normal();
    sum += z;
    sum_sq += z * z;
    hits += stream.bernoulli(0.3) ? 1 : 0;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.016);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.025);
  EXPECT_NEAR(hits / double(n), 0.3, 0.0075);
  EXPECT_FALSE(stream.bernoulli(0.0));
  EXPECT_TRUE(stream.bernoulli(1.0));
}

TEST(RandomStream, PermutationIsAPermutationAndVaries) {
  RandomStream stream({7, Stage::pair, 3, 0});
  auto p = stream.permutation(50);
  auto q = stream.permutation(50);
  EXPECT_NE(p, q);
  std::sort(p.begin(), p.end());
  std::vector<std::size_t> identity(50);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(p, identity);
  EXPECT_TRUE(stream.permutation(0).empty());
}

TEST(Fnv1a, MatchesReferenceValues) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

}  // namespace
}  // namespace rso
