// What the benchmark programs share: "--name value" flags, the device and
// dtype they run on, the model presets, and timing that waits for the device.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "rso/model/transformer.hpp"

namespace rso::perf {

class Flags {
 public:
  // Every argument is "--name value"; anything else is an error.
  Flags(int argc, char** argv) {
    for (int i = 1; i < argc; i += 2) {
      const std::string name = argv[i];
      if (name.rfind("--", 0) != 0 || i + 1 >= argc) {
        std::fprintf(stderr, "expected --name value pairs, got '%s'\n", argv[i]);
        std::exit(2);
      }
      values_[name.substr(2)] = argv[i + 1];
    }
  }
  std::string text(const std::string& name, const std::string& fallback) const {
    const auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  std::int64_t integer(const std::string& name, std::int64_t fallback) const {
    const auto it = values_.find(name);
    return it == values_.end() ? fallback : std::atoll(it->second.c_str());
  }

 private:
  std::map<std::string, std::string> values_;
};

inline c10::Device device_named(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda") return c10::Device(c10::kCUDA, 0);
  std::fprintf(stderr, "--device must be cpu or cuda, not '%s'\n", name.c_str());
  std::exit(2);
}

inline c10::ScalarType dtype_named(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "bfloat16") return at::kBFloat16;
  std::fprintf(stderr, "--dtype must be float32 or bfloat16, not '%s'\n", name.c_str());
  std::exit(2);
}

// "demo": the demo's policy; "bench": the 134M benchmark model (Llama-style,
// hidden 768, 12 layers, 12 heads, SwiGLU 2048, vocabulary 32000).
inline model::TransformerOptions preset_options(const std::string& preset) {
  model::TransformerOptions options;  // defaults: the benchmark model
  if (preset == "demo")
    options.vocab_size(8000).hidden_size(256).num_layers(4).num_heads(4).num_kv_heads(4).intermediate_size(688);
  else if (preset != "bench") {
    std::fprintf(stderr, "--preset must be demo or bench, not '%s'\n", preset.c_str());
    std::exit(2);
  }
  return options;
}

// Returns once the device has finished everything queued before: reading a
// value back waits for the stream.
inline void wait_for(const at::Tensor& on_device) {
  if (on_device.is_cuda()) (void)on_device.flatten()[0].item<double>();
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The dense matrix-product rate LibTorch reaches on this device and dtype
// (n×n×n products, random operands, median of the timed repeats), in FLOP/s:
// the practical peak that MFU is quoted against.
inline double measured_matmul_flops(c10::Device device, c10::ScalarType dtype, std::int64_t n = 8192) {
  const auto options = at::TensorOptions().dtype(dtype).device(device);
  const at::Tensor a = at::randn({n, n}, options), b = at::randn({n, n}, options);
  at::Tensor c = at::matmul(a, b);
  wait_for(c);
  std::vector<double> times;
  for (int i = 0; i < 10; ++i) {
    const auto start = std::chrono::steady_clock::now();
    c = at::matmul(a, b);
    wait_for(c);
    times.push_back(seconds_since(start));
  }
  std::sort(times.begin(), times.end());
  return 2.0 * static_cast<double>(n) * n * n / times[times.size() / 2];
}

}  // namespace rso::perf
