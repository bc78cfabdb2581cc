// Model FLOPs of training, for throughput and model FLOPs utilisation (MFU).
//
// PaLM's convention (Chowdhery et al. 2022, appendix B): a token of a
// sequence of T tokens costs 6·P FLOPs forward and backward for the P weights
// it multiplies (every matrix but the input embedding, which is a lookup),
// plus 12·L·d·T for attention scores and their weighted sums (causal masking
// ignored), L layers of width d. Padding is not counted: MFU measures useful
// work.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rso/model/transformer.hpp"
#include "rso/train/optimizer.hpp"

namespace rso::train {

struct FlopModel {
  double matmul_weights = 0;   // P
  double attention_width = 0;  // L·d
  // Forward + backward FLOPs of one sequence of `tokens` tokens.
  double sequence(std::int64_t tokens) const {
    const double t = static_cast<double>(tokens);
    return 6.0 * matmul_weights * t + 12.0 * attention_width * t * t;
  }
};

// From a model's parameters: every 2-D weight except "*embed_tokens*"; a
// causal LM with tied embeddings also multiplies by the embedding (`lm_head`).
FlopModel flop_model(const std::vector<NamedParameter>& parameters, const model::TransformerOptions& options,
                     bool tied_lm_head);

// Peak dense FLOP/s of one device for training in `dtype_name` ("bfloat16",
// "float32"), from its description ("cuda:0 NVIDIA H100 80GB HBM3"); 0 when
// unknown (CPUs, unlisted GPUs). `configured_tflops` > 0 overrides.
double peak_flops_per_second(const std::string& device_description, const std::string& dtype_name,
                             double configured_tflops);

}  // namespace rso::train
