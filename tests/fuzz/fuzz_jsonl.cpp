// JSONL records as each command reads them: SFT examples {prompt, response},
// preference pairs {prompt, chosen, rejected}, either as text (tokenized) or
// as token ids (checked against the vocabulary).
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "fuzz_support.hpp"
#include "rso/text/gpt2_bpe.hpp"
#include "rso/train/preference_data.hpp"
#include "rso/train/sft_trainer.hpp"

namespace {

// A byte-level tokenizer without merges: every byte one token, so any text
// tokenizes and the fuzzer's effort goes into the records.
const rso::text::Gpt2Tokenizer& byte_tokenizer() {
  static const rso::text::Gpt2Tokenizer tokenizer = [] {
    std::unordered_map<std::string, std::int64_t> vocab;
    for (const std::string& symbol : rso::text::gpt2_byte_symbols())
      vocab.emplace(symbol, static_cast<std::int64_t>(vocab.size()));
    vocab.emplace("<|endoftext|>", static_cast<std::int64_t>(vocab.size()));
    return rso::text::Gpt2Tokenizer(std::move(vocab), {});
  }();
  return tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string path = rso::fuzz::write_scratch_file("records.jsonl", input);
  const auto& tokenizer = byte_tokenizer();
  for (const rso::text::Tokenizer* t : {static_cast<const rso::text::Tokenizer*>(&tokenizer),
                                        static_cast<const rso::text::Tokenizer*>(nullptr)}) {
    rso::fuzz::expect_typed_errors("sft records", [&] { (void)rso::train::load_sft_examples(path, t, 257); });
    rso::fuzz::expect_typed_errors("preference pairs", [&] {
      const auto pairs = rso::train::load_preference_pairs(path, t, 257);
      (void)rso::train::preference_pair_warnings(pairs, path);
    });
  }
  return 0;
}
