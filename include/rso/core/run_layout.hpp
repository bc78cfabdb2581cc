// Where a run directory's files are (docs/ARCHITECTURE.md, "Data flow"): the
// one place that spells the layout. Every stage asks it for the default of
// each path key it reads or writes; a key that is set (sft.output,
// sample.policy, ...) wins over the default.
#pragma once

#include <filesystem>
#include <string>

namespace rso {

class RunLayout {
 public:
  explicit RunLayout(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path data(const std::string& file) const { return data_dir() / file; }
  std::filesystem::path data_dir() const { return root_ / "data"; }
  std::filesystem::path tokenizer_model() const { return root_ / "tokenizer" / "spm.model"; }
  std::filesystem::path init_model() const { return root_ / "init" / kModel; }
  std::filesystem::path sft_dir() const { return root_ / "sft"; }
  std::filesystem::path sft_model() const { return sft_dir() / kModel; }
  std::filesystem::path reward_dir() const { return root_ / "reward"; }
  std::filesystem::path reward_model() const { return reward_dir() / kModel; }
  std::filesystem::path sample_dir() const { return root_ / "sample"; }
  std::filesystem::path train_dir() const { return root_ / "train"; }
  std::filesystem::path train_model() const { return train_dir() / kModel; }
  std::filesystem::path eval_dir() const { return root_ / "eval"; }
  std::filesystem::path report() const { return root_ / "report.json"; }
  // The pipeline's record of a finished stage (cli/stage_record.hpp).
  std::filesystem::path stage_record(const std::string& stage) const { return root_ / "stages" / (stage + ".json"); }

  // A stage directory's model file.
  static std::filesystem::path model_in(const std::filesystem::path& stage_dir) { return stage_dir / kModel; }

 private:
  static constexpr const char* kModel = "model.h5";
  std::filesystem::path root_;
};

// `value` when the config key is set, else the layout's `fallback`.
inline std::string path_or(const std::string& value, const std::filesystem::path& fallback) {
  return value.empty() ? fallback.string() : value;
}

}  // namespace rso
