// AdamW against LibTorch's own torch::optim::AdamW; Adafactor against a
// plain-loop float64 transcription of Shazeer & Stern (2018), Algorithm 4.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <torch/optim/adamw.h>

#include <cmath>

#include "rso/train/optimizer.hpp"

namespace rso::train {
namespace {

TEST(Optimizer, AdamWMatchesLibTorch) {
  at::manual_seed(3);
  const at::Tensor start_w = at::randn({3, 4}, at::kDouble), start_b = at::randn({4}, at::kDouble);
  at::Tensor ours_w = start_w.clone().requires_grad_(true), ours_b = start_b.clone().requires_grad_(true);
  at::Tensor torch_w = start_w.clone().requires_grad_(true), torch_b = start_b.clone().requires_grad_(true);
  auto ours = make_adamw({{"w", ours_w}, {"b", ours_b}}, {0.9, 0.99, 1e-8, 0.1});
  torch::optim::AdamW reference({torch_w, torch_b},
                                torch::optim::AdamWOptions(0.01).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.1));
  for (int step = 0; step < 6; ++step) {
    const at::Tensor gw = at::randn({3, 4}, at::kDouble), gb = at::randn({4}, at::kDouble);
    ours_w.mutable_grad() = gw.clone();
    ours_b.mutable_grad() = gb.clone();
    torch_w.mutable_grad() = gw.clone();
    torch_b.mutable_grad() = gb.clone();
    ours->step(0.01);
    reference.step();
  }
  EXPECT_LT((ours_w - torch_w).abs().max().item<double>(), 1e-14);
  EXPECT_LT((ours_b - torch_b).abs().max().item<double>(), 1e-14);
  EXPECT_EQ(ours->steps_taken(), 6);
}

// Algorithm 4 with relative step size and parameter scaling, one matrix.
struct ReferenceAdafactor {
  int n, m;
  std::vector<double> x, row, column;
  int t = 0;
  ReferenceAdafactor(int n_, int m_, std::vector<double> start)
      : n(n_), m(m_), x(std::move(start)), row(n_, 0.0), column(m_, 0.0) {}
  void step(const std::vector<double>& g) {
    ++t;
    const double rho = std::min(1e-2, 1.0 / std::sqrt(t));
    double rms_x = 0;
    for (double v : x) rms_x += v * v;
    rms_x = std::sqrt(rms_x / (n * m));
    const double alpha = std::max(1e-3, rms_x) * rho;
    const double beta2 = 1.0 - std::pow(t, -0.8);
    // R_t = β R + (1 − β)(G² + ε1) 1_m, C_t = β C + (1 − β) 1_n^T (G² + ε1), as sums.
    for (int i = 0; i < n; ++i) {
      double sum = 0;
      for (int j = 0; j < m; ++j) sum += g[i * m + j] * g[i * m + j] + 1e-30;
      row[i] = beta2 * row[i] + (1 - beta2) * sum;
    }
    for (int j = 0; j < m; ++j) {
      double sum = 0;
      for (int i = 0; i < n; ++i) sum += g[i * m + j] * g[i * m + j] + 1e-30;
      column[j] = beta2 * column[j] + (1 - beta2) * sum;
    }
    double row_total = 0;
    for (double r : row) row_total += r;
    std::vector<double> u(n * m);
    double rms_u = 0;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < m; ++j) {
        const double v_hat = row[i] * column[j] / row_total;
        u[i * m + j] = g[i * m + j] / std::sqrt(v_hat);
        rms_u += u[i * m + j] * u[i * m + j];
      }
    rms_u = std::sqrt(rms_u / (n * m));
    for (int k = 0; k < n * m; ++k) x[k] -= alpha * u[k] / std::max(1.0, rms_u / 1.0);
  }
};

TEST(Optimizer, AdafactorFollowsThePublishedRule) {
  at::manual_seed(4);
  const at::Tensor start = at::randn({3, 5}, at::kDouble) * 0.1;
  at::Tensor w = start.clone().requires_grad_(true);
  auto ours = make_adafactor({{"w", w}});
  ReferenceAdafactor reference(3, 5, std::vector<double>(start.data_ptr<double>(), start.data_ptr<double>() + 15));
  for (int step = 0; step < 5; ++step) {
    const at::Tensor g = at::randn({3, 5}, at::kDouble) * (step + 1);
    w.mutable_grad() = g.clone();
    ours->step(0.0);
    reference.step(std::vector<double>(g.data_ptr<double>(), g.data_ptr<double>() + 15));
  }
  for (int k = 0; k < 15; ++k) EXPECT_NEAR(w.view(-1)[k].item<double>(), reference.x[static_cast<std::size_t>(k)], 1e-13);

  // A vector keeps its full second moment: the first update of a vector is
  // -α·sign(g) scaled to RMS 1 (V̂ = g² at t = 1 since β̂2 = 0).
  at::Tensor b = at::full({4}, 0.5, at::kDouble).requires_grad_(true);
  auto vector_optimizer = make_adafactor({{"b", b}});
  b.mutable_grad() = at::tensor({2.0, -3.0, 0.5, -0.1}, at::kDouble);
  vector_optimizer->step(0.0);
  const double alpha = 0.5 * 1e-2;  // max(ε2, RMS(x) = 0.5) · min(1e-2, 1)
  EXPECT_NEAR(b[0].item<double>(), 0.5 - alpha, 1e-12);
  EXPECT_NEAR(b[1].item<double>(), 0.5 + alpha, 1e-12);
}

TEST(Optimizer, StateRoundTripsForExactResume) {
  at::manual_seed(5);
  at::Tensor a = at::randn({2, 3}, at::kDouble).requires_grad_(true);
  at::Tensor b = a.detach().clone().requires_grad_(true);
  for (bool adafactor : {false, true}) {
    auto first = adafactor ? make_adafactor({{"p", a}}) : make_adamw({{"p", a}});
    a.mutable_grad() = at::randn({2, 3}, at::kDouble);
    first->step(0.01);
    // A second optimiser resumes from the first's state.
    {
      at::NoGradGuard no_grad;
      b.copy_(a);
    }
    auto second = adafactor ? make_adafactor({{"p", b}}) : make_adamw({{"p", b}});
    second->load_state(first->state(), first->steps_taken());
    const at::Tensor g = at::randn({2, 3}, at::kDouble);
    a.mutable_grad() = g.clone();
    b.mutable_grad() = g.clone();
    first->step(0.01);
    second->step(0.01);
    EXPECT_TRUE(at::equal(a, b));
  }
}

}  // namespace
}  // namespace rso::train
