// Optimisers with state rso owns (so that checkpoints hold it exactly and
// resume bit for bit): AdamW and Adafactor.
//
// AdamW follows torch.optim.AdamW (decoupled decay applied first, bias
// corrections, eps outside the square root). Adafactor follows Shazeer &
// Stern (2018), Algorithm 4 with their defaults: factored second moments
// for matrices (row and column means, V̂ = R C / mean(R)), full ones for
// vectors, decay β̂2 = 1 − t^−0.8, ε1 = 1e−30, update clipping at RMS d = 1,
// and step α = max(ε2, RMS(x)) · ρ with ρ = min(1e−2, 1/√t) (relative step)
// or ρ = the learning rate given; no first moment.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace rso::train {

struct NamedParameter {
  std::string name;
  at::Tensor tensor;  // a leaf requiring grad
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Applies one update with the gradients in .grad() (skips parameters without one).
  virtual void step(double learning_rate) = 0;
  std::int64_t steps_taken() const { return step_; }
  // Every state tensor by "<parameter>/<slot>", and the step count: what a
  // checkpoint stores to resume exactly.
  virtual std::map<std::string, at::Tensor> state() const = 0;
  virtual void load_state(const std::map<std::string, at::Tensor>& state, std::int64_t step) = 0;

 protected:
  std::int64_t step_ = 0;
};

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
};

struct AdafactorOptions {
  bool relative_step = true;    // ρ = min(1e-2, 1/√t); otherwise the learning rate passed to step()
  bool scale_parameter = true;  // α = max(ε2, RMS(x)) · ρ
  double eps1 = 1e-30, eps2 = 1e-3, clip_threshold = 1.0, decay_exponent = 0.8;
};

std::unique_ptr<Optimizer> make_adamw(std::vector<NamedParameter> parameters, AdamWOptions options = {});
std::unique_ptr<Optimizer> make_adafactor(std::vector<NamedParameter> parameters, AdafactorOptions options = {});

}  // namespace rso::train
