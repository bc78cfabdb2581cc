#include "rso/task/vader.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <unordered_set>
#include <vector>

#include "rso/core/error.hpp"

namespace rso::task {

namespace {

constexpr double kBoosterIncrement = 0.293;
constexpr double kCapsIncrement = 0.733;
constexpr double kNegationScalar = -0.74;

const std::vector<std::string>& punctuation_marks() {
  static const std::vector<std::string> marks = {".",  "!",   "?",   ",",   ";",   ":",    "-",    "'",   "\"",
                                                 "!!", "!!!", "??",  "???", "?!?", "!?!",  "?!?!", "!?!?"};
  return marks;
}

const std::unordered_set<std::string>& negations() {
  static const std::unordered_set<std::string> words = {
      "aint",    "arent",    "cannot",  "cant",    "couldnt", "darent",  "didnt",   "doesnt",  "ain't",
      "aren't",  "can't",    "couldn't", "daren't", "didn't", "doesn't", "dont",    "hadnt",   "hasnt",
      "havent",  "isnt",     "mightnt", "mustnt",  "neither", "don't",   "hadn't",  "hasn't",  "haven't",
      "isn't",   "mightn't", "mustn't", "neednt",  "needn't", "never",   "none",    "nope",    "nor",
      "not",     "nothing",  "nowhere", "oughtnt", "shant",   "shouldnt", "uhuh",   "wasnt",   "werent",
      "oughtn't", "shan't",  "shouldn't", "uh-uh", "wasn't",  "weren't", "without", "wont",    "wouldnt",
      "won't",   "wouldn't", "rarely",  "seldom",  "despite"};
  return words;
}

const std::unordered_map<std::string, double>& boosters() {
  static const std::unordered_map<std::string, double> words = [] {
    std::unordered_map<std::string, double> b;
    for (const char* w : {"absolutely", "amazingly", "awfully", "completely", "considerably", "decidedly", "deeply",
                          "effing", "enormously", "entirely", "especially", "exceptionally", "extremely",
                          "fabulously", "flipping", "flippin", "fricking", "frickin", "frigging", "friggin", "fully",
                          "fucking", "greatly", "hella", "highly", "hugely", "incredibly", "intensely", "majorly",
                          "more", "most", "particularly", "purely", "quite", "really", "remarkably", "so",
                          "substantially", "thoroughly", "totally", "tremendously", "uber", "unbelievably",
                          "unusually", "utterly", "very"})
      b[w] = kBoosterIncrement;
    for (const char* w : {"almost", "barely", "hardly", "just enough", "kind of", "kinda", "kindof", "kind-of", "less",
                          "little", "marginally", "occasionally", "partly", "scarcely", "slightly", "somewhat",
                          "sort of", "sorta", "sortof", "sort-of"})
      b[w] = -kBoosterIncrement;
    return b;
  }();
  return words;
}

const std::unordered_map<std::string, double>& idioms() {
  static const std::unordered_map<std::string, double> phrases = {
      {"the shit", 3},         {"the bomb", 3},          {"bad ass", 1.5},     {"yeah right", -2},
      {"cut the mustard", 2},  {"kiss of death", -1.5},  {"hand to mouth", -2}};
  return phrases;
}

bool is_punctuation(unsigned char c) {
  static const std::string marks = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  return marks.find(static_cast<char>(c)) != std::string::npos;
}

// JavaScript's /\s/ for the text rso handles (ASCII whitespace and NBSP-free UTF-8).
bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::vector<std::string> split_on_space(const std::string& text) {
  std::vector<std::string> parts(1);
  for (const unsigned char c : text) {
    if (is_space(c)) parts.emplace_back();
    else parts.back() += static_cast<char>(c);
  }
  return parts;
}

// Length in characters (UTF-8 code points), as JavaScript counts a BMP string.
std::size_t characters(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Python's str.isupper() as the reference implements it: capitals and no small letters.
bool is_upper(const std::string& word) {
  bool capital = false;
  for (const char c : word) {
    if (c >= 'a' && c <= 'z') return false;
    capital = capital || (c >= 'A' && c <= 'Z');
  }
  return capital;
}

bool negated(const std::string& word) {
  return negations().count(word) > 0 || word.find("n't") != std::string::npos;
}

// Step 1: words and emoticons, with one punctuation mark stripped from words.
std::vector<std::string> words_and_emoticons(const std::string& text) {
  std::string no_punctuation;
  for (const unsigned char c : text)
    if (!is_punctuation(c)) no_punctuation += static_cast<char>(c);
  std::unordered_map<std::string, std::string> stripped;
  std::vector<std::string> words_only;
  for (const auto& w : split_on_space(no_punctuation))
    if (characters(w) > 1) words_only.push_back(w);
  for (const auto& mark : punctuation_marks())
    for (const auto& w : words_only) {
      stripped[mark + w] = w;
      stripped[w + mark] = w;
    }
  std::vector<std::string> out;
  for (const auto& token : split_on_space(text)) {
    if (characters(token) <= 1) continue;
    const auto found = stripped.find(token);
    out.push_back(found != stripped.end() ? found->second : token);
  }
  return out;
}

double scalar_inc_dec(const std::string& word, double valence, bool caps_differ) {
  const auto found = boosters().find(lower(word));
  if (found == boosters().end()) return 0.0;
  double scalar = found->second;
  if (valence < 0) scalar = -scalar;
  if (caps_differ && is_upper(word)) scalar += valence > 0 ? kCapsIncrement : -kCapsIncrement;
  return scalar;
}

double never_check(double valence, const std::vector<std::string>& w, int start, std::size_t i) {
  auto so_or_this = [](const std::string& s) { return s == "so" || s == "this"; };
  if (start == 0) {
    if (negated(w[i - 1])) valence *= kNegationScalar;
  } else if (start == 1) {
    if (w[i - 2] == "never" && so_or_this(w[i - 1])) valence *= 1.5;
    else if (negated(w[i - 2])) valence *= kNegationScalar;
  } else {
    if ((w[i - 3] == "never" && so_or_this(w[i - 2])) || so_or_this(w[i - 1])) valence *= 1.25;
    else if (negated(w[i - 3])) valence *= kNegationScalar;
  }
  return valence;
}

double idioms_check(double valence, const std::vector<std::string>& w, std::size_t i) {
  const std::string onezero = w[i - 1] + " " + w[i];
  const std::string twoonezero = w[i - 2] + " " + w[i - 1] + " " + w[i];
  const std::string twoone = w[i - 2] + " " + w[i - 1];
  const std::string threetwoone = w[i - 3] + " " + w[i - 2] + " " + w[i - 1];
  const std::string threetwo = w[i - 3] + " " + w[i - 2];
  for (const auto* sequence : {&onezero, &twoonezero, &twoone, &threetwoone, &threetwo}) {
    const auto found = idioms().find(*sequence);
    if (found != idioms().end()) {
      valence = found->second;
      break;
    }
  }
  if (w.size() - 1 > i) {
    const auto found = idioms().find(w[i] + " " + w[i + 1]);
    if (found != idioms().end()) valence = found->second;
  }
  if (w.size() - 1 > i + 1) {
    const auto found = idioms().find(w[i] + " " + w[i + 1] + " " + w[i + 2]);
    if (found != idioms().end()) valence = found->second;
  }
  if (boosters().count(threetwo) > 0 || boosters().count(twoone) > 0) valence -= kBoosterIncrement;
  return valence;
}

}  // namespace

VaderScorer VaderScorer::from_lexicon_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) RSO_THROW(IoError, "cannot read the VADER lexicon '" + path + "'");
  std::unordered_map<std::string, double> lexicon;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const std::size_t tab = line.find('\t');
    const std::size_t tab2 = tab == std::string::npos ? tab : line.find('\t', tab + 1);
    if (tab == std::string::npos || tab == 0)
      RSO_THROW(DataError, path + ":" + std::to_string(number) + ": expected 'token<TAB>mean<TAB>...'");
    const std::string value = line.substr(tab + 1, tab2 == std::string::npos ? std::string::npos : tab2 - tab - 1);
    char* end = nullptr;
    const double mean = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || !std::isfinite(mean))
      RSO_THROW(DataError, path + ":" + std::to_string(number) + ": '" + value + "' is not a number");
    lexicon[line.substr(0, tab)] = mean;
  }
  if (lexicon.empty()) RSO_THROW(DataError, "the VADER lexicon '" + path + "' is empty");
  return VaderScorer(std::move(lexicon));
}

