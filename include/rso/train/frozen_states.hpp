// The frozen backbone's states of a reward model's rows, computed once.
//
// With reward.frozen_layers equal to the model's layers, the states the last
// layer hands the final norm are a fixed function of a row's tokens: a step
// needs only the trained norm and head on top of them. Recomputed, the
// forward through every layer was the whole cost of a step, 1.6 epochs of it
// per rank on the demo; kept, each rank runs 1/p of the rows through the
// layers once and the ranks exchange what they computed.
//
// A row's states come from a canonical batch: the pairs [k·kChunk, (k+1)·kChunk)
// of its data set, both responses, left-padded together; chunk k is computed
// by rank k mod p. The values depend neither on the rank count nor on a
// resume, and equal a step's own forward to rounding (padding changes the
// shapes of the products, not what is computed).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "rso/dist/dist_context.hpp"
#include "rso/model/reward.hpp"
#include "rso/train/preference_data.hpp"

namespace rso::train {

// Bytes the states of `pairs` take (each pair's prompt read with each
// response; `element_bytes` per number): what the cache holds on every rank.
std::uint64_t frozen_state_bytes(const std::vector<PreferencePair>& pairs, std::int64_t hidden_size,
                                 std::size_t element_bytes);

class FrozenStateCache {
 public:
  static constexpr std::size_t kChunk = 32;

  explicit FrozenStateCache(model::RewardModel model) : model_(std::move(model)) {}

  // Computes and exchanges the states of every pair of `data`. Collective.
  // `data` is identified by its address: the same vector from then on.
  void fill(const DistContext& context, const std::vector<PreferencePair>& data);
  bool holds(const std::vector<PreferencePair>& data) const { return cache_.count(&data) > 0; }

  // Scores [n chosen rows; n rejected rows] of pairs `examples` of a filled
  // `data` (the rows prompt + chosen, prompt + rejected), as
  // RewardModel::forward gives them on those rows left-padded together.
  at::Tensor score(const std::vector<PreferencePair>& data, const std::vector<std::size_t>& examples);

  std::uint64_t bytes() const { return bytes_; }

 private:
  struct PairStates {
    at::Tensor chosen, rejected;  // [row length, hidden]: the real columns only
  };
  model::RewardModel model_;
  std::map<const std::vector<PreferencePair>*, std::vector<PairStates>> cache_;
  std::uint64_t bytes_ = 0;
};

}  // namespace rso::train
