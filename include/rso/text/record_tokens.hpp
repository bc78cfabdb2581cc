// A JSONL record's text field as token ids: "<field>_ids" when present
// (ids below the vocabulary size), else "<field>" through the tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rso/io/jsonl.hpp"
#include "rso/text/tokenizer.hpp"

namespace rso::text {

std::vector<std::int64_t> record_tokens(const JsonlRecord& record, const std::string& field, const Tokenizer* tokenizer,
                                        std::int64_t vocab_size);

// A response field as tokens: text ends with the tokenizer's end-of-sequence
// token (appended when missing), as SFT responses do; *_ids are as given.
std::vector<std::int64_t> record_response_tokens(const JsonlRecord& record, const std::string& field,
                                                 const Tokenizer* tokenizer, std::int64_t vocab_size);

// A preference record {"prompt", "chosen", "rejected"} (text or *_ids) as
// tokens, text responses ending with end-of-sequence; an empty prompt or
// response is a DataError naming the field.
struct PairTokens {
  std::vector<std::int64_t> prompt, chosen, rejected;
};
PairTokens record_pair_tokens(const JsonlRecord& record, const Tokenizer* tokenizer, std::int64_t vocab_size);

// A token id as read from JSON, for messages: "99", "-4", "2.5", "1e+20".
std::string describe_token_value(double value);

}  // namespace rso::text
