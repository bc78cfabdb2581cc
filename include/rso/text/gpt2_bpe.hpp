// GPT-2's byte-level BPE: text is split by GPT-2's pre-tokenisation regex
// (PCRE2, Unicode properties), each piece's bytes are mapped to printable
// characters, and merges are applied in rank order. Every byte sequence is
// representable, so decode(encode(s)) == s for any valid UTF-8.
//
// Loads OpenAI's `encoder.json` + `vocab.bpe`, or a Hugging Face
// `tokenizer.json` with a BPE model.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "rso/text/tokenizer.hpp"

namespace rso::text {

class Gpt2Tokenizer : public Tokenizer {
 public:
  // vocab: token text (in the byte-to-unicode alphabet) -> id; merges in
  // rank order, each "left right".
  Gpt2Tokenizer(std::unordered_map<std::string, std::int64_t> vocab, const std::vector<std::string>& merges);
  ~Gpt2Tokenizer() override;

  static Gpt2Tokenizer from_files(const std::string& encoder_json, const std::string& vocab_bpe);
  static Gpt2Tokenizer from_tokenizer_json(const std::string& tokenizer_json);
  // The same from file contents; the sources name them in errors.
  static Gpt2Tokenizer from_texts(const std::string& encoder_json, const std::string& vocab_bpe,
                                  const std::string& encoder_source);
  static Gpt2Tokenizer from_tokenizer_json_text(const std::string& text, const std::string& source);

  std::vector<std::int64_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<std::int64_t>& ids) const override;
  std::int64_t vocab_size() const override { return static_cast<std::int64_t>(id_to_token_.size()); }
  // GPT-2 has one special token, "<|endoftext|>", which ends and separates texts.
  std::int64_t bos_id() const override { return end_of_text_id_; }
  std::int64_t eos_id() const override { return end_of_text_id_; }

  Gpt2Tokenizer(Gpt2Tokenizer&&) noexcept;

 private:
  std::vector<std::string> bpe(const std::string& piece) const;

  std::unordered_map<std::string, std::int64_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::int64_t end_of_text_id_ = -1;
  std::map<std::pair<std::string, std::string>, std::size_t> merge_rank_;
  struct Regex;
  std::unique_ptr<Regex> regex_;
};

// GPT-2's byte -> printable code point table (bytes_to_unicode), as UTF-8.
const std::vector<std::string>& gpt2_byte_symbols();

}  // namespace rso::text
