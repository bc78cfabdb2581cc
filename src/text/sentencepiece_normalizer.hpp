// SentencePiece's text normaliser: the precompiled character map (a
// Darts-clone double-array trie over UTF-8 prefixes plus a pool of
// replacement strings), whitespace handling and escaping to U+2581.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rso/text/sentencepiece.hpp"

namespace rso::text::detail {

inline constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581

// Byte length of the UTF-8 character starting with `lead` (1 for stray bytes),
// SentencePiece's OneCharLen.
inline std::size_t one_char_length(unsigned char lead) {
  return "\1\1\1\1\1\1\1\1\1\1\1\1\2\2\3\4"[lead >> 4];
}

class SentencePieceNormalizer {
 public:
  // `user_symbols` pass through unnormalised, as in SentencePiece.
  SentencePieceNormalizer(const SentencePieceModelProto& model, std::vector<std::string> user_symbols);

  std::string normalize(std::string_view input) const;

 private:
  // The normalised form of the longest rule matching a prefix of `input`, and
  // how many input bytes it consumes.
  std::pair<std::string_view, std::size_t> normalize_prefix(std::string_view input) const;

  std::vector<std::uint32_t> trie_;
  std::string pool_;  // NUL-terminated replacement strings
  std::vector<std::string> user_symbols_;
  bool add_dummy_prefix_, remove_extra_whitespaces_, escape_whitespaces_, treat_whitespace_as_suffix_;
};

}  // namespace rso::text::detail
