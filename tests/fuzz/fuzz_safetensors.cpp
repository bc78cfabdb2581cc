// A safetensors file: header validated before any tensor is read.
#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "rso/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = rso::fuzz::write_scratch_file(
      "model.safetensors", std::string_view(reinterpret_cast<const char*>(data), size));
  rso::fuzz::expect_typed_errors("safetensors", [&] {
    (void)rso::read_safetensors_header(path);
    (void)rso::read_safetensors(path);
  });
  return 0;
}