double VaderScorer::compound(const std::string& text) const {
  const std::vector<std::string> w = words_and_emoticons(text);
  std::size_t capitals = 0;
  for (const auto& word : w) capitals += is_upper(word) ? 1 : 0;
  const bool caps_differ = capitals > 0 && capitals < w.size();
  auto in_lexicon = [&](const std::string& word) { return lexicon_.count(lower(word)) > 0; };

  std::vector<double> sentiments;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const std::string item = lower(w[i]);
    if ((i + 1 < w.size() && item == "kind" && lower(w[i + 1]) == "of") || boosters().count(item) > 0) {
      sentiments.push_back(0.0);
      continue;
    }
    double valence = 0.0;
    const auto found = lexicon_.find(item);
    if (found != lexicon_.end()) {
      valence = found->second;
      if (is_upper(w[i]) && caps_differ) valence += valence > 0 ? kCapsIncrement : -kCapsIncrement;
      for (int start = 0; start < 3; ++start) {
        const auto back = static_cast<std::size_t>(start + 1);
        if (i > static_cast<std::size_t>(start) && !in_lexicon(w[i - back])) {
          double s = scalar_inc_dec(w[i - back], valence, caps_differ);
          if (start == 1 && s != 0) s *= 0.95;
          else if (start == 2 && s != 0) s *= 0.9;
          valence += s;
          valence = never_check(valence, w, start, i);
          if (start == 2) valence = idioms_check(valence, w, i);
        }
      }
      // "least" before the word negates it, except in "at least" / "very least".
      if (i > 1 && lower(w[i - 1]) == "least" && !in_lexicon(w[i - 1])) {
        if (lower(w[i - 2]) != "at" && lower(w[i - 2]) != "very") valence *= kNegationScalar;
      } else if (i > 0 && lower(w[i - 1]) == "least" && !in_lexicon(w[i - 1])) {
        valence *= kNegationScalar;
      }
    }
    sentiments.push_back(valence);
  }
  // "but": what comes after it weighs more.
  auto but = std::find(w.begin(), w.end(), "but");
  if (but == w.end()) but = std::find(w.begin(), w.end(), "BUT");
  if (but != w.end()) {
    const auto at = static_cast<std::size_t>(but - w.begin());
    for (std::size_t i = 0; i < sentiments.size(); ++i) {
      if (i < at) sentiments[i] *= 0.5;
      else if (i > at) sentiments[i] *= 1.5;
    }
  }
  if (sentiments.empty()) return 0.0;
  double sum = 0.0;
  for (const double s : sentiments) sum += s;
  const auto exclamations = std::min<std::ptrdiff_t>(4, std::count(text.begin(), text.end(), '!'));
  const auto questions = std::count(text.begin(), text.end(), '?');
  double emphasis = 0.292 * static_cast<double>(exclamations);
  if (questions > 1) emphasis += questions <= 3 ? 0.18 * static_cast<double>(questions) : 0.96;
  if (sum > 0) sum += emphasis;
  else if (sum < 0) sum -= emphasis;
  return std::clamp(sum / std::sqrt(sum * sum + 15.0), -1.0, 1.0);
}

}  // namespace rso::task
