// A word list (Debian's `wamerican`: /usr/share/dict/words) and how many of a
// text's words it knows: whether a policy writes words or fragments of them.
//
// A word is a run of ASCII letters, with apostrophes inside it ("don't",
// "world's"); words are compared in lower case. Digits and punctuation are
// not words.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>

namespace rso::text {

class Dictionary {
 public:
  // One word per line; an unreadable file is an IoError.
  static Dictionary from_file(const std::string& path);
  static Dictionary from_words(std::string_view newline_separated);

  struct WordCount {
    std::size_t known = 0, words = 0;
  };
  WordCount count(std::string_view text) const;
  bool knows(std::string word) const;
  std::size_t size() const { return words_.size(); }

 private:
  std::unordered_set<std::string> words_;
};

}  // namespace rso::text
