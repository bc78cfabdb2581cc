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
  // One flat buffer per bucket for the life of the synchroniser, and the
  // parameters' gradients made views of it: no fresh gradient memory per
  // step (page faults here and in the MPI library's registration of the
  // buffer) and no copies into and out of the buckets.
  at::NoGradGuard no_grad;
  views_.resize(parameters_.size());
  for (const auto& bucket : buckets_) {
    std::int64_t numel = 0;
    for (std::size_t i : bucket) numel += parameters_[i].numel();
    flats_.push_back(at::zeros({numel}, parameters_[bucket.front()].options().requires_grad(false)));
    std::int64_t offset = 0;
    for (std::size_t i : bucket) {
      at::Tensor& p = parameters_[i];
      views_[i] = flats_.back().narrow(0, offset, p.numel()).view_as(p);
      if (p.grad().defined()) views_[i].copy_(p.grad());
      p.mutable_grad() = views_[i];
      offset += p.numel();
    }
  }
}

void GradientSynchronizer::average() {
  at::NoGradGuard no_grad;
  // Gradients that are no longer their bucket's views (reset or replaced
  // since) are copied in, and the views become the gradients again.
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    at::Tensor& p = parameters_[i];
    if (p.grad().defined() && p.grad().is_same(views_[i])) continue;
    if (p.grad().defined())
      views_[i].copy_(p.grad());
    else
      views_[i].zero_();
    p.mutable_grad() = views_[i];
  }
  if (context_.size() > 1)
    for (at::Tensor& flat : flats_) context_.allreduce_(flat, ReduceOp::average);
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
