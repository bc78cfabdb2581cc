// Data-parallel gradient averaging: gradients are copied into flat buckets
// of about `bucket_bytes`, each bucket is averaged over the ranks with one
// collective (NCCL on GPUs, MPI otherwise, as DistContext chose), and the
// averages are copied back. Every rank must hold the same parameters in the
// same order; a parameter without a gradient contributes zeros.
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
  std::vector<at::Tensor> flats_;                   // one reused flat buffer per bucket
};

// The global L2 norm of the gradients (after averaging: the same on every rank).
double gradient_norm(const std::vector<at::Tensor>& parameters);

// Scales gradients so that their global norm is at most `max_norm`; returns
// the norm before clipping. No collective: call after average().
double clip_gradient_norm(const std::vector<at::Tensor>& parameters, double max_norm);

}  // namespace rso::train
