// The reward function sample.scorer names, built where the built-in task's
// gold reward is known (the sampling stage and the evaluator see only a
// sampling::TextScorer).
#include <memory>

#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"
#include "rso/sampling/text_scorer.hpp"
#include "rso/task/builtin_task.hpp"

namespace rso::cli {

std::unique_ptr<sampling::TextScorer> make_text_scorer(const DistContext& context, const Config& config,
                                                       const std::string& value, const std::string& key) {
  const sampling::ScorerSpec spec = context.agree([&] { return sampling::parse_scorer_spec(value, key); });
  switch (spec.kind) {
    case sampling::ScorerSpec::Kind::model:
      return nullptr;
    case sampling::ScorerSpec::Kind::gold: {
      auto gold = std::make_shared<task::VaderScorer>(context.agree([&] { return task::load_gold_scorer(config); }));
      return std::make_unique<sampling::FunctionScorer>(
          "the gold reward (VADER compound of the response, " + config.task.lexicon + ")",
          [gold](const std::string&, const std::string& response) { return gold->compound(response); });
    }
    case sampling::ScorerSpec::Kind::exec:
      // Started on every rank; one that cannot start fails the job for all.
      return context.agree([&] { return std::make_unique<sampling::ExternalScorer>(spec.command); });
  }
  return nullptr;
}

}  // namespace rso::cli
