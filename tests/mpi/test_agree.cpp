#include <boost/mpi/exception.hpp>
#include <gtest/gtest.h>

#include <filesystem>

#include "mpi_test_env.hpp"
#include "rso/core/error.hpp"

namespace rso {
namespace {

using testing::dist;

TEST(Agree, ReturnsTheValueWhenNoRankFails) {
  const int value = dist().agree([] { return dist().rank() * 10; });
  EXPECT_EQ(value, dist().rank() * 10);
}

TEST(Agree, OneFailingRankMakesEveryRankThrowItsError) {
  try {
    dist().agree([] {
      if (dist().rank() == 1) RSO_THROW(DataError, "prompts.jsonl:7: field \"prompt\": missing");
    });
    FAIL() << "agree did not throw on rank " << dist().rank();
  } catch (const Error& e) {
    EXPECT_TRUE(e.on_all_ranks());
    EXPECT_EQ(e.kind(), ErrorKind::data);
    EXPECT_EQ(e.message(), "on 1 of " + std::to_string(dist().size()) +
                               " ranks, first rank 1: prompts.jsonl:7: field \"prompt\": missing");
    EXPECT_EQ(e.origin().rfind("tests/mpi/test_agree.cpp:", 0), 0u) << e.origin();
  }
}

TEST(Agree, TheLowestFailingRankSpeaks) {
  try {
    dist().agree([] {
      if (dist().rank() >= 1) RSO_THROW(IoError, "rank " + std::to_string(dist().rank()) + " cannot write");
    });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(e.message().find("first rank 1: rank 1 cannot write"), std::string::npos) << e.message();
  }
}

TEST(Agree, AnErrorOnEveryRankKeepsItsPlainMessage) {
  try {
    dist().agree([] { RSO_THROW(ConfigError, "unknown config key 'x'"); });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_EQ(e.message(), "unknown config key 'x'");
  }
}

TEST(Agree, ForeignExceptionsBecomeInternalErrors) {
  try {
    dist().agree([] {
      if (dist().rank() == 0) throw std::runtime_error("boom");
    });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::internal);
    EXPECT_NE(e.message().find("boom"), std::string::npos);
  }
}

// A library's exception on one rank reaches every rank as its own kind: a
// failed MPI call is a communication error, a file system one an I/O error.
TEST(Agree, LibraryExceptionsKeepTheirKindOnEveryRank) {
  try {
    dist().agree([] {
      if (dist().rank() == dist().size() - 1) throw boost::mpi::exception("MPI_Allreduce", 15);
    });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::comm);
    EXPECT_NE(e.message().find("MPI call MPI_Allreduce failed"), std::string::npos) << e.message();
  }
  try {
    dist().agree([] {
      if (dist().rank() == 0) std::filesystem::create_directories("/proc/rso-cannot-be-here");
    });
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(e.message().find("/proc/rso-cannot-be-here"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace rso
