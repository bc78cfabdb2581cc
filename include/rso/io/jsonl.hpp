// Streaming JSONL: one JSON object a line, UTF-8.
//
// The reader holds one line at a time (memory independent of file size) and
// every error names the file, the line and, where it applies, the field:
//   data error: prompts.jsonl:12: field "prompt": expected a string, got number
// Blank lines are skipped; a file with no record at all is an error.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace rso {

// One parsed line, with typed accessors that report what is wrong and where.
class JsonlRecord {
 public:
  JsonlRecord(const nlohmann::json& json, const std::string& file, std::size_t line)
      : json_(json), file_(file), line_(line) {}

  bool has(const std::string& field) const;
  std::string string(const std::string& field) const;
  std::int64_t integer(const std::string& field) const;
  double number(const std::string& field) const;
  bool boolean(const std::string& field) const;
  std::vector<std::string> strings(const std::string& field) const;
  // Python's NaN, Infinity and -Infinity literals come back as such; callers
  // that need finite values check.
  std::vector<double> numbers(const std::string& field) const;
  const nlohmann::json& json() const { return json_; }

  // "file:line"
  std::string where() const;
  // Throws DataError "file:line: field "f": what".
  [[noreturn]] void fail(const std::string& field, const std::string& what) const;

 private:
  const nlohmann::json& field_value(const std::string& field) const;
  const nlohmann::json& json_;
  const std::string& file_;
  std::size_t line_;
};

class JsonlReader {
 public:
  explicit JsonlReader(std::string path);
  ~JsonlReader();
  JsonlReader(const JsonlReader&) = delete;
  JsonlReader& operator=(const JsonlReader&) = delete;

  // Advances to the next record; false at the end of the file.
  bool next();
  // Advances past the next record without parsing it (another rank's shard);
  // false at the end of the file.
  bool skip();
  // The current record; valid until the next call to next().
  JsonlRecord record() const;
  std::size_t line_number() const { return line_number_; }
  std::size_t records_read() const { return records_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ifstream in_;
  std::string line_;
  std::size_t line_number_ = 0;
  std::size_t records_ = 0;
  std::unique_ptr<nlohmann::json> current_;
};

// Serialises one record as a single line (no trailing newline), UTF-8 kept
// as is, keys in insertion order.
std::string to_jsonl_line(const nlohmann::ordered_json& record);

}  // namespace rso
