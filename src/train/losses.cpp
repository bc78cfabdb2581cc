#include "rso/train/losses.hpp"

#include <ATen/ATen.h>

#include "rso/core/error.hpp"

namespace rso::train {

namespace {

// −log σ(x), stable for large |x|.
at::Tensor negative_log_sigmoid(const at::Tensor& x) { return at::softplus(-x); }

at::Tensor hinge(const at::Tensor& x) { return at::clamp_min(1.0 - x, 0.0); }

}  // namespace

at::Tensor log_ratio_difference(const PairLogprobs& l) {
  if (!l.reference_chosen.defined() || !l.reference_rejected.defined())
    RSO_THROW(InternalError, "the -norm losses need reference log-probs");
  return (l.policy_chosen - l.reference_chosen) - (l.policy_rejected - l.reference_rejected);
}

PreferenceLoss preference_loss(LossKind kind, const PairLogprobs& l, double gamma, double sft_weight) {
  if (!(gamma > 0)) RSO_THROW(ConfigError, "train.gamma must be > 0");
  const bool normalised = kind == LossKind::sigmoid_norm || kind == LossKind::hinge_norm;
  const at::Tensor argument =
      gamma * (normalised ? log_ratio_difference(l) : l.policy_chosen - l.policy_rejected);
  PreferenceLoss out;
  switch (kind) {
    case LossKind::sigmoid_norm:
    case LossKind::sigmoid: out.per_pair = negative_log_sigmoid(argument); break;
    case LossKind::hinge_norm:
    case LossKind::hinge: out.per_pair = hinge(argument); break;
  }
  if (sft_weight != 0.0) out.per_pair = out.per_pair - sft_weight * l.policy_chosen;
  out.margin = argument.detach();
  return out;
}

}  // namespace rso::train
