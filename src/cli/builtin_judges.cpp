// The built-in task's judges, handed to the evaluator (eval/ knows no task).
#include <filesystem>
#include <memory>

#include "rso/cli/commands.hpp"
#include "rso/task/builtin_task.hpp"

namespace rso::cli {

eval::Judges builtin_judges(const DistContext& context, const Config& config) {
  eval::Judges judges;
  auto gold = std::make_shared<task::VaderScorer>(context.agree([&] { return task::load_gold_scorer(config); }));
  judges.gold_reward = [gold](const std::string& text) { return gold->compound(text); };
  judges.gold_reward_name = "VADER compound of the response text (" + config.task.lexicon + ")";
  judges.gold_reward_short_name = "VADER compound sentiment of the response";
  const bool labelled = !config.task.labelled.empty() &&
                        context.decide([&] { return std::filesystem::exists(std::filesystem::path(config.task.labelled) / "imdb.json"); });
  if (labelled) {
    for (task::LabelledSentence& s : context.agree([&] { return task::read_labelled_sentences(config.task.labelled); }))
      judges.labelled_sentences.push_back({std::move(s.source), std::move(s.text), s.positive});
    judges.labelled_sources = {"imdb", "yelp", "amazon"};
    judges.labelled_name = "the npm package `sentiment`";
  }
  return judges;
}

}  // namespace rso::cli
