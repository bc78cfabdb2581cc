// Loading named parameters from any store (HDF5 checkpoint, safetensors)
// with one complete report of what does not fit.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace rso::model {

// A stored tensor, described before its data is read.
struct StoredTensor {
  std::vector<std::int64_t> shape;
  std::string dtype;                 // as dtype_name() spells it
  std::function<at::Tensor()> read;  // the data, on the CPU
};

// "float32", "bfloat16", "float16", "float64", else torch's own name.
std::string dtype_name(c10::ScalarType type);

// Every parameter of `module` must be in `stored` with its shape and dtype,
// and `stored` must hold nothing else; otherwise one DataError lists every
// missing, unexpected, mis-shaped and mis-typed tensor. Data is read only
// when everything fits, then copied into the parameters.
void load_named_parameters(torch::nn::Module& module, const std::map<std::string, StoredTensor>& stored,
                           const std::string& source);

}  // namespace rso::model
