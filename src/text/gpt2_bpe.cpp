#include "rso/text/gpt2_bpe.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <sstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "rso/core/error.hpp"
#include "rso/io/json_file.hpp"
#include "rso/io/utf8.hpp"

namespace rso::text {

namespace {

std::string utf8_of(std::uint32_t code_point) {
  std::string out;
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
  return out;
}

// Splits UTF-8 text into its code points' byte strings.
std::vector<std::string> utf8_characters(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    out.push_back(text.substr(i, length));
    i += length;
  }
  return out;
}

constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace

const std::vector<std::string>& gpt2_byte_symbols() {
  static const std::vector<std::string> table = [] {
    std::vector<std::string> symbols(256);
    std::vector<bool> printable(256, false);
    for (int b = '!'; b <= '~'; ++b) printable[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
    std::uint32_t next = 256;
    for (int b = 0; b < 256; ++b) symbols[b] = utf8_of(printable[b] ? static_cast<std::uint32_t>(b) : next++);
    return symbols;
  }();
  return table;
}

struct Gpt2Tokenizer::Regex {
  pcre2_code* code = nullptr;
  ~Regex() { pcre2_code_free(code); }
};

Gpt2Tokenizer::Gpt2Tokenizer(std::unordered_map<std::string, std::int64_t> vocab, const std::vector<std::string>& merges)
    : vocab_(std::move(vocab)), regex_(std::make_unique<Regex>()) {
  std::int64_t largest = -1;
  for (const auto& [token, id] : vocab_) {
    if (id < 0) RSO_THROW(DataError, "tokenizer: negative id for token '" + token + "'");
    largest = std::max(largest, id);
  }
  // Ids index a table: a stray huge id (1e11) would ask for terabytes. Real
  // vocabularies number their tokens nearly densely; allow holes, not that.
  const auto entries = static_cast<std::int64_t>(vocab_.size());
  if (largest >= 2 * entries + 1024)
    RSO_THROW(DataError, "tokenizer: id " + std::to_string(largest) + " is far beyond the vocabulary's " +
                             std::to_string(entries) + " tokens (ids must number the tokens from 0, nearly without gaps)");
  id_to_token_.assign(static_cast<std::size_t>(largest + 1), std::string());
  for (const auto& [token, id] : vocab_) id_to_token_[static_cast<std::size_t>(id)] = token;
  if (const auto it = vocab_.find("<|endoftext|>"); it != vocab_.end()) end_of_text_id_ = it->second;
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto space = merges[rank].find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == merges[rank].size())
      RSO_THROW(DataError, "tokenizer: merge " + std::to_string(rank + 1) + " '" + merges[rank] + "' is not 'left right'");
    merge_rank_.emplace(std::make_pair(merges[rank].substr(0, space), merges[rank].substr(space + 1)), rank);
  }
  int error = 0;
  PCRE2_SIZE offset = 0;
  regex_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern), PCRE2_ZERO_TERMINATED,
                               PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (!regex_->code) RSO_THROW(InternalError, "GPT-2 pre-tokenisation pattern does not compile");
}

Gpt2Tokenizer::~Gpt2Tokenizer() = default;
Gpt2Tokenizer::Gpt2Tokenizer(Gpt2Tokenizer&&) noexcept = default;

std::vector<std::string> Gpt2Tokenizer::bpe(const std::string& piece) const {
  std::vector<std::string> symbols = utf8_characters(piece);
  while (symbols.size() > 1) {
    // The adjacent pair with the lowest merge rank, merged everywhere it occurs.
    std::size_t best_rank = std::numeric_limits<std::size_t>::max();
    std::pair<std::string, std::string> best;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
      const auto it = merge_rank_.find({symbols[i], symbols[i + 1]});
      if (it != merge_rank_.end() && it->second < best_rank) best_rank = it->second, best = it->first;
    }
    if (best_rank == std::numeric_limits<std::size_t>::max()) break;
    std::vector<std::string> merged;
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size() && symbols[i] == best.first && symbols[i + 1] == best.second) {
        merged.push_back(symbols[i] + symbols[i + 1]);
        ++i;
      } else {
        merged.push_back(symbols[i]);
      }
    }
    symbols = std::move(merged);
  }
  return symbols;
}

std::vector<std::int64_t> Gpt2Tokenizer::encode(std::string_view text) const {
  const std::size_t bad = find_invalid_utf8(text);
  if (bad != std::string_view::npos)
    RSO_THROW(DataError, "cannot tokenize: invalid UTF-8 at byte " + std::to_string(bad + 1));
  std::vector<std::int64_t> ids;
  pcre2_match_data* match = pcre2_match_data_create_from_pattern(regex_->code, nullptr);
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> guard(match, pcre2_match_data_free);
  const auto& byte_symbols = gpt2_byte_symbols();
  PCRE2_SIZE start = 0;
  while (start < text.size()) {
    const int rc = pcre2_match(regex_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start, 0, match,
                               nullptr);
    if (rc < 0) break;  // the pattern matches every character, so this ends the text
    const PCRE2_SIZE* span = pcre2_get_ovector_pointer(match);
    std::string mapped;
    for (PCRE2_SIZE i = span[0]; i < span[1]; ++i) mapped += byte_symbols[static_cast<unsigned char>(text[i])];
    for (const auto& symbol : bpe(mapped)) {
      const auto it = vocab_.find(symbol);
      if (it == vocab_.end()) RSO_THROW(DataError, "tokenizer: '" + symbol + "' is not in the vocabulary");
      ids.push_back(it->second);
    }
    start = span[1] > span[0] ? span[1] : span[1] + 1;
  }
  return ids;
}

