// Each preference loss's value and gradient against values worked out by
// hand in float64.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "rso/train/losses.hpp"

namespace rso::train {
namespace {

// One pair: log πθ(y_w) = -4, log πθ(y_l) = -6, log π_sft(y_w) = -5,
// log π_sft(y_l) = -5.5; so Δ = (1) - (-0.5) = 1.5, and the unnormalised
// difference is 2. γ = 0.5.
struct Case {
  at::Tensor pw = at::tensor({-4.0}, at::kDouble).requires_grad_(true);
  at::Tensor pl = at::tensor({-6.0}, at::kDouble).requires_grad_(true);
  PairLogprobs logprobs() const {
    return {pw, pl, at::tensor({-5.0}, at::kDouble), at::tensor({-5.5}, at::kDouble)};
  }
};

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

TEST(PreferenceLoss, SigmoidNormIsDpo) {
  Case c;
  const PreferenceLoss loss = preference_loss(LossKind::sigmoid_norm, c.logprobs(), 0.5);
  // −log σ(0.75) = 0.38560...; d/dπw = −γ σ(−γΔ) = −0.5 · σ(−0.75).
  EXPECT_NEAR(loss.per_pair.item<double>(), -std::log(sigmoid(0.75)), 1e-12);
  EXPECT_NEAR(loss.margin.item<double>(), 0.75, 1e-12);
  loss.per_pair.sum().backward();
  EXPECT_NEAR(c.pw.grad().item<double>(), -0.5 * sigmoid(-0.75), 1e-12);
  EXPECT_NEAR(c.pl.grad().item<double>(), 0.5 * sigmoid(-0.75), 1e-12);
}

TEST(PreferenceLoss, HingeNormIsRsosSvmForm) {
  Case c;
  const PreferenceLoss loss = preference_loss(LossKind::hinge_norm, c.logprobs(), 0.5);
  EXPECT_NEAR(loss.per_pair.item<double>(), 0.25, 1e-12);  // max(0, 1 − 0.75)
  loss.per_pair.sum().backward();
  EXPECT_NEAR(c.pw.grad().item<double>(), -0.5, 1e-12);
  EXPECT_NEAR(c.pl.grad().item<double>(), 0.5, 1e-12);
  // Past the margin the hinge is flat.
  Case far;
  const PreferenceLoss flat = preference_loss(LossKind::hinge_norm, far.logprobs(), 2.0);  // 1 − 3 < 0
  EXPECT_EQ(flat.per_pair.item<double>(), 0.0);
  flat.per_pair.sum().backward();
  EXPECT_EQ(far.pw.grad().item<double>(), 0.0);
}

TEST(PreferenceLoss, HingeIsSlicWithOptionalSftTerm) {
  Case c;
  // max(0, 1 − 0.5 · 2) = 0 exactly at the margin; with λ = 0.1 the SFT term
  // adds −0.1 · (−4) = 0.4 and its gradient −0.1 on the chosen log-prob.
  const PreferenceLoss loss = preference_loss(LossKind::hinge, c.logprobs(), 0.5, 0.1);
  EXPECT_NEAR(loss.per_pair.item<double>(), 0.4, 1e-12);
  EXPECT_NEAR(loss.margin.item<double>(), 1.0, 1e-12);
  Case d;
  const PreferenceLoss inside = preference_loss(LossKind::hinge, d.logprobs(), 0.25);  // 1 − 0.5
  EXPECT_NEAR(inside.per_pair.item<double>(), 0.5, 1e-12);
  inside.per_pair.sum().backward();
  EXPECT_NEAR(d.pw.grad().item<double>(), -0.25, 1e-12);
  EXPECT_NEAR(d.pl.grad().item<double>(), 0.25, 1e-12);
}

TEST(PreferenceLoss, SigmoidIgnoresTheReference) {
  Case c;
  const PreferenceLoss loss = preference_loss(LossKind::sigmoid, c.logprobs(), 0.5);
  EXPECT_NEAR(loss.per_pair.item<double>(), -std::log(sigmoid(1.0)), 1e-12);
  loss.per_pair.sum().backward();
  EXPECT_NEAR(c.pw.grad().item<double>(), -0.5 * sigmoid(-1.0), 1e-12);
  // No reference needed at all.
  Case bare;
  const PreferenceLoss without = preference_loss(LossKind::sigmoid, {bare.pw, bare.pl, {}, {}}, 0.5);
  EXPECT_NEAR(without.per_pair.item<double>(), loss.per_pair.item<double>(), 1e-15);
}

TEST(PreferenceLoss, StableForLargeMargins) {
  const PairLogprobs far{at::tensor({0.0}, at::kDouble), at::tensor({-2000.0}, at::kDouble),
                         at::tensor({0.0}, at::kDouble), at::tensor({0.0}, at::kDouble)};
  EXPECT_NEAR(preference_loss(LossKind::sigmoid_norm, far, 1.0).per_pair.item<double>(), 0.0, 1e-300);
  const PairLogprobs wrong{far.policy_rejected, far.policy_chosen, far.reference_chosen, far.reference_rejected};
  EXPECT_NEAR(preference_loss(LossKind::sigmoid_norm, wrong, 1.0).per_pair.item<double>(), 2000.0, 1e-9);
}

}  // namespace
}  // namespace rso::train

#include "rso/train/trainer.hpp"

namespace rso::train {
namespace {

TEST(LearningRate, WarmsUpThenHoldsOrDecays) {
  TrainConfig c;
  c.learning_rate = 1.0;
  c.warmup_steps = 4;
  c.steps = 14;
  EXPECT_DOUBLE_EQ(learning_rate_at(c, 0), 0.25);
  EXPECT_DOUBLE_EQ(learning_rate_at(c, 3), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate_at(c, 10), 1.0);
  c.schedule = ScheduleKind::cosine;
  EXPECT_DOUBLE_EQ(learning_rate_at(c, 4), 1.0);
  EXPECT_NEAR(learning_rate_at(c, 9), 0.5, 1e-12);  // half way: cos(pi/2)
  EXPECT_NEAR(learning_rate_at(c, 14), 0.0, 1e-12);
}

}  // namespace
}  // namespace rso::train
