#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "rso/io/safetensors.hpp"
#include "rso/model/hf_format.hpp"
#include "test_helpers.hpp"

namespace rso {
namespace {

using testing::error_message;
using testing::TempDir;

bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  // An empty tensor's data pointer may be null, which memcmp must not get.
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() &&
         (a.numel() == 0 || std::memcmp(a.contiguous().data_ptr(), b.contiguous().data_ptr(),
                     static_cast<std::size_t>(a.numel()) * a.element_size()) == 0);
}

TEST(Safetensors, RoundTripIsBitwise) {
  TempDir dir;
  at::manual_seed(1);
  const std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"b.weight", at::randn({3, 5}).to(at::kBFloat16)},
      {"a.bias", at::randn({7})},
      {"c.ids", at::arange(6, at::kLong).reshape({2, 3})},
      {"d.half", at::randn({2, 2}).to(at::kHalf)},
      {"e.empty", at::empty({0, 4})},
      {"f.scalar", at::tensor(2.5, at::kDouble)},
      {"g.mask", at::arange(3, at::kLong).remainder(2).eq(0)}};
  const std::string path = (dir / "t.safetensors").string();
  write_safetensors(path, tensors, {{"format", "pt"}});
  const SafetensorsHeader header = read_safetensors_header(path);
  EXPECT_EQ(header.metadata.at("format"), "pt");
  EXPECT_EQ(header.data_start % 8, 0u);
  const auto read = read_safetensors(path);
  ASSERT_EQ(read.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    const auto it = std::find_if(read.begin(), read.end(), [&, &wanted = name](const auto& item) { return item.first == wanted; });
    ASSERT_NE(it, read.end()) << name;
    EXPECT_TRUE(same_bits(it->second, tensor)) << name;
  }
}

// A file with the given header text and data bytes.
std::string craft(const TempDir& dir, const std::string& header, std::size_t data_bytes, std::uint64_t claimed_size = 0) {
  const std::string path = (dir / "crafted.safetensors").string();
  std::string bytes(8, '\0');
  const std::uint64_t size = claimed_size ? claimed_size : header.size();
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>(size >> (8 * i));
  bytes += header;
  bytes += std::string(data_bytes, '\x01');
  testing::write_text(path, bytes);
  return path;
}

TEST(Safetensors, MalformedHeadersAreRejectedWithAClearError) {
  TempDir dir;
  const std::string good = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_NO_THROW(read_safetensors_header(craft(dir, good, 8)));
  struct Case {
    std::string header;
    std::size_t data;
    std::uint64_t claimed;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {good, 8, 1ULL << 60, "exceeds the limit"},
      {good, 8, 5000, "runs past the end"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", 8, 0, "not valid JSON"},
      {R"([1, 2])", 0, 0, "not a JSON object"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4, 0, "reach past the 4-byte data buffer"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12, 0, "overlaps"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8, 0, "belong to no tensor"},
      {R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, 0, "needs 12"},
      {R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}})", 8, 0, "absurdly large"},
      {R"({"a":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})", 8, 0, "unsupported dtype"},
      {R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8, 0, "negative"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8, 0, "run backwards"},
      {R"({"a":{"dtype":"F32","shape":[2]}})", 8, 0, "needs dtype, shape and data_offsets"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 12, 0, "4 bytes after the last tensor"},
  };
  for (const Case& c : cases) {
    const std::string path = craft(dir, c.header, c.data, c.claimed);
    const std::string message = error_message([&] { read_safetensors(path); }, ErrorKind::data);
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.header << "\n -> " << message;
    EXPECT_NE(message.find("malformed safetensors file"), std::string::npos) << message;
  }
  testing::write_text(dir / "short.safetensors", "abc");
  EXPECT_NE(error_message([&] { read_safetensors_header((dir / "short.safetensors").string()); }, ErrorKind::data)
                .find("shorter than"),
            std::string::npos);
}

model::Transformer small_llama(bool tied, c10::ScalarType dtype) {
  at::manual_seed(9);
  model::Transformer model(model::TransformerOptions()
                               .vocab_size(37)
                               .hidden_size(16)
                               .num_layers(2)
                               .num_heads(4)
                               .num_kv_heads(2)
                               .intermediate_size(24)
                               .max_positions(32)
                               .rope_theta(1e4)
                               .rms_norm_eps(1e-6)
                               .tie_embeddings(tied));
  model->to(dtype);
  return model;
}

void expect_same_parameters(model::Transformer& a, model::Transformer& b) {
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) EXPECT_TRUE(same_bits(item.value(), pb[item.key()])) << item.key();
}

