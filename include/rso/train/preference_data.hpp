// Training pairs: from the sampling stage's output (a directory with
// manifest.json and block files, which carry log pi_sft of both responses)
// or from JSONL {"prompt", "chosen", "rejected"} (text, or *_ids).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "rso/text/tokenizer.hpp"

namespace rso::train {

struct PreferencePair {
  std::vector<std::int64_t> prompt, chosen, rejected;
  double reference_chosen = NAN, reference_rejected = NAN;  // NaN: to be computed
};

// Pairs in global order (blocks by index, JSONL by line). A sample
// directory whose manifest is not complete is a DataError.
std::vector<PreferencePair> load_preference_pairs(const std::string& path, const text::Tokenizer* tokenizer,
                                                  std::int64_t vocab_size);

}  // namespace rso::train
