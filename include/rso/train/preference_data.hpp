// Training pairs: from the sampling stage's output (a directory with
// manifest.json and block files, which carry log pi_sft of both responses)
// or from JSONL {"prompt", "chosen", "rejected"} (text, or *_ids).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rso/text/tokenizer.hpp"

namespace rso::train {

struct PreferencePair {
  std::vector<std::int64_t> prompt, chosen, rejected;
  double reference_chosen = NAN, reference_rejected = NAN;  // NaN: to be computed
  std::size_t line = 0;  // the JSONL line it was read from; 0 for sampled pairs
  std::string id;        // the JSONL record's "id" as JSON text; empty when it has none
};

// Pairs in global order (blocks by index, JSONL by line). A sample
// directory whose manifest is not complete is a DataError.
std::vector<PreferencePair> load_preference_pairs(const std::string& path, const text::Tokenizer* tokenizer,
                                                  std::int64_t vocab_size);

// Refuses, as a DataError naming the pair's line (JSONL) or its place in
// the sampling output, the first pair whose `length` exceeds `limit`;
// `limit_reason` says where the limit comes from ("the policy's
// max_positions 512"). Checked when the pairs are read, before any work.
void require_pairs_fit(const std::vector<PreferencePair>& pairs, const std::string& path, std::int64_t limit,
                       const std::string& limit_reason,
                       const std::function<std::int64_t(const PreferencePair&)>& length);

// What is legal in a pairs file but almost surely a mistake, one sentence
// each, for the caller to log once: pairs whose chosen response equals the
// rejected one (counted: they carry no preference and no gradient) and
// records that share an "id". Empty when there is nothing to say.
std::vector<std::string> preference_pair_warnings(const std::vector<PreferencePair>& pairs, const std::string& path);

// The tokens of a pair's longer side read after its prompt.
std::int64_t prompt_and_longer_response(const PreferencePair& pair);

}  // namespace rso::train
