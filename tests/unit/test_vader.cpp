// The gold reward: our VADER port against the npm package vader-sentiment
// 1.1.3's own polarity_scores() (computed with node from the same package,
// whose compound scores are rounded to 4 decimals).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "rso/core/error.hpp"
#include "rso/task/vader.hpp"

namespace rso::task {
namespace {

std::string lexicon_path() { return std::string(RSO_TEST_DATA_DIR) + "/npm/vader-sentiment-1.1.3/vader_lexicon.txt"; }

TEST(Vader, MatchesThePackagesCompoundScores) {
  ASSERT_TRUE(std::filesystem::exists(lexicon_path()))
      << lexicon_path() << " is missing: ./setup.sh fetches it (or run its fetch_data step)";
  const VaderScorer vader = VaderScorer::from_lexicon_file(lexicon_path());
  EXPECT_EQ(vader.lexicon_size(), 7503u);  // 7517 lines, 14 tokens listed twice (the later line wins, as in the package)
  const std::vector<std::pair<std::string, double>> known = {
      {"VADER is smart, handsome, and funny!", 0.8439},
      {"VADER is smart, handsome, and funny.", 0.8316},
      {"VADER is very smart, handsome, and funny.", 0.8545},
      {"VADER is VERY SMART, handsome, and FUNNY.", 0.9227},
      {"VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342},
      {"VADER is not smart, handsome, nor funny.", -0.7424},
      {"The book was good.", 0.4404},
      {"At least it isn't a horrible book.", 0.431},
      {"The book was only kind of good.", 0.3832},
      {"The plot was good, but the characters are uncompelling and the dialog is not great.", -0.7042},
      {"Today SUX!", -0.5461},
      {"Today only kinda sux! But I'll get by, lol", 0.2228},
      {"Make sure you :) or :D today!", 0.8633},
      {"Not bad at all", -0.5423},
      {"the food here is the shit", 0.6124},
      {"never so happy in my life", 0.7572},
      {"I am least happy today", -0.4585},
      {"He was at least kind of nice???", 0.4673},
      {"Love, hate, love, hate, love!?!?", 0.7989},
      {"You can lead a horse to water, but you can't make him drink.", 0},
      {"A fool and his money are soon parted.", -0.4404},
      {"", 0},
      {"neutral words only here", 0},
  };
  for (const auto& [text, expected] : known) EXPECT_NEAR(vader.compound(text), expected, 5e-5) << text;
}

TEST(Vader, CompoundIsTheNormalisedSum) {
  // One word of valence 2: 2 / sqrt(4 + 15); negated: -0.74 * 2.
  const VaderScorer vader({{"good", 2.0}});
  EXPECT_NEAR(vader.compound("good day"), 2.0 / std::sqrt(19.0), 1e-12);
  EXPECT_NEAR(vader.compound("not good"), -1.48 / std::sqrt(1.48 * 1.48 + 15.0), 1e-12);
  EXPECT_NEAR(vader.compound("good!"), 2.292 / std::sqrt(2.292 * 2.292 + 15.0), 1e-12);
  EXPECT_EQ(vader.compound("nothing here"), 0.0);
  EXPECT_EQ(vader.compound(""), 0.0);
}

TEST(Vader, MalformedLexiconsAreDataErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "rso_vader_test";
  std::filesystem::create_directories(dir);
  const std::string bad = (dir / "bad.txt").string();
  std::ofstream(bad) << "good\tvery\t0.5\n";
  EXPECT_THROW(VaderScorer::from_lexicon_file(bad), DataError);
  EXPECT_THROW(VaderScorer::from_lexicon_file((dir / "absent.txt").string()), IoError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rso::task
