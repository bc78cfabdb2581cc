// What `rso eval` judges responses by, handed in by its caller: the
// evaluator knows no task. The built-in task's judges (VADER's compound
// score, the npm package `sentiment`'s labelled sentences) come from
// cli/builtin_judges.hpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace rso::eval {

// A sentence people labelled positive or negative; `source` groups them
// (the proxy is checked on a positive and a negative sentence of one source).
struct LabelledSentence {
  std::string source, text;
  bool positive = false;
};

struct Judges {
  // The gold reward of a response's text (thread-compatible, pure).
  std::function<double(const std::string&)> gold_reward;
  std::string gold_reward_name;  // for the report, e.g. "VADER compound of the response text (PATH)"
  std::string gold_reward_short_name;  // in report.md's sentence, e.g. "VADER compound sentiment of the response"
  // Checks of both judges against people's labels; empty: none.
  std::vector<LabelledSentence> labelled_sentences;
  std::vector<std::string> labelled_sources;  // the sources whose pairs the proxy is checked on, in order
  std::string labelled_name;                  // e.g. "the npm package `sentiment`"
};

// Reads the judges when the evaluator needs them (after its models, so that a
// missing policy is the error a user sees first). Collective.
using JudgesSource = std::function<Judges()>;

}  // namespace rso::eval
