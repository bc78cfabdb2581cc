#include "rso/cli/stage_record.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "rso/core/error.hpp"
#include "rso/core/random.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/file_digest.hpp"
#include "rso/io/json_file.hpp"

namespace rso::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "rso.stage";
constexpr int kFormatVersion = 1;

std::map<std::string, std::string> string_map(const nlohmann::json& object, const std::string& path, const char* key) {
  if (!object.contains(key) || !object[key].is_object()) RSO_THROW(DataError, path + ": no object '" + key + "'");
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : object[key].items()) {
    if (!value.is_string()) RSO_THROW(DataError, path + ": " + key + "." + name + " is not a string");
    out[name] = value.get<std::string>();
  }
  return out;
}

}  // namespace

std::optional<StageRecord> read_stage_record(const fs::path& path) {
  if (!fs::exists(path)) return std::nullopt;
  const nlohmann::json json = read_json_file(path.string());
  if (!json.is_object() || json.value("format", "") != kFormat)
    RSO_THROW(DataError, path.string() + " is not a stage record (format " + kFormat + ")");
  if (json.value("format_version", 0) != kFormatVersion)
    RSO_THROW(DataError, path.string() + ": stage record version " + json.value("format_version", nlohmann::json()).dump() +
                             ", this rso reads " + std::to_string(kFormatVersion));
  StageRecord record;
  record.params = string_map(json, path.string(), "params");
  record.inputs = string_map(json, path.string(), "inputs");
  if (!json.contains("outputs") || !json["outputs"].is_string())
    RSO_THROW(DataError, path.string() + ": no string 'outputs'");
  record.outputs = json["outputs"].get<std::string>();
  return record;
}

void write_stage_record(const fs::path& path, const StageRecord& record) {
  fs::create_directories(path.parent_path());
  const nlohmann::json json = {{"format", kFormat},
                               {"format_version", kFormatVersion},
                               {"params", record.params},
                               {"inputs", record.inputs},
                               {"outputs", record.outputs}};
  write_file_atomic(path, json.dump(1) + "\n");
}

std::vector<std::string> stage_record_differences(const StageRecord& recorded, const StageRecord& now) {
  std::vector<std::string> reasons;
  auto compare = [&](const std::map<std::string, std::string>& before, const std::map<std::string, std::string>& after,
                     auto&& describe) {
    for (const auto& [key, value] : after) {
      const auto found = before.find(key);
      if (found == before.end()) reasons.push_back(describe(key, std::string("(none)"), value));
      else if (found->second != value) reasons.push_back(describe(key, found->second, value));
    }
    for (const auto& [key, value] : before)
      if (!after.count(key)) reasons.push_back(describe(key, value, std::string("(none)")));
  };
  compare(recorded.params, now.params, [](const std::string& key, const std::string& was, const std::string& is) {
    return key + ": " + was + " -> " + is;
  });
  compare(recorded.inputs, now.inputs, [](const std::string& key, const std::string&, const std::string&) {
    return "the output of stage " + key + " changed";
  });
  return reasons;
}

std::string fingerprint_files(const fs::path& root, const std::vector<fs::path>& paths) {
  std::uint64_t hash = fnv1a64("rso.stage.fingerprint");
  auto add_name = [&](const fs::path& path, const char* state) {
    const std::string name = path.lexically_relative(root).generic_string();
    hash = fnv1a64(name.empty() || name.rfind("..", 0) == 0 ? path.generic_string() : name, hash);
    hash = fnv1a64(std::string_view(state, std::strlen(state) + 1), hash);
  };
  for (const fs::path& path : paths) {
    if (fs::is_regular_file(path)) {
      add_name(path, "file");
      hash = io::digest_file(path, hash);
    } else if (fs::is_directory(path)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::recursive_directory_iterator(path))
        if (entry.is_regular_file()) files.push_back(entry.path());
      std::sort(files.begin(), files.end());
      add_name(path, "directory");
      for (const fs::path& file : files) {
        add_name(file, "file");
        hash = io::digest_file(file, hash);
      }
    } else {
      add_name(path, "missing");
    }
  }
  return io::hex_digest(hash);
}

}  // namespace rso::cli
