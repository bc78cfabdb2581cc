// VADER sentiment (Hutto & Gilbert, ICWSM 2014): the gold reward of the
// built-in task.
//
// A port of the npm package vader-sentiment 1.1.3 (the JavaScript port of the
// reference implementation), reading its `vader_lexicon.txt`. The compound
// score of a text:
//
//   1. words: split on whitespace, drop 1-character tokens, strip one leading
//      or trailing punctuation mark from words that have one;
//   2. each lexicon word's valence v (mean human rating, -4..4) is adjusted
//      by the rules of the reference: ALL-CAPS emphasis (±0.733 when some but
//      not all words are capitals), booster and dampener words up to three
//      words before (±0.293, scaled 1, 0.95, 0.9 by distance), negations
//      (×−0.74), "never so/this" (×1.5, ×1.25), "least", idioms, and "but"
//      (×0.5 before it, ×1.5 after); booster words themselves score 0;
//   3. s = Σ v, plus 0.292 per "!" (at most 4) and 0.18 per "?" when there
//      are 2 or 3 (0.96 for more), added away from zero;
//   4. compound = s / √(s² + 15), in (−1, 1); a text without words scores 0.
//
// The tests compare it with the package's own polarity_scores().
#pragma once

#include <string>
#include <unordered_map>

namespace rso::task {

class VaderScorer {
 public:
  // Reads vader_lexicon.txt (token TAB mean TAB ...). IoError / DataError.
  static VaderScorer from_lexicon_file(const std::string& path);
  explicit VaderScorer(std::unordered_map<std::string, double> lexicon) : lexicon_(std::move(lexicon)) {}

  // The compound score in (−1, 1).
  double compound(const std::string& text) const;
  std::size_t lexicon_size() const { return lexicon_.size(); }

 private:
  std::unordered_map<std::string, double> lexicon_;
};

}  // namespace rso::task
