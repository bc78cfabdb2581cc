// UTF-8 validation (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rso {

// Offset of the first byte that starts an invalid sequence, or npos when
// `text` is valid UTF-8.
std::size_t find_invalid_utf8(std::string_view text);

inline bool is_valid_utf8(std::string_view text) { return find_invalid_utf8(text) == std::string_view::npos; }

// `text` with each byte that starts an invalid sequence replaced by U+FFFD
// (for display: a sample cut mid-character by a byte-level tokenizer).
std::string replace_invalid_utf8(std::string_view text);

}  // namespace rso
