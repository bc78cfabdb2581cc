#include "rso/io/file_digest.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string_view>
#include <vector>

#include "rso/core/error.hpp"
#include "rso/core/random.hpp"

namespace rso::io {

std::uint64_t digest_file(const std::filesystem::path& path, std::uint64_t hash) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RSO_THROW(IoError, "cannot open '" + path.string() + "': " + std::strerror(errno));
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hash = fnv1a64(std::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())), hash);
  }
  if (in.bad()) RSO_THROW(IoError, "cannot read '" + path.string() + "'");
  return hash;
}

std::string hex_digest(std::uint64_t digest) {
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(digest));
  return out;
}

}  // namespace rso::io
