// Data-parallel gradient averaging in flat buckets of about `bucket_bytes`,
// each averaged over the ranks with one collective (NCCL on GPUs, MPI
// otherwise, as DistContext chose). The parameters' gradients are views into
// the buckets from the start, so backward accumulates into them and nothing
// is copied; zero them in place (`grad.zero_()`), not by resetting them. A
// gradient that was replaced anyway is copied in and out. Every rank must
// hold the same parameters in the same order; a parameter without a gradient
// contributes zeros.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <vector>

#include "rso/dist/dist_context.hpp"

namespace rso::train {

class GradientSynchronizer {
 public:
  GradientSynchronizer(const DistContext& context, std::vector<at::Tensor> parameters,
                       std::size_t bucket_bytes = 25u << 20);

  // Collective. Afterwards every rank holds the mean of the ranks' gradients.
  void average();

  std::size_t bucket_count() const { return buckets_.size(); }

 private:
  const DistContext& context_;
  std::vector<at::Tensor> parameters_;
  std::vector<std::vector<std::size_t>> buckets_;  // parameter indices, grouped by dtype and size
  std::vector<at::Tensor> flats_;                   // one flat buffer per bucket, for the synchroniser's life
  std::vector<at::Tensor> views_;                   // per parameter: its gradient's place in its bucket
};

// The global L2 norm of the gradients (after averaging: the same on every rank).
double gradient_norm(const std::vector<at::Tensor>& parameters);

// Scales gradients so that their global norm is at most `max_norm`; returns
// the norm before clipping. No collective: call after average().
double clip_gradient_norm(const std::vector<at::Tensor>& parameters, double max_norm);

}  // namespace rso::train
