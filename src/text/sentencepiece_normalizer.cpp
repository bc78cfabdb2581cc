#include "sentencepiece_normalizer.hpp"

#include <cstring>

#include "rso/core/error.hpp"
#include "rso/io/utf8.hpp"

namespace rso::text::detail {

namespace {

// Darts-clone unit layout (darts.h): label in the low byte (plus bit 31 for
// leaves), has_leaf in bit 8, value in the low 31 bits of a leaf unit, and an
// offset in bits 10.. scaled by 2^8 when bit 9 is set.
bool unit_has_leaf(std::uint32_t unit) { return ((unit >> 8) & 1) == 1; }
std::uint32_t unit_value(std::uint32_t unit) { return unit & ((1U << 31) - 1); }
std::uint32_t unit_label(std::uint32_t unit) { return unit & ((1U << 31) | 0xFF); }
std::uint32_t unit_offset(std::uint32_t unit) { return (unit >> 10) << ((unit & (1U << 9)) >> 6); }

const std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

}  // namespace

SentencePieceNormalizer::SentencePieceNormalizer(const SentencePieceModelProto& model,
                                                 std::vector<std::string> user_symbols)
    : user_symbols_(std::move(user_symbols)),
      add_dummy_prefix_(model.add_dummy_prefix),
      remove_extra_whitespaces_(model.remove_extra_whitespaces),
      escape_whitespaces_(model.escape_whitespaces),
      treat_whitespace_as_suffix_(model.treat_whitespace_as_suffix) {
  const std::string& blob = model.precompiled_charsmap;
  if (blob.empty()) return;  // identity normalisation
  // <trie size: uint32 LE><double-array trie><replacement strings>
  if (blob.size() < 4) RSO_THROW(DataError, "SentencePiece model: precompiled_charsmap shorter than its header");
  std::uint32_t trie_bytes = 0;
  for (int i = 0; i < 4; ++i) trie_bytes |= static_cast<std::uint32_t>(static_cast<unsigned char>(blob[i])) << (8 * i);
  if (trie_bytes % 4 != 0 || trie_bytes == 0 || trie_bytes > blob.size() - 4)
    RSO_THROW(DataError, "SentencePiece model: precompiled_charsmap trie size " + std::to_string(trie_bytes) +
                             " does not fit its " + std::to_string(blob.size()) + " bytes");
  trie_.resize(trie_bytes / 4);
  for (std::size_t i = 0; i < trie_.size(); ++i) {
    std::uint32_t unit = 0;
    for (int b = 0; b < 4; ++b)
      unit |= static_cast<std::uint32_t>(static_cast<unsigned char>(blob[4 + 4 * i + b])) << (8 * b);
    trie_[i] = unit;
  }
  pool_ = blob.substr(4 + trie_bytes);
}

std::pair<std::string_view, std::size_t> SentencePieceNormalizer::normalize_prefix(std::string_view input) const {
  // User-defined symbols are copied as they are (longest match).
  std::size_t user_length = 0;
  for (const std::string& symbol : user_symbols_)
    if (symbol.size() > user_length && input.substr(0, symbol.size()) == symbol) user_length = symbol.size();
  if (user_length > 0) return {input.substr(0, user_length), user_length};

  // Longest rule of the trie (Darts-clone commonPrefixSearch).
  std::size_t longest_length = 0;
  std::uint32_t longest_value = 0;
  if (!trie_.empty()) {
    std::size_t node = unit_offset(trie_[0]);
    for (std::size_t i = 0; i < input.size(); ++i) {
      const auto byte = static_cast<unsigned char>(input[i]);
      node ^= byte;
      if (node >= trie_.size()) break;
      const std::uint32_t unit = trie_[node];
      if (unit_label(unit) != byte) break;
      node ^= unit_offset(unit);
      if (node >= trie_.size()) break;
      if (unit_has_leaf(unit)) {
        longest_length = i + 1;
        longest_value = unit_value(trie_[node]);
      }
    }
  }
  if (longest_length > 0) {
    if (longest_value >= pool_.size())
      RSO_THROW(DataError, "SentencePiece model: precompiled_charsmap points outside its string pool");
    const char* start = pool_.data() + longest_value;
    const void* end = std::memchr(start, '\0', pool_.size() - longest_value);
    if (end == nullptr) RSO_THROW(DataError, "SentencePiece model: unterminated string in precompiled_charsmap");
    return {std::string_view(start, static_cast<std::size_t>(static_cast<const char*>(end) - start)), longest_length};
  }
  // No rule: one character as it is; a malformed byte becomes U+FFFD.
  const std::size_t length = std::min(input.size(), one_char_length(static_cast<unsigned char>(input[0])));
  if (!is_valid_utf8(input.substr(0, length))) return {kReplacementCharacter, 1};
  return {input.substr(0, length), length};
}

std::string SentencePieceNormalizer::normalize(std::string_view input) const {
  std::string out;
  out.reserve(input.size() * 3);
  const std::string_view space = escape_whitespaces_ ? kSpaceSymbol : std::string_view(" ");
  if (remove_extra_whitespaces_) {
    while (!input.empty()) {
      const auto [normalized, consumed] = normalize_prefix(input);
      if (normalized != " ") break;
      input.remove_prefix(consumed);
    }
  }
  if (input.empty()) return out;
  if (!treat_whitespace_as_suffix_ && add_dummy_prefix_) out += space;

  bool previous_is_space = remove_extra_whitespaces_;
  while (!input.empty()) {
    auto [normalized, consumed] = normalize_prefix(input);
    // Drops leading spaces of this piece when the previous one ended in a space.
    while (previous_is_space && !normalized.empty() && normalized.front() == ' ') normalized.remove_prefix(1);
    if (!normalized.empty()) {
      for (char c : normalized) {
        if (escape_whitespaces_ && c == ' ')
          out += kSpaceSymbol;
        else
          out += c;
      }
      previous_is_space = normalized.back() == ' ';
    }
    input.remove_prefix(consumed);
    if (!remove_extra_whitespaces_) previous_is_space = false;
  }
  if (remove_extra_whitespaces_) {
    while (out.size() >= space.size() && std::string_view(out).substr(out.size() - space.size()) == space)
      out.resize(out.size() - space.size());
  }
  if (treat_whitespace_as_suffix_ && add_dummy_prefix_) out += space;
  return out;
}

}  // namespace rso::text::detail
