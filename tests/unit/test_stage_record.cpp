#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "rso/cli/stage_record.hpp"
#include "rso/core/config.hpp"
#include "rso/core/error.hpp"
#include "rso/io/run_directory_lock.hpp"
#include "test_helpers.hpp"

namespace rso::cli {
namespace {

namespace fs = std::filesystem;

// The fingerprint follows names and bytes: a copy keeps it, one changed byte,
// a renamed or a missing file changes it; directories count their files.
TEST(StageRecord, FingerprintFollowsNamesAndContents) {
  testing::TempDir dir;
  fs::create_directories(dir / "run/sft");
  fs::create_directories(dir / "copy/sft");
  testing::write_text(dir / "run/sft/model.h5", "weights");
  testing::write_text(dir / "copy/sft/model.h5", "weights");
  const std::string first = fingerprint_files(dir / "run", {dir / "run/sft/model.h5"});
  EXPECT_EQ(first.size(), 16u);
  EXPECT_EQ(fingerprint_files(dir / "copy", {dir / "copy/sft/model.h5"}), first);
  testing::write_text(dir / "copy/sft/model.h5", "weighty");
  EXPECT_NE(fingerprint_files(dir / "copy", {dir / "copy/sft/model.h5"}), first);
  EXPECT_NE(fingerprint_files(dir / "run", {dir / "run/sft/other.h5"}), first);  // missing
  const std::string directory = fingerprint_files(dir / "run", {dir / "run/sft"});
  testing::write_text(dir / "run/sft/extra", "");
  EXPECT_NE(fingerprint_files(dir / "run", {dir / "run/sft"}), directory);
}

// Differences name each changed, added or dropped key and each changed input;
// the outputs fingerprint is not compared.
TEST(StageRecord, DifferencesNameKeysAndInputs) {
  StageRecord before{{{"train.loss", "sigmoid-norm"}, {"train.steps", "3"}, {"run.seed", "1"}},
                     {{"sample", "aa"}, {"sft", "bb"}},
                     "cc"};
  StageRecord after = before;
  after.outputs = "";
  EXPECT_TRUE(stage_record_differences(before, after).empty());
  after.params["train.loss"] = "hinge";
  after.params.erase("train.steps");
  after.params["train.gamma"] = "0.05";
  after.inputs["sample"] = "ab";
  const auto reasons = stage_record_differences(before, after);
  ASSERT_EQ(reasons.size(), 4u);
  EXPECT_EQ(reasons[0], "train.gamma: (none) -> 0.05");
  EXPECT_EQ(reasons[1], "train.loss: sigmoid-norm -> hinge");
  EXPECT_EQ(reasons[2], "train.steps: 3 -> (none)");
  EXPECT_EQ(reasons[3], "the output of stage sample changed");
}

TEST(StageRecord, RoundTripsAndRefusesOtherFiles) {
  testing::TempDir dir;
  const StageRecord record{{{"sft.steps", "8"}}, {{"init", "0123456789abcdef"}}, "fedcba9876543210"};
  EXPECT_FALSE(read_stage_record(dir / "stages/sft.json").has_value());
  write_stage_record(dir / "stages/sft.json", record);
  const auto read = read_stage_record(dir / "stages/sft.json");
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->params, record.params);
  EXPECT_EQ(read->inputs, record.inputs);
  EXPECT_EQ(read->outputs, record.outputs);
  testing::write_text(dir / "stages/other.json", "{\"format\": \"rso.samples.manifest\"}");
  EXPECT_THROW(read_stage_record(dir / "stages/other.json"), DataError);
}

// config_params lists the param fields config_hash covers, by "section.key".
TEST(StageRecord, ConfigParamsAreTheHashedFields) {
  Config config;
  const auto params = config_params(config);
  EXPECT_EQ(params.at("train.loss"), "sigmoid-norm");
  EXPECT_EQ(params.count("run.dir"), 0u);  // operational
  config.train.learning_rate = 0.5;
  EXPECT_EQ(config_params(config).at("train.learning_rate"), "0.5");
  EXPECT_NE(config_params(config), params);
}

// A second holder (here another open file description in this process) is
// refused with who holds it; releasing the first lets it in.
TEST(RunDirectoryLock, OneHolderAtATime) {
  testing::TempDir dir;
  {
    const io::RunDirectoryLock first(dir / "run", "pipeline");
    EXPECT_TRUE(first.held());
    try {
      const io::RunDirectoryLock second(dir / "run", "eval");
      FAIL() << "a second lock was granted";
    } catch (const IoError& e) {
      EXPECT_NE(e.message().find("is in use by pid"), std::string::npos) << e.message();
      EXPECT_NE(e.message().find("(rso pipeline, since"), std::string::npos) << e.message();
    }
  }
  const io::RunDirectoryLock again(dir / "run", "eval");
  EXPECT_TRUE(again.held());
}

}  // namespace
}  // namespace rso::cli