TEST(HuggingFaceFormat, ExportThenImportIsBitwise) {
  TempDir dir;
  for (auto [tied, dtype] : {std::pair{false, at::kFloat}, std::pair{true, at::kBFloat16}}) {
    model::Transformer model = small_llama(tied, dtype);
    model::export_hf(model, (dir / "hf").string());
    const nlohmann::json config = nlohmann::json::parse(testing::read_text(dir / "hf" / "config.json"));
    EXPECT_EQ(config["num_key_value_heads"], 2);
    EXPECT_EQ(config["tie_word_embeddings"], tied);
    model::Transformer imported = model::import_hf((dir / "hf").string());
    EXPECT_EQ(imported->options().num_kv_heads(), 2);
    EXPECT_EQ(imported->options().tie_embeddings(), tied);
    EXPECT_EQ(imported->options().rms_norm_eps(), 1e-6);
    expect_same_parameters(model, imported);
  }
}

TEST(HuggingFaceFormat, ShardedCheckpointsLoadThroughTheirIndex) {
  TempDir dir;
  model::Transformer model = small_llama(false, at::kFloat);
  model::export_hf(model, (dir / "single").string());
  std::filesystem::create_directories(dir / "sharded");
  std::filesystem::copy(dir / "single" / "config.json", dir / "sharded" / "config.json");
  std::vector<std::pair<std::string, at::Tensor>> first, second;
  nlohmann::json index;
  for (const auto& item : model->named_parameters()) {
    const bool in_first = item.key().find("layers.1.") == std::string::npos;
    (in_first ? first : second).emplace_back(item.key(), item.value());
    index["weight_map"][item.key()] = in_first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  write_safetensors((dir / "sharded" / "model-00001-of-00002.safetensors").string(), first);
  write_safetensors((dir / "sharded" / "model-00002-of-00002.safetensors").string(), second);
  testing::write_text(dir / "sharded" / "model.safetensors.index.json", index.dump());
  model::Transformer imported = model::import_hf((dir / "sharded").string());
  expect_same_parameters(model, imported);

  // Drop one shard's tensor: the import names what is missing.
  second.pop_back();
  write_safetensors((dir / "sharded" / "model-00002-of-00002.safetensors").string(), second);
  const std::string message = error_message([&] { model::import_hf((dir / "sharded").string()); }, ErrorKind::data);
  EXPECT_NE(message.find("missing model.layers.1."), std::string::npos) << message;
}

TEST(HuggingFaceFormat, UnsupportedConfigsAreRefused) {
  TempDir dir;
  std::filesystem::create_directories(dir / "m");
  testing::write_text(dir / "m" / "config.json",
                      R"({"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
                          "intermediate_size": 4, "hidden_act": "gelu"})");
  EXPECT_NE(error_message([&] { model::import_hf((dir / "m").string()); }, ErrorKind::data).find("hidden_act"),
            std::string::npos);
  testing::write_text(dir / "m" / "config.json", R"({"vocab_size": 10})");
  EXPECT_NE(error_message([&] { model::import_hf((dir / "m").string()); }, ErrorKind::data)
                .find("missing \"hidden_size\""),
            std::string::npos);
}

// Zero, fractional or absurd sizes are data errors naming the field, before
// any arithmetic on them (no division by zero heads, no terabyte tables).
TEST(HuggingFaceFormat, AbsurdSizesAreRefusedByName) {
  TempDir dir;
  std::filesystem::create_directories(dir / "m");
  const std::string base = R"("vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "intermediate_size": 4)";
  auto message_for = [&](const std::string& extra) {
    testing::write_text(dir / "m" / "config.json", "{" + base + ", " + extra + "}");
    return error_message([&] { model::read_hf_config((dir / "m").string()); }, ErrorKind::data);
  };
  std::string message = message_for(R"("num_attention_heads": 0, "head_dim": 4)");
  EXPECT_NE(message.find("must be > 0"), std::string::npos) << message;
  message = message_for(R"("num_attention_heads": 2, "max_position_embeddings": 1e11)");
  EXPECT_NE(message.find("\"max_position_embeddings\" = 100000000000.0 is not an integer"), std::string::npos)
      << message;
  message = message_for(R"("num_attention_heads": 2, "max_position_embeddings": 100000000000)");
  EXPECT_NE(message.find("max_positions = 100000000000 exceeds"), std::string::npos) << message;
  message = message_for(R"("num_attention_heads": 2.5)");
  EXPECT_NE(message.find("\"num_attention_heads\" = 2.5 is not an integer"), std::string::npos) << message;
}

}  // namespace
}  // namespace rso
