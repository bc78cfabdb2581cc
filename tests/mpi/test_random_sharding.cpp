#include <gtest/gtest.h>

#include <boost/mpi/collectives/all_gather.hpp>
#include <boost/serialization/vector.hpp>

#include "mpi_test_env.hpp"
#include "rso/core/random.hpp"

namespace rso {
namespace {

using testing::dist;

std::vector<double> draws_for(std::uint64_t index) {
  RandomStream stream({99, Stage::generate, index, 5});
  return {stream.uniform(), stream.uniform(), stream.normal(), static_cast<double>(stream.below(1000))};
}

// Each rank takes a contiguous range of global indices, as the stages do;
// the gathered draws must equal those of one process doing everything.
TEST(RandomSharding, DrawsAreIndependentOfTheRankCount) {
  const std::uint64_t total = 101;
  const auto size = static_cast<std::uint64_t>(dist().size());
  const auto rank = static_cast<std::uint64_t>(dist().rank());
  const std::uint64_t begin = total * rank / size, end = total * (rank + 1) / size;
  std::vector<double> mine;
  for (std::uint64_t i = begin; i < end; ++i)
    for (double d : draws_for(i)) mine.push_back(d);

  std::vector<std::vector<double>> gathered;
  boost::mpi::all_gather(dist().world(), mine, gathered);
  std::vector<double> joined;
  for (const auto& part : gathered) joined.insert(joined.end(), part.begin(), part.end());

  std::vector<double> single;
  for (std::uint64_t i = 0; i < total; ++i)
    for (double d : draws_for(i)) single.push_back(d);
  EXPECT_EQ(joined, single);  // bitwise: the same numbers, not just close ones
}

}  // namespace
}  // namespace rso
