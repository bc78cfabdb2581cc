// A Hugging Face config.json, as `rso import-hf` reads it first.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "rso/model/hf_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  rso::fuzz::write_scratch_file("config.json", std::string_view(reinterpret_cast<const char*>(data), size));
  rso::fuzz::expect_typed_errors("hf config", [&] { (void)rso::model::read_hf_config(rso::fuzz::scratch_directory()); });
  return 0;
}
