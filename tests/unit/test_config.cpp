#include <gtest/gtest.h>

#include "rso/core/config.hpp"
#include "test_helpers.hpp"

namespace rso {
namespace {

using testing::error_message;
using testing::TempDir;
using testing::write_text;

TEST(Config, DefaultsFollowThePaper) {
  const Config config = load_config("");
  EXPECT_EQ(config.sample.num_candidates, 64);
  EXPECT_EQ(config.sample.num_samples, 8);
  EXPECT_DOUBLE_EQ(config.sample.beta, 0.5);
  EXPECT_DOUBLE_EQ(config.sample.temperature, 0.7);
  EXPECT_EQ(config.sample.top_k, 40);
  EXPECT_DOUBLE_EQ(config.train.gamma, 0.05);
  EXPECT_EQ(config.train.loss, LossKind::sigmoid_norm);
  EXPECT_EQ(config.sample.pairs, PairStrategy::first_round);
}

TEST(Config, ReadsFileThenAppliesOverridesInOrder) {
  TempDir dir;
  write_text(dir / "c.yaml",
             "run:\n  dir: /tmp/x\n  seed: 7\nsample:\n  beta: 0.25\n  pairs: tournament\ntrain:\n  loss: hinge\n");
  const Config config =
      load_config((dir / "c.yaml").string(), {"sample.beta=2", "train.gamma=0.1", "sample.beta=3.5"});
  EXPECT_EQ(config.run.dir, "/tmp/x");
  EXPECT_EQ(config.run.seed, 7u);
  EXPECT_DOUBLE_EQ(config.sample.beta, 3.5);  // last --set wins
  EXPECT_EQ(config.sample.pairs, PairStrategy::tournament);
  EXPECT_EQ(config.train.loss, LossKind::hinge);
  EXPECT_DOUBLE_EQ(config.train.gamma, 0.1);
  EXPECT_EQ(config.sample.num_candidates, 64);  // untouched default
}

TEST(Config, UnknownKeyNamesKeyFileLineAndSuggestion) {
  TempDir dir;
  write_text(dir / "c.yaml", "sample:\n  num_candidates: 4\n  betta: 0.3\n");
  const std::string path = (dir / "c.yaml").string();
  const std::string message = error_message([&] { load_config(path); }, ErrorKind::config);
  EXPECT_NE(message.find("unknown config key 'sample.betta'"), std::string::npos) << message;
  EXPECT_NE(message.find(path + ":3"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'sample.beta'"), std::string::npos) << message;
}

TEST(Config, UnknownSectionIsRejected) {
  TempDir dir;
  write_text(dir / "c.yaml", "run:\n  seed: 1\nmodle:\n  layers: 2\n");
  const std::string message = error_message([&] { load_config((dir / "c.yaml").string()); }, ErrorKind::config);
  EXPECT_NE(message.find("unknown config key 'modle'"), std::string::npos) << message;
  EXPECT_NE(message.find(":3"), std::string::npos) << message;
}

// A key or a section given twice is an error naming both lines, never a
// silent choice of one.
TEST(Config, DuplicateKeysAndSectionsAreRejected) {
  TempDir dir;
  write_text(dir / "key.yaml", "sample:\n  beta: 0.5\n  num_candidates: 4\n  beta: 2\n");
  std::string message = error_message([&] { load_config((dir / "key.yaml").string()); }, ErrorKind::config);
  EXPECT_NE(message.find("key.yaml:4: 'sample.beta' is given twice (first at line 2)"), std::string::npos) << message;
  write_text(dir / "section.yaml", "train:\n  steps: 3\nsample:\n  beta: 1\ntrain:\n  gamma: 0.1\n");
  message = error_message([&] { load_config((dir / "section.yaml").string()); }, ErrorKind::config);
  EXPECT_NE(message.find("section.yaml:5: 'train' is given twice (first at line 1)"), std::string::npos) << message;
}

// Found by fuzz_config: a key that is a map ("? seed: 7") made yaml-cpp's
// conversion throw past the config reader, an internal error.
TEST(Config, KeysThatAreNotNamesAreConfigErrors) {
  TempDir dir;
  write_text(dir / "k.yaml", "run:\n  ? {a: 1}\n  : 2\n");
  std::string message = error_message([&] { load_config((dir / "k.yaml").string()); }, ErrorKind::config);
  EXPECT_NE(message.find("k.yaml:2: a key in 'run' is not a name"), std::string::npos) << message;
  write_text(dir / "top.yaml", "? [a, b]\n: 1\n");
  message = error_message([&] { load_config((dir / "top.yaml").string()); }, ErrorKind::config);
  EXPECT_NE(message.find("top.yaml:1: a key in the top level is not a name"), std::string::npos) << message;
}

TEST(Config, WrongTypesAreErrorsNamingTheKey) {
  TempDir dir;
  write_text(dir / "a.yaml", "sample:\n  top_k: forty\n");
  std::string message = error_message([&] { load_config((dir / "a.yaml").string()); }, ErrorKind::config);
  EXPECT_NE(message.find("'sample.top_k'"), std::string::npos) << message;
  EXPECT_NE(message.find("must be an integer"), std::string::npos) << message;
  EXPECT_NE(message.find("a.yaml:2"), std::string::npos) << message;

  write_text(dir / "b.yaml", "sample:\n  top_k: 2.5\n");
  message = error_message([&] { load_config((dir / "b.yaml").string()); }, ErrorKind::config);
  EXPECT_NE(message.find("must be an integer"), std::string::npos) << message;

  write_text(dir / "c.yaml", "sample: 3\n");
  message = error_message([&] { load_config((dir / "c.yaml").string()); }, ErrorKind::config);
  EXPECT_NE(message.find("'sample' must be a mapping"), std::string::npos) << message;

  write_text(dir / "d.yaml", "sample:\n  beta: [1, 2]\n");
  message = error_message([&] { load_config((dir / "d.yaml").string()); }, ErrorKind::config);
  EXPECT_NE(message.find("'sample.beta' must be a number"), std::string::npos) << message;

  message = error_message([] { load_config("", {"run.seed=-4"}); }, ErrorKind::config);
  EXPECT_NE(message.find("'run.seed'"), std::string::npos) << message;
  EXPECT_NE(message.find("--set run.seed=-4"), std::string::npos) << message;
}

TEST(Config, OutOfRangeValuesAreErrors) {
  std::string message = error_message([] { load_config("", {"sample.beta=0"}); }, ErrorKind::config);
  EXPECT_NE(message.find("'sample.beta' = 0 is out of range: must be > 0"), std::string::npos) << message;
  message = error_message([] { load_config("", {"sample.top_p=1.5"}); }, ErrorKind::config);
  EXPECT_NE(message.find("must be > 0 and <= 1"), std::string::npos) << message;
  message = error_message([] { load_config("", {"train.micro_batch=0"}); }, ErrorKind::config);
  EXPECT_NE(message.find("must be >= 1"), std::string::npos) << message;
  message = error_message([] { load_config("", {"sample.beta=nan"}); }, ErrorKind::config);
  EXPECT_NE(message.find("finite number"), std::string::npos) << message;
}

TEST(Config, EnumsAcceptOnlyTheirNames) {
  const std::string message = error_message([] { load_config("", {"train.loss=dpo"}); }, ErrorKind::config);
  EXPECT_NE(message.find("must be one of: sigmoid-norm, hinge-norm, hinge, sigmoid"), std::string::npos) << message;
}

TEST(Config, MissingFileAndBadYamlAreConfigErrors) {
  std::string message = error_message([] { load_config("/nonexistent/missing.yaml"); }, ErrorKind::config);
  EXPECT_NE(message.find("cannot open config file '/nonexistent/missing.yaml'"), std::string::npos) << message;
  TempDir dir;
  // A directory opens as an empty stream: it must not pass for a config of defaults.
  message = error_message([&] { load_config(dir.path().string()); }, ErrorKind::config);
  EXPECT_NE(message.find("is a directory, not a YAML file"), std::string::npos) << message;
  write_text(dir / "bad.yaml", "run:\n  dir: [unclosed\n");
  message = error_message([&] { load_config((dir / "bad.yaml").string()); }, ErrorKind::config);
  EXPECT_NE(message.find("invalid YAML"), std::string::npos) << message;
  message = error_message([] { load_config("", {"novalue"}); }, ErrorKind::config);
  EXPECT_NE(message.find("section.key=value"), std::string::npos) << message;
  message = error_message([] { load_config("", {"run.dir.sub=1"}); }, ErrorKind::config);
  EXPECT_NE(message.find("'run.dir' must be a string (--set run.dir.sub=1)"), std::string::npos) << message;
  message = error_message([] { load_config("", {"run.dir=x", "run.dir.sub=1"}); }, ErrorKind::config);
  EXPECT_NE(message.find("'dir' is not a section"), std::string::npos) << message;
}

TEST(Config, UnknownOverrideKeyIsRejected) {
  const std::string message = error_message([] { load_config("", {"sample.n_c=4"}); }, ErrorKind::config);
  EXPECT_NE(message.find("unknown config key 'sample.n_c' (--set sample.n_c=4)"), std::string::npos) << message;
}

TEST(Config, ResolvedYamlReadsBackToTheSameConfig) {
  TempDir dir;
  const Config original = load_config("", {"sample.beta=0.123456789", "run.dir=/a b/c: d", "train.loss=hinge-norm",
                                           "run.seed=18446744073709551615"});
  write_text(dir / "resolved.yaml", to_yaml(original));
  const Config again = load_config((dir / "resolved.yaml").string());
  EXPECT_EQ(to_yaml(again), to_yaml(original));
  EXPECT_EQ(again.run.dir, "/a b/c: d");
  EXPECT_EQ(again.sample.beta, 0.123456789);
  EXPECT_EQ(again.run.seed, 18446744073709551615ULL);
  EXPECT_EQ(config_hash(again), config_hash(original));
}

TEST(Config, HashCoversParamsButNotOperationalFields) {
  const std::string base = config_hash(load_config(""));
  EXPECT_EQ(base.size(), 16u);
  EXPECT_EQ(config_hash(load_config("", {"run.dir=elsewhere", "log.level=debug", "dist.threads=3"})), base);
  EXPECT_NE(config_hash(load_config("", {"sample.beta=0.6"})), base);
  EXPECT_NE(config_hash(load_config("", {"run.seed=1"})), base);
  EXPECT_NE(config_hash(load_config("", {"train.loss=sigmoid"})), base);
}

TEST(Config, EmptyFileGivesDefaults) {
  TempDir dir;
  write_text(dir / "empty.yaml", "");
  EXPECT_EQ(to_yaml(load_config((dir / "empty.yaml").string())), to_yaml(load_config("")));
}

}  // namespace
}  // namespace rso
