#include "rso/text/record_tokens.hpp"

#include <cmath>
#include <cstdio>

#include "rso/core/error.hpp"

namespace rso::text {

std::string describe_token_value(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) return std::to_string(static_cast<std::int64_t>(value));
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

std::vector<std::int64_t> record_tokens(const JsonlRecord& record, const std::string& field, const Tokenizer* tokenizer,
                                        std::int64_t vocab_size) {
  std::vector<std::int64_t> ids;
  const std::string id_field = field + "_ids";
  if (record.has(id_field)) {
    for (double value : record.numbers(id_field)) {
      if (value != std::floor(value) || value < 0 || value >= static_cast<double>(vocab_size))
        record.fail(id_field, "token " + describe_token_value(value) + " is not a token id: ids are integers from 0 to " + std::to_string(vocab_size - 1));
      ids.push_back(static_cast<std::int64_t>(value));
    }
    return ids;
  }
  if (!record.has(field)) record.fail(field, "missing (give \"" + field + "\" text or \"" + id_field + "\")");
  if (tokenizer == nullptr)
    record.fail(field, "text needs a tokenizer and the model has none; give \"" + id_field + "\"");
  try {
    ids = tokenizer->encode(record.string(field));
  } catch (const DataError& error) {
    record.fail(field, error.message());
  }
  for (std::int64_t id : ids)
    if (id >= vocab_size)
      record.fail(field, "the tokenizer gives id " + std::to_string(id) + ", beyond the model's vocabulary of " +
                             std::to_string(vocab_size));
  return ids;
}

// A text response is a finished one, as an SFT response is: it ends with the
// tokenizer's end-of-sequence token, so preference training keeps teaching
// the policy to stop and a reward model reads what sampled responses end with.
// Token ids are taken as given.
std::vector<std::int64_t> record_response_tokens(const JsonlRecord& record, const std::string& field,
                                                 const Tokenizer* tokenizer, std::int64_t vocab_size) {
  std::vector<std::int64_t> ids = record_tokens(record, field, tokenizer, vocab_size);
  const bool text = !record.has(field + "_ids");
  if (text && tokenizer != nullptr && tokenizer->eos_id() >= 0 && tokenizer->eos_id() < vocab_size && !ids.empty() &&
      ids.back() != tokenizer->eos_id())
    ids.push_back(tokenizer->eos_id());
  return ids;
}

PairTokens record_pair_tokens(const JsonlRecord& record, const Tokenizer* tokenizer, std::int64_t vocab_size) {
  PairTokens pair;
  pair.prompt = record_tokens(record, "prompt", tokenizer, vocab_size);
  pair.chosen = record_response_tokens(record, "chosen", tokenizer, vocab_size);
  pair.rejected = record_response_tokens(record, "rejected", tokenizer, vocab_size);
  if (pair.prompt.empty()) record.fail("prompt", "empty");
  if (pair.chosen.empty()) record.fail("chosen", "empty: a pair needs two non-empty responses");
  if (pair.rejected.empty()) record.fail("rejected", "empty: a pair needs two non-empty responses");
  return pair;
}

}  // namespace rso::text
