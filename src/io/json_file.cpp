#include "rso/io/json_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rso/core/error.hpp"

namespace rso {

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RSO_THROW(IoError, "cannot open '" + path + "': " + std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) RSO_THROW(IoError, "cannot read '" + path + "'");
  return bytes.str();
}

nlohmann::json parse_json_text(const std::string& text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    RSO_THROW(DataError, "'" + source + "' is not valid JSON: " + e.what());
  }
}

nlohmann::json read_json_file(const std::string& path) { return parse_json_text(read_file_bytes(path), path); }

}  // namespace rso
