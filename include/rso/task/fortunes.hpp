// The built-in task's corpus: the quotes of Debian's `fortunes` package
// (files of `%`-separated entries under /usr/share/games/fortunes).
//
// An entry becomes one line of text: attribution lines ("-- Author") are
// dropped, whitespace runs become one space. Entries with control characters
// (overstriking, escape sequences), invalid UTF-8, or a word count outside
// [min_words, max_words] are skipped. Files are read in name order, so the
// list is the same on every machine with the same package version.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace rso::task {

struct QuoteFilter {
  std::size_t min_words = 6;
  std::size_t max_words = 30;
};

// One entry of a fortune file as a line of text, or "" when the filter or
// the character checks reject it.
std::string clean_fortune(const std::string& entry, const QuoteFilter& filter = {});

// Every kept quote of the fortune files in `directory` (not *.dat, *.u8),
// duplicates removed (first occurrence kept). IoError when the directory
// holds no fortune file.
std::vector<std::string> read_fortune_quotes(const std::string& directory, const QuoteFilter& filter = {});

}  // namespace rso::task
