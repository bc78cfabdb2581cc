#include "rso/train/optimizer.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "rso/core/error.hpp"

namespace rso::train {

namespace {

// Moments live in float32 (or the parameter's dtype when wider), whatever
// the parameter's dtype: bfloat16 moments lose the small updates.
at::ScalarType state_dtype(const at::Tensor& parameter) {
  return parameter.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

class OptimizerBase : public Optimizer {
 public:
  explicit OptimizerBase(std::vector<NamedParameter> parameters) : parameters_(std::move(parameters)) {}

  std::map<std::string, at::Tensor> state() const override { return slots_; }

  void load_state(const std::map<std::string, at::Tensor>& state, std::int64_t step) override {
    for (auto& [key, slot] : slots_) {
      const auto it = state.find(key);
      if (it == state.end()) RSO_THROW(DataError, "optimiser state lacks '" + key + "'");
      if (it->second.sizes() != slot.sizes())
        RSO_THROW(DataError, "optimiser state '" + key + "' has the wrong shape");
      at::NoGradGuard no_grad;
      slot.copy_(it->second);
    }
    if (state.size() != slots_.size()) RSO_THROW(DataError, "optimiser state holds slots this optimiser does not have");
    step_ = step;
  }

 protected:
  at::Tensor& slot(const NamedParameter& p, const std::string& name, at::IntArrayRef shape) {
    auto [it, inserted] = slots_.try_emplace(p.name + "/" + name);
    if (inserted) it->second = at::zeros(shape, p.tensor.options().dtype(state_dtype(p.tensor)));
    return it->second;
  }

  std::vector<NamedParameter> parameters_;
  std::map<std::string, at::Tensor> slots_;
};

class AdamW final : public OptimizerBase {
 public:
  AdamW(std::vector<NamedParameter> parameters, AdamWOptions options)
      : OptimizerBase(std::move(parameters)), options_(options) {
    for (const auto& p : parameters_) {
      slot(p, "exp_avg", p.tensor.sizes());
      slot(p, "exp_avg_sq", p.tensor.sizes());
    }
  }

  void step(double learning_rate) override {
    at::NoGradGuard no_grad;
    ++step_;
    const double bias1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_));
    const double bias2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_));
    for (auto& p : parameters_) {
      if (!p.tensor.grad().defined()) continue;
      at::Tensor& m = slot(p, "exp_avg", {});
      at::Tensor& v = slot(p, "exp_avg_sq", {});
      const at::Tensor g = p.tensor.grad().to(m.scalar_type());
      at::Tensor x = p.tensor.to(m.scalar_type());
      x.mul_(1.0 - learning_rate * options_.weight_decay);
      m.mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
      v.mul_(options_.beta2).addcmul_(g, g, 1.0 - options_.beta2);
      const at::Tensor denominator = (v.sqrt() / std::sqrt(bias2)).add_(options_.eps);
      x.addcdiv_(m, denominator, -learning_rate / bias1);
      p.tensor.copy_(x);
    }
  }

 private:
  AdamWOptions options_;
};

class Adafactor final : public OptimizerBase {
 public:
  Adafactor(std::vector<NamedParameter> parameters, AdafactorOptions options)
      : OptimizerBase(std::move(parameters)), options_(options) {
    for (const auto& p : parameters_) {
      if (factored(p.tensor)) {
        const auto sizes = p.tensor.sizes();
        slot(p, "row", sizes.slice(0, sizes.size() - 1));  // mean over the last dimension
        std::vector<std::int64_t> column(sizes.begin(), sizes.end());
        column.erase(column.end() - 2);  // mean over the second-to-last dimension
        slot(p, "column", column);
      } else {
        slot(p, "second_moment", p.tensor.sizes());
      }
    }
  }

  void step(double learning_rate) override {
    at::NoGradGuard no_grad;
    ++step_;
    const double t = static_cast<double>(step_);
    const double decay = 1.0 - std::pow(t, -options_.decay_exponent);
    const double rho = options_.relative_step ? std::min(1e-2, 1.0 / std::sqrt(t)) : learning_rate;
    for (auto& p : parameters_) {
      if (!p.tensor.grad().defined()) continue;
      const at::ScalarType dtype = state_dtype(p.tensor);
      const at::Tensor g = p.tensor.grad().to(dtype);
      at::Tensor x = p.tensor.to(dtype);
      const at::Tensor g2 = g * g + options_.eps1;
      at::Tensor update;
      if (factored(p.tensor)) {
        at::Tensor& row = slot(p, "row", {});
        at::Tensor& column = slot(p, "column", {});
        row.mul_(decay).add_(g2.mean(-1), 1.0 - decay);
        column.mul_(decay).add_(g2.mean(-2), 1.0 - decay);
        // V̂ = R C / mean(R): rsqrt of each factor, broadcast.
        const at::Tensor row_factor = (row / row.mean(-1, /*keepdim=*/true)).rsqrt().unsqueeze(-1);
        const at::Tensor column_factor = column.rsqrt().unsqueeze(-2);
        update = g * row_factor * column_factor;
      } else {
        at::Tensor& v = slot(p, "second_moment", {});
        v.mul_(decay).add_(g2, 1.0 - decay);
        update = g * v.rsqrt();
      }
      const double rms_update = update.pow(2).mean().sqrt().item<double>();
      update.div_(std::max(1.0, rms_update / options_.clip_threshold));
      const double scale = options_.scale_parameter
                               ? std::max(options_.eps2, x.pow(2).mean().sqrt().item<double>())
                               : 1.0;
      x.sub_(update, scale * rho);
      p.tensor.copy_(x);
    }
  }

 private:
  static bool factored(const at::Tensor& t) { return t.dim() >= 2; }
  AdafactorOptions options_;
};

}  // namespace

std::unique_ptr<Optimizer> make_adamw(std::vector<NamedParameter> parameters, AdamWOptions options) {
  return std::make_unique<AdamW>(std::move(parameters), options);
}

std::unique_ptr<Optimizer> make_adafactor(std::vector<NamedParameter> parameters, AdafactorOptions options) {
  return std::make_unique<Adafactor>(std::move(parameters), options);
}

}  // namespace rso::train
