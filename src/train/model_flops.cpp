#include "rso/train/model_flops.hpp"

#include <ATen/core/Tensor.h>

namespace rso::train {

FlopModel flop_model(const std::vector<NamedParameter>& parameters, const model::TransformerOptions& options,
                     bool tied_lm_head) {
  FlopModel flops;
  for (const auto& p : parameters)
    if (p.tensor.dim() == 2 && p.name.find("embed_tokens") == std::string::npos)
      flops.matmul_weights += static_cast<double>(p.tensor.numel());
  if (tied_lm_head) flops.matmul_weights += static_cast<double>(options.vocab_size() * options.hidden_size());
  flops.attention_width = static_cast<double>(options.num_layers() * options.hidden_size());
  return flops;
}

double peak_flops_per_second(const std::string& device, const std::string& dtype, double configured_tflops) {
  if (configured_tflops > 0) return configured_tflops * 1e12;
  if (device.rfind("cuda", 0) != 0 || dtype != "bfloat16") return 0.0;
  // Dense bfloat16 tensor-core peaks from the vendors' data sheets (SXM parts).
  struct Known {
    const char* name;
    double tflops;
  };
  static constexpr Known kKnown[] = {{"H200", 989.4}, {"H100 PCIe", 756.0}, {"H100", 989.4}, {"A100", 312.0},
                                     {"L40S", 362.1}, {"A10G", 70.0},       {"L4", 121.0}};
  for (const Known& known : kKnown)
    if (device.find(known.name) != std::string::npos) return known.tflops * 1e12;
  return 0.0;
}

}  // namespace rso::train
