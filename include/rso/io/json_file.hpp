// Whole JSON documents (config.json, tokenizer files, safetensors indexes).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace rso {

// Parses the file; IoError when it cannot be opened, DataError naming the
// file and the parser's explanation when it is not valid JSON.
nlohmann::json read_json_file(const std::string& path);

}  // namespace rso
