#include "rso/dist/sharded_output.hpp"

#include <filesystem>
#include <fstream>

#include "rso/core/error.hpp"
#include "rso/io/atomic_file.hpp"

namespace rso {

ShardRange shard_range(std::uint64_t total, int rank, int size) {
  const auto r = static_cast<std::uint64_t>(rank), s = static_cast<std::uint64_t>(size);
  return {total * r / s, total * (r + 1) / s};
}

std::string shard_part_path(const std::string& output, int rank) { return output + ".part-" + std::to_string(rank); }

void join_shard_parts(const DistContext& context, const std::string& output) {
  context.agree([&] {
    if (!context.is_root()) return;
    AtomicFileWriter joined(output);
    std::string buffer(1 << 20, '\0');
    for (int r = 0; r < context.size(); ++r) {
      const std::string name = shard_part_path(output, r);
      std::ifstream in(name, std::ios::binary);
      if (!in) RSO_THROW(IoError, "cannot read '" + name + "' (is the output directory shared by all ranks?)");
      while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0)
        joined.write(std::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())));
    }
    joined.commit();
    for (int r = 0; r < context.size(); ++r) std::filesystem::remove(shard_part_path(output, r));
  });
}

std::uint64_t count_jsonl_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RSO_THROW(IoError, "cannot open '" + path + "'");
  std::uint64_t records = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) ++records;
  return records;
}

}  // namespace rso
