// `rso sft`: supervised fine-tuning, the language-model loss on response
// tokens only, through the shared loop of train/trainer.hpp (an example is a
// (prompt, response) record).
//
// Data: JSONL {"prompt", "response"} (text through the model's tokenizer, or
// "prompt_ids"/"response_ids"). A text response gets the tokenizer's
// end-of-sequence token appended, so that the policy learns to stop. The step
// loss is the mean negative log-likelihood per response token of the global
// batch (every token weighs the same, whatever its example's length or its
// micro-batch). Held-out loss on sft.eval_data or a seeded sft.eval_fraction
// of the data, every sft.eval_every steps and at the end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rso/core/config.hpp"
#include "rso/dist/dist_context.hpp"
#include "rso/text/tokenizer.hpp"
#include "rso/train/trainer.hpp"

namespace rso::train {

struct SftExample {
  std::vector<std::int64_t> prompt, response;
};

// Reads SFT records; an empty prompt or response is a DataError naming the line.
std::vector<SftExample> load_sft_examples(const std::string& path, const text::Tokenizer* tokenizer,
                                          std::int64_t vocab_size);

bool run_sft_training(DistContext& context, const Config& config, const TrainingControl& control = {});

}  // namespace rso::train