std::string Gpt2Tokenizer::decode(const std::vector<std::int64_t>& ids) const {
  static const std::unordered_map<std::string, unsigned char> symbol_to_byte = [] {
    std::unordered_map<std::string, unsigned char> map;
    const auto& symbols = gpt2_byte_symbols();
    for (int b = 0; b < 256; ++b) map[symbols[static_cast<std::size_t>(b)]] = static_cast<unsigned char>(b);
    return map;
  }();
  std::string out;
  for (std::int64_t id : ids) {
    if (id < 0 || id >= vocab_size()) RSO_THROW(DataError, "tokenizer: id " + std::to_string(id) + " out of range");
    for (const auto& character : utf8_characters(id_to_token_[static_cast<std::size_t>(id)])) {
      const auto it = symbol_to_byte.find(character);
      if (it == symbol_to_byte.end()) RSO_THROW(DataError, "tokenizer: token " + std::to_string(id) + " is not byte-level");
      out += static_cast<char>(it->second);
    }
  }
  return out;
}

namespace {
// {"token": id, ...} with a clear error for anything else.
std::unordered_map<std::string, std::int64_t> vocab_from_json(const nlohmann::json& json, const std::string& path) {
  if (!json.is_object()) RSO_THROW(DataError, "'" + path + "': the vocabulary is not a JSON object");
  std::unordered_map<std::string, std::int64_t> vocab;
  for (const auto& [token, id] : json.items()) {
    if (!id.is_number_integer()) RSO_THROW(DataError, "'" + path + "': token '" + token + "' has no integer id");
    vocab[token] = id.get<std::int64_t>();
  }
  return vocab;
}
}  // namespace

Gpt2Tokenizer Gpt2Tokenizer::from_texts(const std::string& encoder_json, const std::string& vocab_bpe,
                                        const std::string& encoder_source) {
  std::unordered_map<std::string, std::int64_t> vocab =
      vocab_from_json(parse_json_text(encoder_json, encoder_source), encoder_source);
  std::istringstream merges_in(vocab_bpe);
  std::vector<std::string> merges;
  for (std::string line; std::getline(merges_in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    merges.push_back(line);
  }
  return Gpt2Tokenizer(std::move(vocab), merges);
}

Gpt2Tokenizer Gpt2Tokenizer::from_files(const std::string& encoder_json, const std::string& vocab_bpe) {
  return from_texts(read_file_bytes(encoder_json), read_file_bytes(vocab_bpe), encoder_json);
}

Gpt2Tokenizer Gpt2Tokenizer::from_tokenizer_json_text(const std::string& text, const std::string& source) {
  const nlohmann::json json = parse_json_text(text, source);
  // value("type", "") would throw nlohmann's type_error on a non-string type
  // (found by fuzz_gpt2_tokenizer): test the type first.
  if (!json.is_object() || !json.contains("model") || !json["model"].is_object() ||
      !json["model"].contains("type") || json["model"]["type"] != "BPE")
    RSO_THROW(DataError, "'" + source + "' has no BPE model");
  if (!json["model"].contains("vocab") || !json["model"].contains("merges") || !json["model"]["merges"].is_array())
    RSO_THROW(DataError, "'" + source + "': the BPE model needs \"vocab\" and a \"merges\" array");
  std::unordered_map<std::string, std::int64_t> vocab = vocab_from_json(json["model"]["vocab"], source);
  std::vector<std::string> merges;
  for (const auto& merge : json["model"]["merges"]) {
    // Older files hold "left right", newer ones ["left", "right"].
    if (merge.is_string()) {
      merges.push_back(merge.get<std::string>());
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
    } else {
      RSO_THROW(DataError, "'" + source + "': merge " + std::to_string(merges.size() + 1) +
                               " is neither \"left right\" nor [\"left\", \"right\"]");
    }
  }
  // Special tokens ("added_tokens") live outside the BPE vocabulary.
  if (json.contains("added_tokens") && json["added_tokens"].is_array()) {
    for (const auto& added : json["added_tokens"]) {
      if (!added.is_object() || !added.contains("id") || !added["id"].is_number_integer() ||
          !added.contains("content") || !added["content"].is_string())
        RSO_THROW(DataError, "'" + source + "': an entry of \"added_tokens\" lacks an integer id or its content");
      vocab.emplace(added["content"].get<std::string>(), added["id"].get<std::int64_t>());
    }
  }
  return Gpt2Tokenizer(std::move(vocab), merges);
}

Gpt2Tokenizer Gpt2Tokenizer::from_tokenizer_json(const std::string& tokenizer_json) {
  return from_tokenizer_json_text(read_file_bytes(tokenizer_json), tokenizer_json);
}

}  // namespace rso::text
