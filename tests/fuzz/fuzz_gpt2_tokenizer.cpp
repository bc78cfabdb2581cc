// GPT-2's byte-level BPE files: encoder.json and vocab.bpe (the input's first
// byte even, the two split at a line "=====") or a Hugging Face tokenizer.json
// (odd); then used on a sentence and on every id.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "rso/text/tokenizer_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  rso::text::TokenizerFiles files;
  if (data[0] % 2 == 0) {
    const auto [encoder, merges] = rso::fuzz::split(input, "\n=====\n");
    files.kind = "gpt2-bpe";
    files.files["encoder.json"] = std::string(encoder);
    files.files["vocab.bpe"] = std::string(merges);
  } else {
    files.kind = "tokenizer-json";
    files.files["tokenizer.json"] = std::string(input);
  }
  rso::fuzz::expect_typed_errors("gpt2 tokenizer", [&] {
    const auto tokenizer = rso::text::make_tokenizer(files);
    std::vector<std::int64_t> every_id;
    for (std::int64_t id = 0; id < tokenizer->vocab_size() && id < 4096; ++id) every_id.push_back(id);
    (void)tokenizer->decode(every_id);
    const auto ids = tokenizer->encode("Hello, world: It's not bad at all — naïve café 1234.\n\n  x");
    (void)tokenizer->decode(ids);
  });
  return 0;
}
