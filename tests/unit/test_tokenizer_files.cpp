// Tokenizers as files: found in directories, stored in checkpoints bitwise,
// written back out unchanged.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "rso/io/hdf5.hpp"
#include "rso/model/checkpoint.hpp"
#include "rso/text/gpt2_bpe.hpp"
#include "rso/text/sentencepiece.hpp"
#include "rso/text/tokenizer_files.hpp"
#include "test_helpers.hpp"

namespace rso::text {
namespace {

// A byte-level BPE vocabulary (every byte + "he", "ll") as GPT-2 files.
void write_gpt2_files(const testing::TempDir& dir) {
  nlohmann::json encoder;
  for (int b = 0; b < 256; ++b) encoder[gpt2_byte_symbols()[static_cast<std::size_t>(b)]] = b;
  encoder["he"] = 256;
  encoder["ll"] = 257;
  encoder["<|endoftext|>"] = 258;
  testing::write_text(dir / "encoder.json", encoder.dump());
  testing::write_text(dir / "vocab.bpe", "#version: 0.2\nh e\nl l\n");
}

TEST(TokenizerFiles, FindsEachKindInADirectory) {
  testing::TempDir dir;
  EXPECT_FALSE(find_tokenizer_files(dir.path().string()).has_value());
  testing::error_message([&] { read_tokenizer_files(dir.path().string()); }, ErrorKind::io);

  write_gpt2_files(dir);
  const auto gpt2 = read_tokenizer_files(dir.path().string());
  EXPECT_EQ(gpt2.kind, "gpt2-bpe");
  const auto tokenizer = make_tokenizer(gpt2);
  EXPECT_EQ(tokenizer->encode("hello"), (std::vector<std::int64_t>{256, 257, 'o'}));
  EXPECT_EQ(tokenizer->eos_id(), 258);

  // A byte-level tokenizer.json is preferred to encoder.json + vocab.bpe.
  nlohmann::json hf = {{"pre_tokenizer", {{"type", "ByteLevel"}}},
                       {"model", {{"type", "BPE"}, {"vocab", nlohmann::json::parse(testing::read_text(dir / "encoder.json"))},
                                  {"merges", {"h e"}}}}};
  testing::write_text(dir / "tokenizer.json", hf.dump());
  const auto from_json = read_tokenizer_files(dir.path().string());
  EXPECT_EQ(from_json.kind, "tokenizer-json");
  EXPECT_EQ(make_tokenizer(from_json)->encode("hello"), (std::vector<std::int64_t>{256, 'l', 'l', 'o'}));

  // Llama-style tokenizer.json (Metaspace, not byte-level) is refused clearly.
  hf["pre_tokenizer"] = {{"type", "Metaspace"}};
  testing::write_text(dir / "tokenizer.json", hf.dump());
  EXPECT_NE(testing::error_message([&] { read_tokenizer_files(dir.path().string()); }, ErrorKind::unavailable)
                .find("not a byte-level BPE tokenizer"),
            std::string::npos);
}

model::TransformerOptions tiny_options(std::int64_t vocab_size) {
  return model::TransformerOptions()
      .vocab_size(vocab_size)
      .hidden_size(16)
      .num_layers(1)
      .num_heads(2)
      .num_kv_heads(1)
      .intermediate_size(32)
      .max_positions(16);
}

TEST(TokenizerFiles, CheckpointsCarryTheFilesBitwise) {
  testing::TempDir dir;
  write_gpt2_files(dir);
  const TokenizerFiles files = read_tokenizer_files(dir.path().string());
  model::Transformer model(tiny_options(300));
  const std::string path = (dir / "model.h5").string();
  model::save_model(model, path, &files);
  const auto stored = model::read_model_tokenizer(path);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->kind, files.kind);
  EXPECT_EQ(stored->files, files.files);
  write_tokenizer_files(*stored, (dir / "out").string());
  EXPECT_EQ(testing::read_text(dir / "out" / "vocab.bpe"), testing::read_text(dir / "vocab.bpe"));
  EXPECT_EQ(testing::read_text(dir / "out" / "encoder.json"), testing::read_text(dir / "encoder.json"));
  // Parameters still load: the tokenizer group is not a parameter.
  EXPECT_NO_THROW(model::load_model(path));

  // A tokenizer with more tokens than the model's vocabulary is refused.
  model::Transformer small(tiny_options(100));
  EXPECT_NE(testing::error_message([&] { model::save_model(small, (dir / "small.h5").string(), &files); },
                                   ErrorKind::data)
                .find("259 tokens"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "small.h5"));

  model::Transformer without(tiny_options(100));
  model::save_model(without, (dir / "plain.h5").string());
  EXPECT_FALSE(model::read_model_tokenizer((dir / "plain.h5").string()).has_value());
}

TEST(TokenizerFiles, UnknownFileKindsAreUsageErrors) {
  testing::TempDir dir;
  testing::write_text(dir / "vocab.txt", "a\nb\n");
  testing::error_message([&] { read_tokenizer_files((dir / "vocab.txt").string()); }, ErrorKind::usage);
  testing::write_text(dir / "broken.model", "\x0a\xff");
  testing::error_message([&] { read_tokenizer_files((dir / "broken.model").string()); }, ErrorKind::data);
}

}  // namespace
}  // namespace rso::text
