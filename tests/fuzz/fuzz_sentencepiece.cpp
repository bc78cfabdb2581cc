// A SentencePiece .model (protobuf ModelProto), parsed by rso's own reader,
// then used: every piece decoded, a sentence encoded and decoded.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "rso/text/sentencepiece.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  rso::fuzz::expect_typed_errors("sentencepiece model", [&] {
    const rso::text::SentencePieceTokenizer tokenizer(bytes);
    std::vector<std::int64_t> every_id;
    for (std::int64_t id = 0; id < tokenizer.vocab_size() && id < 4096; ++id) every_id.push_back(id);
    (void)tokenizer.decode(every_id);
    const auto ids = tokenizer.encode("Hello, world: It's not bad at all — naïve café 1234.");
    (void)tokenizer.decode(ids);
  });
  return 0;
}
