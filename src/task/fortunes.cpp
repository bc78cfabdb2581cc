#include "rso/task/fortunes.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "rso/core/error.hpp"
#include "rso/io/utf8.hpp"

namespace rso::task {

namespace fs = std::filesystem;

namespace {

bool is_attribution(const std::string& line) {
  const std::size_t first = line.find_first_not_of(" \t");
  return first != std::string::npos && line.compare(first, 2, "--") == 0 && first > 0;
}

}  // namespace

std::string clean_fortune(const std::string& entry, const QuoteFilter& filter) {
  std::istringstream lines(entry);
  std::string line, text;
  while (std::getline(lines, line)) {
    if (is_attribution(line)) continue;
    for (const char c : line) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 && c != '\t') return "";  // overstriking, escapes
      if (u == 0x7F) return "";
    }
    text += line + " ";
  }
  // Collapse whitespace.
  std::string out;
  std::size_t words = 0;
  std::istringstream tokens(text);
  std::string word;
  while (tokens >> word) {
    out += (out.empty() ? "" : " ") + word;
    ++words;
  }
  if (words < filter.min_words || words > filter.max_words) return "";
  if (!is_valid_utf8(out)) return "";
  return out;
}

std::vector<std::string> read_fortune_quotes(const std::string& directory, const QuoteFilter& filter) {
  std::vector<fs::path> files;
  if (fs::is_directory(directory))
    for (const auto& entry : fs::directory_iterator(directory)) {
      const std::string extension = entry.path().extension().string();
      if (entry.is_regular_file() && extension != ".dat" && extension != ".u8") files.push_back(entry.path());
    }
  if (files.empty())
    RSO_THROW(IoError, "no fortune files in '" + directory + "' (Debian's 'fortunes' package installs them; "
                       "./setup.sh does)");
  std::sort(files.begin(), files.end());
  std::vector<std::string> quotes;
  std::unordered_set<std::string> seen;
  for (const auto& path : files) {
    std::ifstream in(path);
    if (!in) RSO_THROW(IoError, "cannot read " + path.string());
    std::string line, entry;
    auto finish = [&] {
      std::string quote = clean_fortune(entry, filter);
      if (!quote.empty() && seen.insert(quote).second) quotes.push_back(std::move(quote));
      entry.clear();
    };
    while (std::getline(in, line)) {
      if (line == "%") finish();
      else entry += line + "\n";
    }
    finish();
  }
  return quotes;
}

}  // namespace rso::task
