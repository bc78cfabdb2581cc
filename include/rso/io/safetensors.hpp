// The safetensors format: an 8-byte little-endian header length N, N bytes
// of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
// "__metadata__": {string: string}}, then the byte buffer the offsets index.
//
// The header is validated completely before any tensor data is read: its
// size against the file, the JSON, every dtype and shape, that each byte
// range matches its shape and lies inside the buffer, and that ranges
// neither overlap nor leave holes (as the format requires). A malformed
// file is a DataError naming the file and the entry, never a crash.
#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace at {
class Tensor;
}

namespace rso {

struct SafetensorsEntry {
  std::string name;
  c10::ScalarType dtype = c10::ScalarType::Float;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // within the byte buffer
  std::uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;  // in file order of their data
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start = 0;  // file offset of the byte buffer
};

// Largest header rso accepts (the reference implementation's limit).
constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

SafetensorsHeader read_safetensors_header(const std::string& path);

// Every tensor of the file, on the CPU, in its stored dtype.
std::vector<std::pair<std::string, at::Tensor>> read_safetensors(const std::string& path);

// Writes tensors (copied to host, contiguous) sorted by name, atomically.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace rso
