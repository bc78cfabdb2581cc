#include "rso/text/tokenizer_files.hpp"

#include <ATen/ATen.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "rso/core/error.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/hdf5.hpp"
#include "rso/io/json_file.hpp"
#include "rso/text/gpt2_bpe.hpp"
#include "rso/text/sentencepiece.hpp"

namespace rso::text {

namespace fs = std::filesystem;

namespace {

// Hugging Face tokenizer.json files also describe SentencePiece-style BPE
// (Llama's Metaspace pre-tokeniser); only byte-level BPE is GPT-2's.
void require_byte_level(const std::string& text, const std::string& source) {
  const nlohmann::json json = parse_json_text(text, source);
  const std::string dumped = json.is_object() && json.contains("pre_tokenizer") ? json["pre_tokenizer"].dump() : "";
  if (dumped.find("\"ByteLevel\"") == std::string::npos)
    RSO_THROW(UnavailableError, "'" + source +
                                    "' is not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer); give the "
                                    "SentencePiece tokenizer.model instead");
}

}  // namespace

std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerFiles& tokenizer) {
  auto file = [&](const std::string& name) -> const std::string& {
    const auto it = tokenizer.files.find(name);
    if (it == tokenizer.files.end()) RSO_THROW(DataError, "tokenizer of kind '" + tokenizer.kind + "' lacks " + name);
    return it->second;
  };
  if (tokenizer.kind == "sentencepiece") return std::make_unique<SentencePieceTokenizer>(file("tokenizer.model"));
  if (tokenizer.kind == "gpt2-bpe")
    return std::make_unique<Gpt2Tokenizer>(
        Gpt2Tokenizer::from_texts(file("encoder.json"), file("vocab.bpe"), "encoder.json"));
  if (tokenizer.kind == "tokenizer-json") {
    require_byte_level(file("tokenizer.json"), "tokenizer.json");
    return std::make_unique<Gpt2Tokenizer>(Gpt2Tokenizer::from_tokenizer_json_text(file("tokenizer.json"), "tokenizer.json"));
  }
  RSO_THROW(DataError, "unknown tokenizer kind '" + tokenizer.kind + "'");
}

std::optional<TokenizerFiles> find_tokenizer_files(const std::string& directory) {
  const fs::path dir(directory);
  TokenizerFiles found;
  if (fs::is_regular_file(dir / "tokenizer.model")) {
    found.kind = "sentencepiece";
    found.files["tokenizer.model"] = read_file_bytes((dir / "tokenizer.model").string());
  } else if (fs::is_regular_file(dir / "tokenizer.json")) {
    found.kind = "tokenizer-json";
    found.files["tokenizer.json"] = read_file_bytes((dir / "tokenizer.json").string());
  } else if (fs::is_regular_file(dir / "encoder.json") && fs::is_regular_file(dir / "vocab.bpe")) {
    found.kind = "gpt2-bpe";
    found.files["encoder.json"] = read_file_bytes((dir / "encoder.json").string());
    found.files["vocab.bpe"] = read_file_bytes((dir / "vocab.bpe").string());
  } else {
    return std::nullopt;
  }
  try {
    make_tokenizer(found);
  } catch (const Error& error) {
    throw Error(error.kind(), directory + ": " + error.message(), error.origin());
  }
  return found;
}

TokenizerFiles read_tokenizer_files(const std::string& path) {
  if (fs::is_directory(path)) {
    auto found = find_tokenizer_files(path);
    if (!found)
      RSO_THROW(IoError, "'" + path + "' holds no tokenizer (tokenizer.model, tokenizer.json or encoder.json + vocab.bpe)");
    return *found;
  }
  if (!fs::exists(path)) RSO_THROW(IoError, "tokenizer '" + path + "' does not exist");
  TokenizerFiles tokenizer;
  const std::string name = fs::path(path).filename().string();
  if (fs::path(path).extension() == ".model") {
    tokenizer.kind = "sentencepiece";
    tokenizer.files["tokenizer.model"] = read_file_bytes(path);
  } else if (fs::path(path).extension() == ".json") {
    tokenizer.kind = "tokenizer-json";
    tokenizer.files["tokenizer.json"] = read_file_bytes(path);
  } else {
    RSO_THROW(UsageError, "cannot tell the kind of tokenizer '" + path +
                              "': give a SentencePiece .model, a tokenizer.json or a directory");
  }
  try {
    make_tokenizer(tokenizer);
  } catch (const Error& error) {
    throw Error(error.kind(), "'" + path + "': " + error.message(), error.origin());
  }
  return tokenizer;
}

void write_tokenizer_files(const TokenizerFiles& tokenizer, const std::string& directory) {
  fs::create_directories(directory);
  for (const auto& [name, contents] : tokenizer.files) write_file_atomic((fs::path(directory) / name).string(), contents);
}

void write_tokenizer_group(h5::Group& parent, const std::string& name, const TokenizerFiles& tokenizer) {
  h5::Group group = parent.create_group(name);
  group.set_attribute("kind", tokenizer.kind);
  for (const auto& [file, contents] : tokenizer.files) {
    const at::Tensor bytes =
        at::from_blob(const_cast<char*>(contents.data()), {static_cast<std::int64_t>(contents.size())}, at::kByte);
    group.write_tensor(file, bytes);
  }
}

TokenizerFiles read_tokenizer_group(const h5::Group& parent, const std::string& name) {
  const h5::Group group = parent.open_group(name);
  TokenizerFiles tokenizer;
  tokenizer.kind = group.string_attribute("kind");
  for (const std::string& file : group.children()) {
    const at::Tensor bytes = group.read_tensor(file).contiguous();
    if (bytes.scalar_type() != at::kByte || bytes.dim() != 1)
      RSO_THROW(DataError, group.where() + "/" + file + " is not a one-dimensional uint8 dataset");
    tokenizer.files[file] = std::string(static_cast<const char*>(bytes.data_ptr()), static_cast<std::size_t>(bytes.numel()));
  }
  return tokenizer;
}

}  // namespace rso::text
