// What `rso pipeline` remembers of each finished stage, so that it skips a
// stage only when that stage would compute the same thing again.
//
// <run.dir>/stages/<stage>.json (format "rso.stage", version 1):
//   params   the config's param fields the stage's results depend on
//            ("section.key" -> value)
//   inputs   each upstream stage -> the fingerprint of its outputs when this
//            stage ran
//   outputs  the fingerprint of this stage's own outputs when it finished
// A fingerprint is a hash of the outputs' names and contents: copying a run
// directory keeps it, editing or replacing a file changes it.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rso::cli {

struct StageRecord {
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> inputs;
  std::string outputs;
};

// The record at `path`; nullopt when there is none. DataError when it is not
// a stage record.
std::optional<StageRecord> read_stage_record(const std::filesystem::path& path);

// Atomically; creates the directory.
void write_stage_record(const std::filesystem::path& path, const StageRecord& record);

// Why `recorded` does not describe `now`, one reason a line
// ("task.vocab_size: 8000 -> 2000", "input sft changed"); empty when it does.
// The outputs fingerprint is not compared: it is what downstream stages
// record as their input.
std::vector<std::string> stage_record_differences(const StageRecord& recorded, const StageRecord& now);

// 16 hex digits over each existing file's path relative to `root` and its
// bytes, in the given order; a directory counts as its regular files in name
// order; a missing path counts as missing.
std::string fingerprint_files(const std::filesystem::path& root, const std::vector<std::filesystem::path>& paths);

}  // namespace rso::cli
