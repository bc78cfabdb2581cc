#include "rso/io/output_path.hpp"

#include <filesystem>
#include <system_error>

#include "rso/core/error.hpp"

namespace rso::io {

namespace fs = std::filesystem;

bool same_file(const std::string& a, const std::string& b) {
  std::error_code error;
  if (fs::exists(a, error) && fs::exists(b, error)) {
    const bool same = fs::equivalent(a, b, error);
    if (!error) return same;
  }
  const fs::path resolved_a = fs::weakly_canonical(a, error);
  if (error) return fs::absolute(a).lexically_normal() == fs::absolute(b).lexically_normal();
  const fs::path resolved_b = fs::weakly_canonical(b, error);
  if (error) return fs::absolute(a).lexically_normal() == fs::absolute(b).lexically_normal();
  return resolved_a == resolved_b;
}

void refuse_output_over_inputs(const std::string& output_flag, const std::string& output,
                               const std::vector<std::pair<std::string, std::string>>& others) {
  if (output.empty()) return;
  for (const auto& [flag, path] : others)
    if (!path.empty() && same_file(output, path))
      RSO_THROW(UsageError, output_flag + " '" + output + "' is the same file as " + flag + " '" + path +
                                "': the write would replace it; choose another output path");
}

}  // namespace rso::io
