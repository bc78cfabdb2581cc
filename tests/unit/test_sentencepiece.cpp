// rso's SentencePiece reader against the SentencePiece library itself: models
// are trained by the library (through rso-spm) on a corpus made here, and
// every text must get the library's ids and decode to the library's text.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "rso/core/random.hpp"
#include "rso/text/sentencepiece.hpp"
#include "test_helpers.hpp"

namespace rso::text {
namespace {

// A few thousand sentences of invented words: frequent enough pieces to
// learn, some rare characters left to <unk> or byte fallback.
std::string make_corpus() {
  const std::vector<std::string> words = {
      "the", "a", "rejection", "sampling", "policy", "reward", "prompt", "model", "token", "batch", "rank", "gradient",
      "preference", "optimal", "candidate", "sequence", "café", "naïve", "über", "déjà", "vu", "Straße", "年", "日本",
      "は", "ok", "don't", "it's", "I'm", "we'll", "2024", "3.14", "100%", "(x)", "[y]", "—", "ﬁne", "ＡＢＣ", "½"};
  RandomStream stream({11, Stage::test, 1, 0});
  std::string corpus;
  for (int line = 0; line < 3000; ++line) {
    const auto length = 3 + stream.below(12);
    for (std::uint64_t i = 0; i < length; ++i) {
      std::string word = words[stream.below(words.size())];
      if (i == 0 && word[0] >= 'a' && word[0] <= 'z') word[0] = static_cast<char>(word[0] - 'a' + 'A');
      corpus += (i == 0 ? "" : stream.below(20) == 0 ? "  " : " ") + word;
    }
    corpus += stream.below(3) == 0 ? "!\n" : ".\n";
  }
  return corpus;
}

std::vector<std::string> probe_texts() {
  std::vector<std::string> texts = {
      "The rejection sampling policy.",
      "  leading and   inner   spaces  ",
      "Café naïve déjà vu, über Straße!",
      "ﬁne ＡＢＣ ½ — full-width and ligatures (NFKC)",
      "日本は 2024年",
      "unseen: ξ ψ ω 😀 ☃ ∮",
      "<sep> user symbols [X] inside<sep>text",
      "tabs\tand\nnewlines\r\n",
      "",
      " ",
      "x",
      "don't it's we'll I'm 3.14 100%"};
  RandomStream stream({12, Stage::test, 0, 0});
  for (int i = 0; i < 200; ++i) texts.push_back(testing::random_utf8_text(stream, 30));
  return texts;
}

// The library's ids and decoded texts for `texts`, from rso-spm.
std::pair<std::vector<std::vector<std::int64_t>>, std::vector<std::string>> library_transcode(
    const testing::TempDir& dir, const std::string& model, const std::vector<std::string>& texts) {
  const std::string helper = sentencepiece_helper_path();
  std::string input;
  for (const auto& text : texts) input += nlohmann::json(text).dump() + "\n";
  testing::write_text(dir / "texts.jsonl", input);
  const std::string encode = "'" + helper + "' encode '" + model + "' < '" + (dir / "texts.jsonl").string() +
                             "' > '" + (dir / "ids.jsonl").string() + "'";
  EXPECT_EQ(std::system(encode.c_str()), 0) << encode;
  std::vector<std::vector<std::int64_t>> ids;
  std::istringstream id_lines(testing::read_text(dir / "ids.jsonl"));
  for (std::string line; std::getline(id_lines, line);)
    ids.push_back(nlohmann::json::parse(line).get<std::vector<std::int64_t>>());
  const std::string decode = "'" + helper + "' decode '" + model + "' < '" + (dir / "ids.jsonl").string() +
                             "' > '" + (dir / "decoded.jsonl").string() + "'";
  EXPECT_EQ(std::system(decode.c_str()), 0) << decode;
  std::vector<std::string> decoded;
  std::istringstream text_lines(testing::read_text(dir / "decoded.jsonl"));
  for (std::string line; std::getline(text_lines, line);) decoded.push_back(nlohmann::json::parse(line).get<std::string>());
  return {ids, decoded};
}

struct TrainingCase {
  const char* name;
  std::vector<std::pair<std::string, std::string>> flags;
};

void PrintTo(const TrainingCase& training, std::ostream* out) { *out << training.name; }

class SentencePieceAgainstLibrary : public ::testing::TestWithParam<TrainingCase> {};

TEST_P(SentencePieceAgainstLibrary, SameIdsAndSameDecodedText) {
  testing::TempDir dir;
  testing::write_text(dir / "corpus.txt", make_corpus());
  auto flags = GetParam().flags;
  flags.push_back({"num_threads", "1"});
  flags.push_back({"hard_vocab_limit", "false"});
  train_sentencepiece((dir / "corpus.txt").string(), (dir / "m").string(), flags);
  const std::string model = (dir / "m.model").string();
  const auto tokenizer = SentencePieceTokenizer::from_file(model);

  const auto texts = probe_texts();
  const auto [library_ids, library_text] = library_transcode(dir, model, texts);
  ASSERT_EQ(library_ids.size(), texts.size());
  ASSERT_EQ(library_text.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto ids = tokenizer.encode(texts[i]);
    EXPECT_EQ(ids, library_ids[i]) << GetParam().name << ": text " << i << " " << nlohmann::json(texts[i]).dump()
                                   << " normalised " << nlohmann::json(tokenizer.normalize(texts[i])).dump();
    EXPECT_EQ(tokenizer.decode(library_ids[i]), library_text[i]) << GetParam().name << ": text " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, SentencePieceAgainstLibrary,
    ::testing::Values(
        TrainingCase{"unigram", {{"vocab_size", "400"}, {"character_coverage", "0.995"}}},
        TrainingCase{"bpe", {{"vocab_size", "400"}, {"model_type", "bpe"}, {"character_coverage", "0.995"}}},
        TrainingCase{"unigram_bytes_identity",
                     {{"vocab_size", "500"},
                      {"byte_fallback", "true"},
                      {"normalization_rule_name", "identity"},
                      {"user_defined_symbols", "<sep>,[X]"},
                      {"split_digits", "true"}}},
        TrainingCase{"bpe_bytes_spaces_kept",
                     {{"vocab_size", "500"},
                      {"model_type", "bpe"},
                      {"byte_fallback", "true"},
                      {"remove_extra_whitespaces", "false"},
                      {"user_defined_symbols", "<sep>"}}},
        TrainingCase{"unigram_no_dummy_prefix",
                     {{"vocab_size", "300"}, {"add_dummy_prefix", "false"}, {"control_symbols", "<ctl>"}}}),
    [](const ::testing::TestParamInfo<TrainingCase>& info) { return std::string(info.param.name); });

TEST(SentencePiece, ByteFallbackWithoutNormalisationRoundTripsArbitraryUtf8) {
  testing::TempDir dir;
  testing::write_text(dir / "corpus.txt", make_corpus());
  train_sentencepiece((dir / "corpus.txt").string(), (dir / "m").string(),
                      {{"vocab_size", "400"},
                       {"byte_fallback", "true"},
                       {"normalization_rule_name", "identity"},
                       {"remove_extra_whitespaces", "false"},
                       {"num_threads", "1"},
                       {"hard_vocab_limit", "false"}});
  const auto tokenizer = SentencePieceTokenizer::from_file((dir / "m.model").string());
  EXPECT_EQ(tokenizer.bos_id(), 1);
  EXPECT_EQ(tokenizer.eos_id(), 2);
  EXPECT_EQ(tokenizer.unk_id(), 0);
  RandomStream stream({13, Stage::test, 0, 0});
  for (int trial = 0; trial < 300; ++trial) {
    const std::string text = testing::random_utf8_text(stream, 40);
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(text)), text) << "trial " << trial;
  }
}

// The library's multi-threaded trainer can give models that differ in a few
// bytes (piece scores) from run to run; rso trains on one thread unless
// asked, so that the same corpus gives the same file.
TEST(SentencePiece, TrainingIsByteReproducibleOnOneThreadByDefault) {
  testing::TempDir dir;
  testing::write_text(dir / "corpus.txt", make_corpus());
  const std::vector<std::pair<std::string, std::string>> flags = {{"vocab_size", "300"}, {"hard_vocab_limit", "false"}};
  train_sentencepiece((dir / "corpus.txt").string(), (dir / "m").string(), flags);
  const std::string first = testing::read_text(dir / "m.model");
  EXPECT_NE(testing::read_text(dir / "m.train.log").find("num_threads: 1\n"), std::string::npos);
  train_sentencepiece((dir / "corpus.txt").string(), (dir / "m").string(), flags);
  EXPECT_EQ(testing::read_text(dir / "m.model"), first);
  // An explicit request wins.
  train_sentencepiece((dir / "corpus.txt").string(), (dir / "m").string(), {{"vocab_size", "300"}, {"hard_vocab_limit", "false"}, {"num_threads", "2"}});
  EXPECT_NE(testing::read_text(dir / "m.train.log").find("num_threads: 2\n"), std::string::npos);
}

TEST(SentencePiece, MalformedModelsAreDataErrors) {
  testing::TempDir dir;
  testing::write_text(dir / "corpus.txt", make_corpus());
  train_sentencepiece((dir / "corpus.txt").string(), (dir / "m").string(),
                      {{"vocab_size", "300"}, {"num_threads", "1"}, {"hard_vocab_limit", "false"}});
  const std::string bytes = testing::read_text(dir / "m.model");
  ASSERT_NO_THROW(SentencePieceTokenizer{bytes});
  // Every truncation either parses (a shorter but valid message) or is a
  // DataError; none crashes. Flipped bytes likewise.
  for (std::size_t length : {std::size_t{0}, std::size_t{1}, std::size_t{7}, bytes.size() / 3, bytes.size() - 1}) {
    try {
      SentencePieceTokenizer tokenizer(bytes.substr(0, length));
      tokenizer.encode("the policy");
    } catch (const DataError&) {
    }
  }
  RandomStream stream({14, Stage::test, 0, 0});
  for (int trial = 0; trial < 200; ++trial) {
    std::string corrupted = bytes;
    for (int flips = 0; flips < 4; ++flips) corrupted[stream.below(corrupted.size())] = static_cast<char>(stream.next_u32());
    try {
      SentencePieceTokenizer tokenizer(corrupted);
      tokenizer.decode(tokenizer.encode("The rejection sampling policy, naïve ＡＢＣ."));
    } catch (const Error& error) {
      EXPECT_TRUE(error.kind() == ErrorKind::data || error.kind() == ErrorKind::unavailable) << error.message();
    }
  }
  EXPECT_NE(testing::error_message([] { SentencePieceTokenizer{"not a model"}; }, ErrorKind::data)
                .find("SentencePiece model"),
            std::string::npos);
  testing::error_message([] { SentencePieceTokenizer::from_file("/nonexistent/m.model"); }, ErrorKind::io);
  const SentencePieceTokenizer tokenizer(bytes);
  testing::error_message([&] { tokenizer.encode("bad \xC3"); }, ErrorKind::data);
  testing::error_message([&] { tokenizer.decode({tokenizer.vocab_size()}); }, ErrorKind::data);
}

TEST(SentencePiece, TrainingFailuresAreReported) {
  testing::TempDir dir;
  testing::write_text(dir / "corpus.txt", "tiny\n");
  // A vocabulary far larger than the corpus allows (hard limit): the library refuses.
  const std::string message = testing::error_message(
      [&] {
        train_sentencepiece((dir / "corpus.txt").string(), (dir / "m").string(),
                            {{"vocab_size", "5000"}, {"num_threads", "1"}});
      },
      ErrorKind::data);
  EXPECT_NE(message.find("SentencePiece training failed"), std::string::npos) << message;
  testing::error_message([&] { train_sentencepiece((dir / "missing.txt").string(), (dir / "m").string(), {}); },
                         ErrorKind::io);
}

}  // namespace
}  // namespace rso::text
