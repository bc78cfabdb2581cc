#include "rso/io/json_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rso/core/error.hpp"

namespace rso {

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RSO_THROW(IoError, "cannot open '" + path + "': " + std::strerror(errno));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    RSO_THROW(DataError, "'" + path + "' is not valid JSON: " + e.what());
  }
}

}  // namespace rso
