#include "rso/train/gradient_sync.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

namespace rso::train {

GradientSynchronizer::GradientSynchronizer(const DistContext& context, std::vector<at::Tensor> parameters,
                                           std::size_t bucket_bytes)
    : context_(context), parameters_(std::move(parameters)) {
  // Consecutive parameters of one dtype share a bucket until it is full.
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const at::Tensor& p = parameters_[i];
    const std::size_t size = static_cast<std::size_t>(p.numel()) * p.element_size();
    const bool new_bucket = buckets_.empty() || bytes + size > bucket_bytes ||
                            parameters_[buckets_.back().front()].scalar_type() != p.scalar_type();
    if (new_bucket) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().push_back(i);
    bytes += size;
  }
  // One flat buffer per bucket for the life of the synchroniser: a fresh one
  // per step would be new memory for every allreduce (page faults here and
  // in the MPI library's registration of the buffer).
  for (const auto& bucket : buckets_) {
    std::int64_t numel = 0;
    for (std::size_t i : bucket) numel += parameters_[i].numel();
    flats_.push_back(at::zeros({numel}, parameters_[bucket.front()].options().requires_grad(false)));
  }
}

void GradientSynchronizer::average() {
  at::NoGradGuard no_grad;
  if (context_.size() == 1) {
    // One rank's gradients are their own mean; only the zeros are due.
    for (at::Tensor& p : parameters_)
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    return;
  }
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    const auto& bucket = buckets_[b];
    at::Tensor& flat = flats_[b];
    std::int64_t filled = 0;
    for (std::size_t i : bucket) {
      at::Tensor& p = parameters_[i];
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
      flat.narrow(0, filled, p.numel()).copy_(p.grad().reshape({-1}));
      filled += p.numel();
    }
    context_.allreduce_(flat, ReduceOp::average);
    std::int64_t offset = 0;
    for (std::size_t i : bucket) {
      at::Tensor& grad = parameters_[i].mutable_grad();
      grad.copy_(flat.narrow(0, offset, grad.numel()).view_as(grad));
      offset += grad.numel();
    }
  }
}

double gradient_norm(const std::vector<at::Tensor>& parameters) {
  double squares = 0;
  for (const auto& p : parameters)
    if (p.grad().defined()) squares += p.grad().to(at::kDouble).pow(2).sum().item<double>();
  return std::sqrt(squares);
}

double clip_gradient_norm(const std::vector<at::Tensor>& parameters, double max_norm) {
  const double norm = gradient_norm(parameters);
  if (max_norm > 0 && norm > max_norm) {
    at::NoGradGuard no_grad;
    const double scale = max_norm / (norm + 1e-6);
    for (const auto& p : parameters)
      if (p.grad().defined()) p.grad().mul_(scale);
  }
  return norm;
}

}  // namespace rso::train
