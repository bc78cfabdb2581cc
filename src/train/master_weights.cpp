#include "rso/train/master_weights.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

namespace rso::train {

MasterWeights::MasterWeights(std::vector<NamedParameter> model_parameters) : model_(std::move(model_parameters)) {
  for (const auto& p : model_) separate_ = separate_ || p.tensor.scalar_type() != at::kFloat;
  if (!separate_) {
    masters_ = model_;
    return;
  }
  at::NoGradGuard no_grad;
  for (const auto& p : model_)
    masters_.push_back({p.name, p.tensor.detach().to(at::kFloat, /*non_blocking=*/false, /*copy=*/true).requires_grad_(true)});
}

std::vector<at::Tensor> MasterWeights::master_tensors() const {
  std::vector<at::Tensor> tensors;
  for (const auto& p : masters_) tensors.push_back(p.tensor);
  return tensors;
}

void MasterWeights::zero_gradients() {
  // The masters' gradients are zeroed in place: they may be views into the
  // gradient synchroniser's buckets. The bf16 model's are dropped (collected
  // into the masters after every micro-batch).
  at::NoGradGuard no_grad;
  for (auto& p : masters_)
    if (p.tensor.grad().defined()) p.tensor.mutable_grad().zero_();
  if (separate_)
    for (auto& p : model_) p.tensor.mutable_grad() = at::Tensor();
}

void MasterWeights::collect_gradients() {
  if (!separate_) return;
  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < model_.size(); ++i) {
    at::Tensor& model_grad = model_[i].tensor.mutable_grad();
    if (!model_grad.defined()) continue;
    at::Tensor& master_grad = masters_[i].tensor.mutable_grad();
    if (master_grad.defined()) master_grad.add_(model_grad.to(at::kFloat));
    else master_grad = model_grad.to(at::kFloat, false, true);
    model_grad = at::Tensor();
  }
}

void MasterWeights::publish() {
  if (!separate_) return;
  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < model_.size(); ++i) model_[i].tensor.copy_(masters_[i].tensor);
}

void MasterWeights::restore_float32() {
  if (!separate_) return;
  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < model_.size(); ++i) model_[i].tensor.set_data(masters_[i].tensor.detach().clone());
}

}  // namespace rso::train
