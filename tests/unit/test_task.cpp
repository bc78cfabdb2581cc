// The built-in task's pieces: fortune entries into quotes, and the interval
// rso eval reports.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "rso/core/error.hpp"
#include "rso/eval/evaluate.hpp"
#include "rso/task/fortunes.hpp"

namespace rso::task {
namespace {

TEST(Fortunes, EntriesBecomeOneLineWithoutAttribution) {
  const std::string entry =
      "A dream will always triumph over reality,\n  once it is given   the chance.\n\t\t-- Stanislaw Lem\n";
  EXPECT_EQ(clean_fortune(entry), "A dream will always triumph over reality, once it is given the chance.");
  // A dash inside the text is no attribution.
  EXPECT_EQ(clean_fortune("A clash of doctrine is not a disaster -- it is an opportunity.\n"),
            "A clash of doctrine is not a disaster -- it is an opportunity.");
}

TEST(Fortunes, FiltersLengthAndControlCharacters) {
  QuoteFilter filter;
  filter.min_words = 3;
  filter.max_words = 5;
  EXPECT_EQ(clean_fortune("too short\n", filter), "");
  EXPECT_EQ(clean_fortune("one two three four five six\n", filter), "");
  EXPECT_EQ(clean_fortune("one two three\n", filter), "one two three");
  EXPECT_EQ(clean_fortune("bold_\bw_\bo_\br_\bd text here\n", filter), "");  // overstriking
  EXPECT_EQ(clean_fortune("bad \xff byte here\n", filter), "");
}

TEST(Fortunes, ReadsFilesInNameOrderWithoutDuplicates) {
  const auto dir = std::filesystem::temp_directory_path() / "rso_fortunes_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "b") << "second file first quote here\n%\nfirst file first quote here\n";
  std::ofstream(dir / "a") << "first file first quote here\n%\nfirst file second quote\n\t-- Someone\n%\n";
  std::ofstream(dir / "a.dat") << "binary index, not read";
  QuoteFilter filter;
  filter.min_words = 3;
  const std::vector<std::string> quotes = read_fortune_quotes(dir.string(), filter);
  EXPECT_EQ(quotes, (std::vector<std::string>{"first file first quote here", "first file second quote",
                                              "second file first quote here"}));
  EXPECT_THROW(read_fortune_quotes((dir / "absent").string()), IoError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rso::task

namespace rso::eval {
namespace {

TEST(EvalEstimate, MeanAndNormalInterval) {
  // Values 0, 1, 1, 0: mean 0.5, sample sd sqrt(1/3), half-width 1.96 * sd / 2.
  const Estimate e = estimate({0, 1, 1, 0});
  EXPECT_DOUBLE_EQ(e.mean, 0.5);
  EXPECT_NEAR(e.ci95, 1.96 * std::sqrt(1.0 / 3.0) / 2.0, 1e-12);
  EXPECT_EQ(e.n, 4u);
  EXPECT_EQ(estimate({0.7}).ci95, 0.0);
  EXPECT_EQ(estimate({}).n, 0u);
}

}  // namespace
}  // namespace rso::eval
