#include "rso/text/dictionary.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "rso/core/error.hpp"

namespace rso::text {

namespace {

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string lower(std::string word) {
  std::transform(word.begin(), word.end(), word.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
  return word;
}

}  // namespace

Dictionary Dictionary::from_words(std::string_view newline_separated) {
  Dictionary d;
  std::size_t at = 0;
  while (at < newline_separated.size()) {
    std::size_t end = newline_separated.find('\n', at);
    if (end == std::string_view::npos) end = newline_separated.size();
    std::string word(newline_separated.substr(at, end - at));
    while (!word.empty() && (word.back() == '\r' || word.back() == ' ')) word.pop_back();
    if (!word.empty()) d.words_.insert(lower(std::move(word)));
    at = end + 1;
  }
  return d;
}

Dictionary Dictionary::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RSO_THROW(IoError, "cannot read the word list '" + path + "'");
  std::ostringstream all;
  all << in.rdbuf();
  Dictionary d = from_words(all.str());
  if (d.size() == 0) RSO_THROW(DataError, "the word list '" + path + "' holds no words");
  return d;
}

bool Dictionary::knows(std::string word) const { return words_.count(lower(std::move(word))) > 0; }

Dictionary::WordCount Dictionary::count(std::string_view text) const {
  WordCount c;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_letter(text[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    // Letters, and apostrophes followed by a letter.
    while (end < text.size() && (is_letter(text[end]) || (text[end] == '\'' && end + 1 < text.size() && is_letter(text[end + 1]))))
      ++end;
    ++c.words;
    if (knows(std::string(text.substr(i, end - i)))) ++c.known;
    i = end;
  }
  return c;
}

}  // namespace rso::text
