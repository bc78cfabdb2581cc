// Algorithm 1 against the exact target pi*(y) ∝ pi_sft(y) exp(r(y) / beta)
// on a discrete response space, its limits and edge cases, and pairing.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <numeric>
#include <set>

#include "rso/core/random.hpp"
#include "rso/sampling/pairing.hpp"
#include "rso/sampling/rejection_sampling.hpp"
#include "test_helpers.hpp"

namespace rso::sampling {
namespace {

// Five responses; the best one is the least likely under pi_sft.
const std::vector<double> kSftProbability = {0.35, 0.25, 0.20, 0.12, 0.08};
const std::vector<double> kReward = {0.0, 0.4, 0.9, 1.3, 1.6};

std::size_t draw_response(RandomStream& stream) {
  double u = stream.uniform(), cumulative = 0;
  for (std::size_t k = 0; k < kSftProbability.size(); ++k) {
    cumulative += kSftProbability[k];
    if (u < cumulative) return k;
  }
  return kSftProbability.size() - 1;
}

std::vector<double> optimal_policy(double beta) {
  std::vector<double> target(kReward.size());
  double total = 0;
  for (std::size_t k = 0; k < target.size(); ++k) total += target[k] = kSftProbability[k] * std::exp(kReward[k] / beta);
  for (double& p : target) p /= total;
  return target;
}

class FirstAcceptedFollowsOptimalPolicy : public ::testing::TestWithParam<double> {};

TEST_P(FirstAcceptedFollowsOptimalPolicy, WithinTotalVariation) {
  const double beta = GetParam();
  constexpr int kPrompts = 20000;
  constexpr std::size_t kCandidates = 256;  // the best response is missing with probability 0.92^256 < 1e-9
  std::vector<double> histogram(kReward.size(), 0);
  for (int prompt = 0; prompt < kPrompts; ++prompt) {
    RandomStream draws({21, Stage::test, static_cast<std::uint64_t>(prompt), 0});
    std::vector<std::size_t> responses(kCandidates);
    std::vector<double> rewards(kCandidates);
    for (std::size_t i = 0; i < kCandidates; ++i) rewards[i] = kReward[responses[i] = draw_response(draws)];
    RandomStream stream({21, Stage::reject, static_cast<std::uint64_t>(prompt), 0});
    const auto result = rejection_sample(rewards, beta, 1, stream);
    ASSERT_EQ(result.accepted.size(), 1u);
    histogram[responses[result.accepted[0]]] += 1.0 / kPrompts;
  }
  const std::vector<double> target = optimal_policy(beta);
  double total_variation = 0;
  for (std::size_t k = 0; k < target.size(); ++k) total_variation += 0.5 * std::abs(histogram[k] - target[k]);
  // Sampling noise alone: E[TV] ≈ 0.5 Σ sqrt(2 p (1 - p) / (π N)) < 0.007 here.
  std::cout << "beta " << beta << ": total variation " << total_variation << "\n";
  EXPECT_LT(total_variation, 0.02) << "beta " << beta;
}

TEST_P(FirstAcceptedFollowsOptimalPolicy, FirstRoundAcceptanceRateIsTheExpectedRatio) {
  const double beta = GetParam();
  constexpr int kPrompts = 2000;
  constexpr std::size_t kCandidates = 256;
  double accepted = 0, visited = 0;
  for (int prompt = 0; prompt < kPrompts; ++prompt) {
    RandomStream draws({22, Stage::test, static_cast<std::uint64_t>(prompt), 0});
    std::vector<double> rewards(kCandidates);
    for (double& r : rewards) r = kReward[draw_response(draws)];
    RandomStream stream({22, Stage::reject, static_cast<std::uint64_t>(prompt), 0});
    // n_d = n_c: the first round visits every candidate.
    const auto result = rejection_sample(rewards, beta, kCandidates, stream);
    accepted += static_cast<double>(result.accepted_per_round[0]);
    visited += static_cast<double>(result.pool_per_round[0]);
    EXPECT_EQ(result.pool_per_round[0], kCandidates);
  }
  double expected = 0;  // E[exp((r - r_max) / beta)] under pi_sft
  for (std::size_t k = 0; k < kReward.size(); ++k)
    expected += kSftProbability[k] * std::exp((kReward[k] - kReward.back()) / beta);
  // 512000 Bernoulli draws: standard error < 0.0007.
  EXPECT_NEAR(accepted / visited, expected, 0.004) << "beta " << beta;
}

INSTANTIATE_TEST_SUITE_P(Betas, FirstAcceptedFollowsOptimalPolicy, ::testing::Values(0.1, 0.5, 2.0));

TEST(RejectionSampling, AcceptsEachCandidateOnceInRoundsThatAddUp) {
  RandomStream draws({23, Stage::test, 0, 0});
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<double> rewards(1 + draws.below(40));
    for (double& r : rewards) r = draws.normal();
    const std::size_t n_d = 1 + draws.below(50);
    RandomStream stream({23, Stage::reject, static_cast<std::uint64_t>(trial), 0});
    const auto result = rejection_sample(rewards, 0.5, n_d, stream);
    EXPECT_EQ(result.accepted.size(), std::min(n_d, rewards.size()));
    EXPECT_EQ(std::set<std::size_t>(result.accepted.begin(), result.accepted.end()).size(), result.accepted.size());
    EXPECT_GE(result.rounds, 1u);
    EXPECT_EQ(result.accepted_per_round.size(), result.rounds);
    EXPECT_EQ(std::accumulate(result.accepted_per_round.begin(), result.accepted_per_round.end(), std::size_t{0}),
              result.accepted.size());
    for (std::size_t accepted_in_round : result.accepted_per_round) EXPECT_GE(accepted_in_round, 1u);
    EXPECT_EQ(result.took_all, n_d >= rewards.size());
    // Same stream, same result.
    RandomStream again({23, Stage::reject, static_cast<std::uint64_t>(trial), 0});
    EXPECT_EQ(rejection_sample(rewards, 0.5, n_d, again).accepted, result.accepted);
  }
}

TEST(RejectionSampling, SmallBetaTakesTheTopInRewardOrder) {
  const std::vector<double> rewards = {0.3, 2.0, -1.0, 1.5, 0.9, 1.9};
  RandomStream stream({24, Stage::reject, 0, 0});
  const auto result = rejection_sample(rewards, 1e-9, 4, stream);
  EXPECT_EQ(result.accepted, (std::vector<std::size_t>{1, 5, 3, 4}));
  EXPECT_EQ(result.rounds, 4u);  // one maximum per round
  // Ties at the maximum are accepted together.
  RandomStream tied({24, Stage::reject, 1, 0});
  const auto ties = rejection_sample({1.0, 3.0, 3.0, 0.0}, 1e-9, 2, tied);
  EXPECT_EQ(std::set<std::size_t>(ties.accepted.begin(), ties.accepted.end()), (std::set<std::size_t>{1, 2}));
  EXPECT_EQ(ties.rounds, 1u);
}

TEST(RejectionSampling, LargeBetaIsAUniformRandomSubset) {
  const std::vector<double> rewards = {5.0, -3.0, 0.0, 2.0, 1.0, -1.0, 4.0, 3.0};
  constexpr int kTrials = 20000;
  std::vector<double> frequency(rewards.size(), 0);
  for (int trial = 0; trial < kTrials; ++trial) {
    RandomStream stream({25, Stage::reject, static_cast<std::uint64_t>(trial), 0});
    const auto result = rejection_sample(rewards, 1e9, 3, stream);
    EXPECT_EQ(result.rounds, 1u);
    for (std::size_t i : result.accepted) frequency[i] += 1.0 / kTrials;
  }
  // Each candidate in 3/8 of the subsets; standard error 0.0034.
  for (double f : frequency) EXPECT_NEAR(f, 3.0 / 8.0, 0.02);
}

TEST(RejectionSampling, TakesAllWhenTooFewCandidates) {
  RandomStream stream({26, Stage::reject, 0, 0});
  const auto result = rejection_sample({0.5, 0.1, 0.9}, 0.5, 8, stream);
  EXPECT_TRUE(result.took_all);
  EXPECT_EQ(std::set<std::size_t>(result.accepted.begin(), result.accepted.end()), (std::set<std::size_t>{0, 1, 2}));
  RandomStream empty_stream({26, Stage::reject, 1, 0});
  EXPECT_TRUE(rejection_sample({}, 0.5, 2, empty_stream).accepted.empty());
}

TEST(RejectionSampling, BadInputsAreErrors) {
  RandomStream stream({27, Stage::reject, 0, 0});
  testing::error_message([&] { rejection_sample({0.1, NAN}, 0.5, 1, stream); }, ErrorKind::data);
  testing::error_message([&] { rejection_sample({0.1, INFINITY}, 0.5, 1, stream); }, ErrorKind::data);
  testing::error_message([&] { rejection_sample({0.1}, 0.0, 1, stream); }, ErrorKind::config);
  testing::error_message([&] { rejection_sample({0.1}, -1.0, 1, stream); }, ErrorKind::config);
  testing::error_message([&] { rejection_sample({0.1}, NAN, 1, stream); }, ErrorKind::config);
}

TEST(RejectionSampling, DistinctResponsesKeepFirstOccurrences) {
  EXPECT_EQ(distinct_responses({"a", "b", "a", "c", "b"}), (std::vector<std::size_t>{0, 1, 3}));
}

TEST(Pairing, TournamentPlaysNdMinusOneGamesAndTheBestWins) {
  RandomStream draws({28, Stage::test, 0, 0});
  for (std::size_t n_d = 1; n_d <= 9; ++n_d) {
    std::vector<double> rewards(n_d);
    std::vector<std::string> responses(n_d);
    for (std::size_t i = 0; i < n_d; ++i) {
      rewards[i] = draws.normal();
      responses[i] = "response " + std::to_string(i);
    }
    std::vector<std::size_t> accepted(n_d);
    std::iota(accepted.begin(), accepted.end(), 0);
    RandomStream pair_stream({28, Stage::pair, n_d, 0}), label_stream({28, Stage::label, n_d, 0});
    const auto pairs =
        make_pairs(accepted, responses, PairStrategy::tournament, label_by_reward(rewards, label_stream), pair_stream);
    EXPECT_EQ(pairs.size(), n_d - 1);
    for (const auto& pair : pairs) EXPECT_GT(rewards[pair.chosen], rewards[pair.rejected]);
    if (n_d > 1) {
      const std::size_t best = static_cast<std::size_t>(std::max_element(rewards.begin(), rewards.end()) - rewards.begin());
      EXPECT_EQ(pairs.back().chosen, best);  // the final is won by the best response
    }
  }
}

TEST(Pairing, FirstRoundMakesDisjointPairs) {
  for (std::size_t n_d = 1; n_d <= 9; ++n_d) {
    std::vector<double> rewards(n_d);
    std::vector<std::string> responses(n_d);
    std::vector<std::size_t> accepted(n_d);
    for (std::size_t i = 0; i < n_d; ++i) {
      rewards[i] = static_cast<double>((i * 7) % 5);
      responses[i] = "r" + std::to_string(i);
      accepted[i] = n_d - 1 - i;
    }
    RandomStream pair_stream({29, Stage::pair, n_d, 0}), label_stream({29, Stage::label, n_d, 0});
    const auto pairs =
        make_pairs(accepted, responses, PairStrategy::first_round, label_by_reward(rewards, label_stream), pair_stream);
    EXPECT_EQ(pairs.size(), n_d / 2);
    std::set<std::size_t> used;
    for (const auto& pair : pairs) {
      EXPECT_TRUE(used.insert(pair.chosen).second);
      EXPECT_TRUE(used.insert(pair.rejected).second);
      EXPECT_GE(rewards[pair.chosen], rewards[pair.rejected]);
    }
  }
}

TEST(Pairing, IdenticalResponsesAreNeverPaired) {
  const std::vector<std::string> responses = {"same", "same", "other", "same"};
  const std::vector<double> rewards = {1.0, 2.0, 0.0, 3.0};
  const std::vector<std::size_t> accepted = {0, 1, 2, 3};
  for (auto strategy : {PairStrategy::first_round, PairStrategy::tournament}) {
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
      RandomStream pair_stream({30, Stage::pair, seed, 0}), label_stream({30, Stage::label, seed, 0});
      const auto pairs = make_pairs(accepted, responses, strategy, label_by_reward(rewards, label_stream), pair_stream);
      for (const auto& pair : pairs) EXPECT_NE(responses[pair.chosen], responses[pair.rejected]);
      if (strategy == PairStrategy::first_round) EXPECT_EQ(pairs.size(), 1u);  // only one "other" to pair with
    }
  }
  RandomStream pair_stream({30, Stage::pair, 99, 0}), label_stream({30, Stage::label, 99, 0});
  EXPECT_TRUE(make_pairs({0, 1}, {"x", "x"}, PairStrategy::tournament, label_by_reward({1, 2}, label_stream), pair_stream)
                  .empty());
}

TEST(Pairing, BradleyTerryLabelsFollowTheLogistic) {
  const std::vector<double> rewards = {0.8, 0.0};
  RandomStream stream({31, Stage::label, 0, 0});
  const Labeller sampled = label_by_bradley_terry(rewards, true, stream);
  constexpr int kGames = 20000;
  const std::vector<std::pair<std::size_t, std::size_t>> games(kGames, {0, 1});
  const std::vector<bool> wins = sampled(games);
  const double frequency = static_cast<double>(std::count(wins.begin(), wins.end(), true)) / kGames;
  EXPECT_NEAR(frequency, 1.0 / (1.0 + std::exp(-0.8)), 0.015);  // 0.69; standard error 0.0033
  const Labeller argmax = label_by_bradley_terry(rewards, false, stream);
  EXPECT_EQ(argmax({{0, 1}, {1, 0}}), (std::vector<bool>{true, false}));
}

}  // namespace
}  // namespace rso::sampling
