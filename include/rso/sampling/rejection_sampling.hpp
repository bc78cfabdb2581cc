// Statistical rejection sampling (RSO, Liu et al. 2024, Algorithm 1).
//
// Candidates y_1..y_n are draws from pi_sft(y|x) with rewards r_i. Each
// round, M is the largest reward among candidates not yet accepted, and each
// of them is accepted with probability exp((r_i - M) / beta); accepted
// candidates leave the pool; rounds repeat until n_d are accepted. The first
// accepted candidate is then (for large n) a draw from the optimal policy
//   pi*(y|x) ∝ pi_sft(y|x) exp(r(x, y) / beta),
// and the acceptance rate of a round is E[exp((r - r_max) / beta)].
//
// Each round visits the remaining candidates in a fresh random order (the
// paper's code uses insertion order). For exchangeable candidates both give
// the same distribution; the random order also keeps "stop at n_d in the
// middle of a round" from favouring low indices, so that beta -> infinity is
// a uniform random subset whatever the input order. beta -> 0 accepts the
// top n_d (ties at the maximum are accepted together).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rso/core/random.hpp"

namespace rso::sampling {

struct RejectionSamplingResult {
  std::vector<std::size_t> accepted;            // candidate indices, in acceptance order
  std::size_t rounds = 0;                       // passes over the pool (>= 1 when n > 0)
  std::vector<std::size_t> accepted_per_round;  // size == rounds
  std::vector<std::size_t> pool_per_round;      // candidates visited each round
  bool took_all = false;                        // n_d >= candidates: every candidate accepted
};

// `rewards` must be finite (callers name the offending prompt; a non-finite
// value here is a DataError) and beta > 0 (ConfigError otherwise).
// `stream` is consumed: one uniform per visited candidate plus one
// permutation per round.
RejectionSamplingResult rejection_sample(const std::vector<double>& rewards, double beta, std::size_t num_samples,
                                         RandomStream& stream);

// Indices of the first occurrence of each distinct response, in order: the
// optional "collapse identical responses" step, applied before sampling.
// By default rso keeps duplicates: identical responses are separate draws
// from pi_sft and carry its probability mass; collapsing them biases the
// result toward responses pi_sft finds improbable.
std::vector<std::size_t> distinct_responses(const std::vector<std::string>& responses);

}  // namespace rso::sampling
