// Tokenizers behind one interface.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rso::text {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // UTF-8 text to token ids; invalid UTF-8 is a DataError.
  virtual std::vector<std::int64_t> encode(std::string_view text) const = 0;
  virtual std::string decode(const std::vector<std::int64_t>& ids) const = 0;
  virtual std::int64_t vocab_size() const = 0;
  // Begin/end-of-sequence ids, -1 when the vocabulary has none.
  virtual std::int64_t bos_id() const { return -1; }
  virtual std::int64_t eos_id() const { return -1; }
};

}  // namespace rso::text
