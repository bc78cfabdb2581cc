// Preference pairs from the accepted candidates of one prompt.
//
// - first-round: the accepted candidates in random order, paired
//   consecutively: n_d/2 disjoint pairs.
// - tournament: single elimination over the accepted candidates in
//   acceptance order (byes for odd counts); every game is a labelled pair and
//   its winner advances: n_d - 1 pairs.
// A response is never paired with an identical one: first-round pairs it
// with the next different response instead (leaving the unmatched out), a
// tournament game between identical responses advances the first without a
// pair.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "rso/core/config.hpp"
#include "rso/core/random.hpp"

namespace rso::sampling {

struct LabelledPair {
  std::size_t chosen;    // candidate index
  std::size_t rejected;  // candidate index
};

// For each game (a, b): true when a is preferred. Called once for
// first-round and once per tournament level, so model-based labellers batch.
using Labeller = std::function<std::vector<bool>(const std::vector<std::pair<std::size_t, std::size_t>>& games)>;

std::vector<LabelledPair> make_pairs(const std::vector<std::size_t>& accepted, const std::vector<std::string>& responses,
                                     PairStrategy strategy, const Labeller& labeller, RandomStream& stream);

// Labels by reward: the higher reward wins; equal rewards by a fair coin from `stream`.
Labeller label_by_reward(const std::vector<double>& rewards, RandomStream& stream);

// Labels by the Bradley-Terry probability sigma(r_a - r_b): a Bernoulli draw
// from `stream`, or (argmax) the more probable side.
Labeller label_by_bradley_terry(const std::vector<double>& rewards, bool sample, RandomStream& stream);

}  // namespace rso::sampling
