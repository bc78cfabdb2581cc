// Whole JSON documents (config.json, tokenizer files, safetensors indexes).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace rso {

// Parses the file; IoError when it cannot be opened, DataError naming the
// file and the parser's explanation when it is not valid JSON.
nlohmann::json read_json_file(const std::string& path);

// The same for text already in memory; `source` names it in errors.
nlohmann::json parse_json_text(const std::string& text, const std::string& source);

// A whole file's bytes; IoError when it cannot be read.
std::string read_file_bytes(const std::string& path);

}  // namespace rso
