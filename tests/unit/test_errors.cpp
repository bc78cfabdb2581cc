#include <gtest/gtest.h>

#include "rso/core/error.hpp"
#include "rso/dist/guarded_run.hpp"

namespace rso {

TEST(Errors, KindsMapToDocumentedExitCodes) {
  EXPECT_EQ(exit_code_for(ErrorKind::usage), 2);
  EXPECT_EQ(exit_code_for(ErrorKind::config), 2);
  EXPECT_EQ(exit_code_for(ErrorKind::data), 3);
  EXPECT_EQ(exit_code_for(ErrorKind::io), 4);
  EXPECT_EQ(exit_code_for(ErrorKind::comm), 5);
  EXPECT_EQ(exit_code_for(ErrorKind::numeric), 6);
  EXPECT_EQ(exit_code_for(ErrorKind::unavailable), 69);
  EXPECT_EQ(exit_code_for(ErrorKind::internal), 1);
  EXPECT_EQ(exit_code::requeue, 75);
}

TEST(Errors, CarryTheirOriginAndTypedCategory) {
  try {
    RSO_THROW(DataError, "bad record");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::data);
    EXPECT_EQ(e.message(), "bad record");
    EXPECT_EQ(e.origin().rfind("tests/unit/test_errors.cpp:", 0), 0u) << e.origin();
    EXPECT_FALSE(e.on_all_ranks());
  }
}

TEST(Errors, ReportNamesTheRankOnlyForOneRankErrors) {
  DataError local("shard 3 is corrupt", __FILE__, __LINE__);
  EXPECT_EQ(error_report(local, 1, 4), "[rank 1] rso: data error: shard 3 is corrupt");
  EXPECT_EQ(error_report(local, 0, 1), "rso: data error: shard 3 is corrupt");

  ConfigError everywhere("unknown config key 'x'", __FILE__, __LINE__);
  everywhere.mark_on_all_ranks();
  EXPECT_EQ(error_report(everywhere, 0, 4), "rso: config error: unknown config key 'x'");
}

TEST(Errors, InternalErrorsShowWhereTheyWereRaised) {
  try {
    RSO_CHECK(1 + 1 == 3, "arithmetic");
  } catch (const Error& e) {
    const std::string report = error_report(e, 0, 1);
    EXPECT_NE(report.find("internal error: check failed: 1 + 1 == 3: arithmetic"), std::string::npos) << report;
    EXPECT_NE(report.find("[tests/unit/test_errors.cpp:"), std::string::npos) << report;
  }
}

}  // namespace rso
