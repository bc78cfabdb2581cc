#include "rso/io/jsonl.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "rso/core/error.hpp"
#include "rso/io/utf8.hpp"

namespace rso {

namespace {
// Python's json module writes NaN, Infinity and -Infinity as bare words,
// which JSON does not allow. They are quoted (outside strings) so that the
// record parses and numbers() can report the value with its field.
std::string quote_non_finite_literals(const std::string& line) {
  std::string out;
  bool in_string = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < line.size()) out += line[++i];
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    for (const char* word : {"-Infinity", "Infinity", "NaN"}) {
      const std::size_t length = std::strlen(word);
      if (line.compare(i, length, word) == 0) {
        out += '"';
        out += word;
        out += '"';
        i += length - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

const char* type_name(const nlohmann::json& value) {
  if (value.is_number_integer() || value.is_number_unsigned()) return "integer";
  if (value.is_number_float()) return "number";
  return value.type_name();
}
}  // namespace

// --- JsonlRecord --------------------------------------------------------------
std::string JsonlRecord::where() const { return file_ + ":" + std::to_string(line_); }

void JsonlRecord::fail(const std::string& field, const std::string& what) const {
  RSO_THROW(DataError, where() + ": field \"" + field + "\": " + what);
}

bool JsonlRecord::has(const std::string& field) const { return json_.contains(field); }

const nlohmann::json& JsonlRecord::field_value(const std::string& field) const {
  const auto it = json_.find(field);
  if (it == json_.end()) fail(field, "missing");
  return *it;
}

std::string JsonlRecord::string(const std::string& field) const {
  const auto& value = field_value(field);
  if (!value.is_string()) fail(field, std::string("expected a string, got ") + type_name(value));
  return value.get<std::string>();
}

std::int64_t JsonlRecord::integer(const std::string& field) const {
  const auto& value = field_value(field);
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    fail(field, "integer out of range");
  if (!value.is_number_integer()) fail(field, std::string("expected an integer, got ") + type_name(value));
  return value.get<std::int64_t>();
}

double JsonlRecord::number(const std::string& field) const {
  const auto& value = field_value(field);
  if (!value.is_number()) fail(field, std::string("expected a number, got ") + type_name(value));
  return value.get<double>();
}

bool JsonlRecord::boolean(const std::string& field) const {
  const auto& value = field_value(field);
  if (!value.is_boolean()) fail(field, std::string("expected true or false, got ") + type_name(value));
  return value.get<bool>();
}

std::vector<std::string> JsonlRecord::strings(const std::string& field) const {
  const auto& value = field_value(field);
  if (!value.is_array()) fail(field, std::string("expected an array of strings, got ") + type_name(value));
  std::vector<std::string> out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string())
      fail(field, "element " + std::to_string(i) + ": expected a string, got " + type_name(value[i]));
    out.push_back(value[i].get<std::string>());
  }
  return out;
}

std::vector<double> JsonlRecord::numbers(const std::string& field) const {
  const auto& value = field_value(field);
  if (!value.is_array()) fail(field, std::string("expected an array of numbers, got ") + type_name(value));
  std::vector<double> out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i].is_string()) {  // a quoted non-finite literal (see quote_non_finite_literals)
      const std::string word = value[i].get<std::string>();
      if (word == "NaN") out.push_back(NAN);
      else if (word == "Infinity") out.push_back(INFINITY);
      else if (word == "-Infinity") out.push_back(-INFINITY);
      else fail(field, "element " + std::to_string(i) + ": expected a number, got string");
      continue;
    }
    if (!value[i].is_number())
      fail(field, "element " + std::to_string(i) + ": expected a number, got " + type_name(value[i]));
    out.push_back(value[i].get<double>());
  }
  return out;
}

// --- JsonlReader --------------------------------------------------------------
JsonlReader::JsonlReader(std::string path) : path_(std::move(path)), in_(path_, std::ios::binary) {
  if (!in_) RSO_THROW(IoError, "cannot open '" + path_ + "': " + std::strerror(errno));
  if (in_.peek() == std::ifstream::traits_type::eof()) RSO_THROW(DataError, path_ + ": file is empty");
}

JsonlReader::~JsonlReader() = default;

bool JsonlReader::skip() {
  while (std::getline(in_, line_)) {
    ++line_number_;
    if (line_.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++records_;
    return true;
  }
  if (in_.bad()) RSO_THROW(IoError, "read error in '" + path_ + "' after line " + std::to_string(line_number_));
  return false;
}

bool JsonlReader::next() {
  while (std::getline(in_, line_)) {
    ++line_number_;
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();  // CRLF files
    if (line_.find_first_not_of(" \t") == std::string::npos) continue;
    const std::size_t bad = find_invalid_utf8(line_);
    if (bad != std::string::npos)
      RSO_THROW(DataError, path_ + ":" + std::to_string(line_number_) + ": invalid UTF-8 at byte " +
                               std::to_string(bad + 1) + " of the line");
    nlohmann::json parsed;
    try {
      try {
        parsed = nlohmann::json::parse(line_);
      } catch (const nlohmann::json::parse_error&) {
        if (line_.find("NaN") == std::string::npos && line_.find("Infinity") == std::string::npos) throw;
        parsed = nlohmann::json::parse(quote_non_finite_literals(line_));
      }
    } catch (const nlohmann::json::parse_error& e) {
      // e.byte is the 1-based offset within the line; keep the parser's
      // own explanation, which follows "column N: " in its message.
      std::string detail = e.what();
      const auto column = detail.find("column ");
      const auto colon = detail.find(": ", column == std::string::npos ? 0 : column);
      detail = colon == std::string::npos ? std::string() : ": " + detail.substr(colon + 2);
      RSO_THROW(DataError, path_ + ":" + std::to_string(line_number_) + ": invalid JSON at byte " +
                               std::to_string(e.byte) + " of the line" + detail);
    } catch (const nlohmann::json::out_of_range& e) {
      // A number beyond double's range (1e999): the parser's own words follow "] ".
      const std::string detail = e.what();
      const auto bracket = detail.find("] ");
      RSO_THROW(DataError, path_ + ":" + std::to_string(line_number_) + ": " +
                               (bracket == std::string::npos ? detail : detail.substr(bracket + 2)));
    }
    if (!parsed.is_object())
      RSO_THROW(DataError, path_ + ":" + std::to_string(line_number_) + ": expected a JSON object, got " +
                               type_name(parsed));
    current_ = std::make_unique<nlohmann::json>(std::move(parsed));
    ++records_;
    return true;
  }
  if (in_.bad()) RSO_THROW(IoError, "read error in '" + path_ + "' after line " + std::to_string(line_number_));
  if (records_ == 0) RSO_THROW(DataError, path_ + ": no records (only blank lines)");
  current_.reset();
  return false;
}

JsonlRecord JsonlReader::record() const {
  RSO_CHECK(current_ != nullptr, "JsonlReader::record() without a current record");
  return JsonlRecord(*current_, path_, line_number_);
}

std::string to_jsonl_line(const nlohmann::ordered_json& record) {
  // Invalid UTF-8 in a string is a bug upstream; refuse it rather than
  // silently writing replacement characters.
  return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

}  // namespace rso
