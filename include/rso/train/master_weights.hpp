// Float32 master weights for training a model that computes in bfloat16.
//
// The optimiser must see float32 weights: a bfloat16 weight has 8 mantissa
// bits, so an update smaller than 1/256 of it rounds away. When the model's
// parameters are narrower than float32, MasterWeights keeps float32 copies
// (the masters), adds the model's gradients into the masters' after every
// micro-batch (so accumulation is float32 too), and after each optimiser step
// publishes the masters back into the model's dtype. When the model is
// float32 already, the masters are its parameters and every call is cheap.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "rso/train/optimizer.hpp"

namespace rso::train {

class MasterWeights {
 public:
  explicit MasterWeights(std::vector<NamedParameter> model_parameters);

  // Whether the masters are copies (the model is narrower than float32).
  bool separate() const { return separate_; }
  // What the optimiser updates, checkpoints store and gradients are synced on.
  const std::vector<NamedParameter>& masters() const { return masters_; }
  std::vector<at::Tensor> master_tensors() const;

  // Start of a step: the masters' gradients zero (in place), none on a
  // separate bf16 model.
  void zero_gradients();
  // After a micro-batch's backward: the model's gradients are added to the
  // masters' and cleared.
  void collect_gradients();
  // After the optimiser step or loading a checkpoint: model weights = masters
  // rounded to the model's dtype.
  void publish();
  // Before saving: the model's parameters become float32 copies of the masters.
  void restore_float32();

 private:
  std::vector<NamedParameter> model_;
  std::vector<NamedParameter> masters_;
  bool separate_ = false;
};

}  // namespace rso::train
