// The built-in task, "positive continuation" on real text, in the stages the
// pipeline runs before the method's own (sft, reward, sample, train, eval):
//
//   data       quotes of Debian's fortunes (task/fortunes.hpp), split by a
//              seeded permutation: 1 - task.holdout of them are the corpus and
//              the SFT examples (prompt = first task.prompt_words words,
//              response = the rest), the first task.pair_prompts of which
//              also prompt the human pairs; the held-out ones give
//              task.eval_prompts eval prompts, then up to task.sample_prompts
//              sampling prompts, then up to task.validation_prompts validation
//              prompts (tune on these: `rso eval --set eval.prompts=...`), so
//              the policy is judged on prompts it never saw.
//              <run>/data/{corpus.txt, sft.jsonl, eval_prompts.jsonl,
//              pair_prompts.jsonl, prompts.jsonl, validation_prompts.jsonl,
//              task.json}
//   tokenizer  SentencePiece (unigram, task.vocab_size) on corpus.txt:
//              <run>/tokenizer/spm.model
//   init       a Llama-style policy of the `model` section, seeded random
//              weights, with the tokenizer: <run>/init/model.h5
//   pairs      the simulated human preference data D_hf: per pair prompt, two
//              responses people wrote (task.human_responses = corpus: the
//              quote's own continuation or another quote's, and another
//              quote's), as the paper's D_hf holds other policies' responses,
//              not the SFT policy's; or two SFT samples (sft-policy). With
//              task.early_policy_step, corpus D_hf also holds pairs of two
//              samples of an early SFT checkpoint on the first
//              task.early_pair_prompts pair prompts (a weaker policy: other
//              models' responses, as in the paper's D_hf). Judged
//              by the gold reward, labelled by a Bradley–Terry draw
//              P(y1 ≻ y2) = σ((g1 − g2) / τ), τ = task.rater_temperature:
//              <run>/data/pairs.jsonl. Also the check of the proxy where it
//              is used: two SFT samples on each of the first
//              task.check_prompts sampling prompts (task.check_pairs_per_prompt
//              pairs each), the higher gold reward
//              chosen, ties dropped: <run>/data/policy_pairs.jsonl
//
// The gold reward g(x, y) is the VADER compound sentiment of the response
// text y (task/vader.hpp), in (−1, 1): the policy should continue quotes
// positively. The policy never trains on it; only the simulated raters see it.
#pragma once

#include <functional>
#include <string>

#include "rso/core/config.hpp"
#include "rso/dist/dist_context.hpp"
#include "rso/model/transformer.hpp"
#include "rso/task/vader.hpp"

namespace rso::task {

struct TaskPaths {
  std::string data, corpus, sft, eval_prompts, pair_prompts, prompts, validation_prompts, pairs, policy_pairs, task_json;
  std::string tokenizer, init;
};
TaskPaths task_paths(const Config& config);

// Each stage is collective, skips its work when its outputs exist, and
// returns true when it did work.
bool prepare_task_data(DistContext& context, const Config& config);
bool train_task_tokenizer(DistContext& context, const Config& config);
bool make_initial_policy(DistContext& context, const Config& config);
// `early_policy`, when set, loads the weaker policy of task.early_policy_step.
bool simulate_human_pairs(DistContext& context, const Config& config, const std::string& sft_policy,
                          const std::function<model::Transformer()>& early_policy = {});

// The gold reward of the task: VADER compound of the response text.
VaderScorer load_gold_scorer(const Config& config);

}  // namespace rso::task

namespace rso::task {

// The 3,000 human-labelled sentences of the npm package `sentiment`
// (test/fixtures/{imdb,yelp,amazon}.json: [{"text", "class": 0 or 1}]).
struct LabelledSentence {
  std::string source, text;
  bool positive = false;
};
std::vector<LabelledSentence> read_labelled_sentences(const std::string& directory);

}  // namespace rso::task
