#include "rso/sampling/rejection_sampling.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "rso/core/error.hpp"

namespace rso::sampling {

RejectionSamplingResult rejection_sample(const std::vector<double>& rewards, double beta, std::size_t num_samples,
                                         RandomStream& stream) {
  if (!(beta > 0) || !std::isfinite(beta))
    RSO_THROW(ConfigError, "rejection sampling needs a finite beta > 0, got " + std::to_string(beta));
  for (std::size_t i = 0; i < rewards.size(); ++i)
    if (!std::isfinite(rewards[i]))
      RSO_THROW(DataError, "reward " + std::to_string(i) + " is " + std::to_string(rewards[i]) + ", not finite");

  RejectionSamplingResult result;
  result.took_all = num_samples >= rewards.size();
  const std::size_t wanted = std::min(num_samples, rewards.size());
  std::vector<std::size_t> pool(rewards.size());
  for (std::size_t i = 0; i < pool.size(); ++i) pool[i] = i;

  while (result.accepted.size() < wanted) {
    double max_reward = -INFINITY;
    for (std::size_t i : pool) max_reward = std::max(max_reward, rewards[i]);
    const std::vector<std::size_t> order = stream.permutation(pool.size());
    std::vector<bool> taken(pool.size(), false);
    std::size_t accepted_now = 0, visited = 0;
    for (std::size_t k = 0; k < order.size() && result.accepted.size() < wanted; ++k) {
      const std::size_t candidate = pool[order[k]];
      ++visited;
      // u < exp((r - M) / beta); the maximum (exp(0) = 1) is always accepted,
      // so every round accepts at least one candidate and the loop ends.
      const double acceptance = std::exp((rewards[candidate] - max_reward) / beta);
      if (stream.uniform() >= acceptance) continue;
      result.accepted.push_back(candidate);
      taken[order[k]] = true;
      ++accepted_now;
    }
    ++result.rounds;
    result.accepted_per_round.push_back(accepted_now);
    result.pool_per_round.push_back(visited);
    std::vector<std::size_t> remaining;
    remaining.reserve(pool.size() - accepted_now);
    for (std::size_t k = 0; k < pool.size(); ++k)
      if (!taken[k]) remaining.push_back(pool[k]);
    pool = std::move(remaining);
  }
  return result;
}

std::vector<std::size_t> distinct_responses(const std::vector<std::string>& responses) {
  std::unordered_map<std::string, std::size_t> first;
  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < responses.size(); ++i)
    if (first.emplace(responses[i], i).second) kept.push_back(i);
  return kept;
}

}  // namespace rso::sampling
