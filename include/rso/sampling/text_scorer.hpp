// Reward functions over text, the alternative to a trained reward model
// wherever rso scores responses (`sample.scorer`): `rso sample` scores its
// candidates with one, `rso eval` judges with it as the proxy, `rso select`
// scores candidates that carry no rewards.
//
//   model         the reward (or ranking) model checkpoint, sample.reward_model
//   gold          the built-in task's gold reward (VADER of the response): an
//                 oracle proxy, the upper bound of what sampling and losses can do
//   exec:COMMAND  an external scorer: `/bin/sh -c COMMAND` started once per
//                 rank, reading JSONL lines {"prompt", "response"} on its
//                 standard input and answering one number per line, in order,
//                 on its standard output (its standard error is the rank's).
//                 It starts with the stop signals blocked, as every helper
//                 (core/helper_process.hpp); when it fails, exits or answers
//                 something that is not a finite number, the error names the
//                 command.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rso::sampling {

struct ScorerSpec {
  enum class Kind { model, gold, exec } kind = Kind::model;
  std::string command;  // exec only
  std::string text;     // as configured
};

// Parses the value of `key` (for messages: "sample.scorer", "--scorer").
// Throws ConfigError for anything else than model, gold or exec:COMMAND.
ScorerSpec parse_scorer_spec(const std::string& value, const std::string& key);

class TextScorer {
 public:
  virtual ~TextScorer() = default;
  // What it is, for logs and reports ("gold reward", "exec: python3 s.py").
  virtual std::string describe() const = 0;
  // One reward per (prompt, response); both lists have the same length.
  virtual std::vector<double> score(const std::vector<std::string>& prompts,
                                    const std::vector<std::string>& responses) = 0;
};

// A reward function in this process.
class FunctionScorer : public TextScorer {
 public:
  using Function = std::function<double(const std::string& prompt, const std::string& response)>;
  FunctionScorer(std::string description, Function function)
      : description_(std::move(description)), function_(std::move(function)) {}
  std::string describe() const override { return description_; }
  std::vector<double> score(const std::vector<std::string>& prompts, const std::vector<std::string>& responses) override;

 private:
  std::string description_;
  Function function_;
};

// An external program, started at construction and kept for every batch;
// the destructor closes its input and waits for it.
class ExternalScorer : public TextScorer {
 public:
  explicit ExternalScorer(std::string command);
  ~ExternalScorer() override;
  ExternalScorer(const ExternalScorer&) = delete;
  ExternalScorer& operator=(const ExternalScorer&) = delete;
  std::string describe() const override { return "exec: " + command_; }
  std::vector<double> score(const std::vector<std::string>& prompts, const std::vector<std::string>& responses) override;

 private:
  // Stops the scorer and throws: DataError for an answer that is not a
  // finite number, UnavailableError when it ended or cannot be talked to.
  [[noreturn]] void fail(const std::string& what, bool bad_answer = false);

  std::string command_;
  int socket_ = -1;  // our end of the socket pair that is the child's stdin and stdout
  pid_t pid_ = -1;
  std::string pending_;  // answer bytes read past the last full line
  std::size_t answered_ = 0;
};

}  // namespace rso::sampling
