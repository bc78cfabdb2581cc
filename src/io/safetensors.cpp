#include "rso/io/safetensors.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rso/core/error.hpp"
#include "rso/io/atomic_file.hpp"

namespace rso {

namespace {

struct DtypeName {
  const char* name;
  c10::ScalarType type;
};
constexpr DtypeName kDtypes[] = {
    {"F64", c10::ScalarType::Double}, {"F32", c10::ScalarType::Float},   {"F16", c10::ScalarType::Half},
    {"BF16", c10::ScalarType::BFloat16}, {"I64", c10::ScalarType::Long}, {"I32", c10::ScalarType::Int},
    {"I16", c10::ScalarType::Short},  {"I8", c10::ScalarType::Char},     {"U8", c10::ScalarType::Byte},
    {"BOOL", c10::ScalarType::Bool},
};

const char* dtype_name(c10::ScalarType type) {
  for (const auto& d : kDtypes)
    if (d.type == type) return d.name;
  RSO_THROW(IoError, std::string("safetensors cannot hold dtype ") + c10::toString(type));
}

[[noreturn]] void malformed(const std::string& path, const std::string& what) {
  RSO_THROW(DataError, "malformed safetensors file '" + path + "': " + what);
}

std::uint64_t read_le64(const unsigned char* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

}  // namespace

SafetensorsHeader read_safetensors_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RSO_THROW(IoError, "cannot open '" + path + "': " + std::strerror(errno));
  const std::uint64_t file_size = std::filesystem::file_size(path);
  unsigned char prefix[8];
  if (file_size < 8 || !in.read(reinterpret_cast<char*>(prefix), 8)) malformed(path, "shorter than its 8-byte header length");
  const std::uint64_t header_size = read_le64(prefix);
  if (header_size > kMaxSafetensorsHeaderBytes)
    malformed(path, "header of " + std::to_string(header_size) + " bytes exceeds the limit of " +
                        std::to_string(kMaxSafetensorsHeaderBytes));
  if (header_size > file_size - 8)
    malformed(path, "header of " + std::to_string(header_size) + " bytes runs past the end of the " +
                        std::to_string(file_size) + "-byte file");
  std::string text(header_size, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(header_size))) malformed(path, "cannot read the header");

  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    malformed(path, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!json.is_object()) malformed(path, "header is not a JSON object");

  SafetensorsHeader header;
  header.data_start = 8 + header_size;
  const std::uint64_t buffer_size = file_size - header.data_start;
  for (const auto& [name, value] : json.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) malformed(path, "__metadata__ is not an object");
      for (const auto& [key, item] : value.items()) {
        if (!item.is_string()) malformed(path, "__metadata__." + key + " is not a string");
        header.metadata[key] = item.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "': ";
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets"))
      malformed(path, where + "needs dtype, shape and data_offsets");
    SafetensorsEntry entry;
    entry.name = name;
    const auto& dtype = value["dtype"];
    const auto found = std::find_if(std::begin(kDtypes), std::end(kDtypes), [&](const DtypeName& d) {
      return dtype.is_string() && dtype.get<std::string>() == d.name;
    });
    if (found == std::end(kDtypes)) malformed(path, where + "unsupported dtype " + dtype.dump());
    entry.dtype = found->type;
    const auto& shape = value["shape"];
    if (!shape.is_array()) malformed(path, where + "shape is not an array");
    // numel * element size, refusing anything that overflows 64 bits.
    std::uint64_t bytes = c10::elementSize(entry.dtype);
    for (const auto& dim : shape) {
      if (!dim.is_number_unsigned() && !(dim.is_number_integer() && dim.get<std::int64_t>() >= 0))
        malformed(path, where + "shape " + shape.dump() + " holds a non-integer or negative size");
      const std::uint64_t d = dim.get<std::uint64_t>();
      if (d > static_cast<std::uint64_t>(INT64_MAX) || (d != 0 && bytes > UINT64_MAX / d))
        malformed(path, where + "shape " + shape.dump() + " is absurdly large");
      bytes *= d;
      entry.shape.push_back(static_cast<std::int64_t>(d));
    }
    const auto& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      malformed(path, where + "data_offsets must be two non-negative integers");
    entry.begin = offsets[0].get<std::uint64_t>();
    entry.end = offsets[1].get<std::uint64_t>();
    if (entry.begin > entry.end) malformed(path, where + "data_offsets " + offsets.dump() + " run backwards");
    if (entry.end > buffer_size)
      malformed(path, where + "data_offsets " + offsets.dump() + " reach past the " + std::to_string(buffer_size) +
                          "-byte data buffer");
    if (entry.end - entry.begin != bytes)
      malformed(path, where + "data_offsets " + offsets.dump() + " hold " + std::to_string(entry.end - entry.begin) +
                          " bytes, but shape " + shape.dump() + " of " + dtype.get<std::string>() + " needs " +
                          std::to_string(bytes));
    header.entries.push_back(std::move(entry));
  }
  std::sort(header.entries.begin(), header.entries.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  std::uint64_t covered = 0;
  for (const auto& entry : header.entries) {
    if (entry.begin < covered) malformed(path, "tensor '" + entry.name + "' overlaps the tensor before it");
    if (entry.begin > covered) malformed(path, "bytes " + std::to_string(covered) + ".." + std::to_string(entry.begin) +
                                                   " of the data buffer belong to no tensor");
    covered = entry.end;
  }
  if (covered != buffer_size)
    malformed(path, "the data buffer has " + std::to_string(buffer_size - covered) + " bytes after the last tensor");
  return header;
}

std::vector<std::pair<std::string, at::Tensor>> read_safetensors(const std::string& path) {
  const SafetensorsHeader header = read_safetensors_header(path);
  std::ifstream in(path, std::ios::binary);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& entry : header.entries) {
    at::Tensor tensor = at::empty(entry.shape, at::TensorOptions().dtype(entry.dtype));
    in.seekg(static_cast<std::streamoff>(header.data_start + entry.begin));
    if (!in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(entry.end - entry.begin)))
      RSO_THROW(IoError, "cannot read tensor '" + entry.name + "' from '" + path + "'");
    tensors.emplace_back(entry.name, std::move(tensor));
  }
  return tensors;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, at::Tensor>> sorted;
  for (const auto& [name, tensor] : tensors) sorted.emplace_back(name, tensor.detach().cpu().contiguous());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : sorted) {
    const std::uint64_t bytes = static_cast<std::uint64_t>(tensor.numel()) * tensor.element_size();
    header[name] = {{"dtype", dtype_name(tensor.scalar_type())},
                    {"shape", tensor.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the buffer to 8 bytes, as the reference writer does
  unsigned char prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(text.size()) >> (8 * i));
  AtomicFileWriter writer(path);
  writer.write(std::string_view(reinterpret_cast<const char*>(prefix), 8));
  writer.write(text);
  for (const auto& [name, tensor] : sorted)
    writer.write(std::string_view(static_cast<const char*>(tensor.data_ptr()),
                                  static_cast<std::size_t>(tensor.numel()) * tensor.element_size()));
  writer.commit();
}

}  // namespace rso
