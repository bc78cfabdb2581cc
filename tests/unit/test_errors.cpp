#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <new>

#include "rso/core/error.hpp"
#include "rso/dist/guarded_run.hpp"
#include "rso/dist/typed_errors.hpp"

namespace rso {

TEST(Errors, KindsMapToDocumentedExitCodes) {
  EXPECT_EQ(exit_code_for(ErrorKind::usage), 2);
  EXPECT_EQ(exit_code_for(ErrorKind::config), 2);
  EXPECT_EQ(exit_code_for(ErrorKind::data), 3);
  EXPECT_EQ(exit_code_for(ErrorKind::io), 4);
  EXPECT_EQ(exit_code_for(ErrorKind::comm), 5);
  EXPECT_EQ(exit_code_for(ErrorKind::numeric), 6);
  EXPECT_EQ(exit_code_for(ErrorKind::memory), 7);
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

// Libraries' own exceptions become rso's kinds, with plain messages.
template <class F>
Error typed_error_of(F&& raise) {
  try {
    raise();
  } catch (const std::exception& error) {
    return typed_error(error);
  }
  ADD_FAILURE() << "nothing was thrown";
  return InternalError("nothing", __FILE__, __LINE__);
}

TEST(TypedErrors, LibraryExceptionsGetTheirKindAndExitCode) {
  // (boost::mpi::exception needs MPI running: tests/mpi/test_agree.cpp.)
  // A real allocation far beyond any machine: LibTorch's own out-of-memory error.
  const Error memory = typed_error_of([] { at::empty({std::int64_t{1} << 50}, at::kFloat); });
  EXPECT_EQ(memory.kind(), ErrorKind::memory) << memory.message();
  EXPECT_EQ(exit_code_for(memory.kind()), 7);
  EXPECT_NE(memory.message().find("4503599627370496 bytes"), std::string::npos) << memory.message();
  EXPECT_NE(memory.message().find("lower train.micro_batch"), std::string::npos) << memory.message();
  EXPECT_EQ(typed_error_of([] { throw std::bad_alloc(); }).kind(), ErrorKind::memory);

  // Other torch errors are bugs of rso, reported without the C++ backtrace.
  const Error torch = typed_error_of([] { TORCH_CHECK(false, "a broken shape"); });
  EXPECT_EQ(torch.kind(), ErrorKind::internal);
  EXPECT_EQ(torch.message().rfind("torch: ", 0), 0u) << torch.message();
  EXPECT_EQ(torch.message().find('\n'), std::string::npos) << torch.message();

  const Error files = typed_error_of([] { std::filesystem::create_directories("/proc/rso-cannot-be-here"); });
  EXPECT_EQ(files.kind(), ErrorKind::io);
  EXPECT_NE(files.message().find("/proc/rso-cannot-be-here"), std::string::npos) << files.message();

  const Error json = typed_error_of([] { const auto parsed = nlohmann::json::parse("{\"reward\": 1e999}"); (void)parsed; });
  EXPECT_EQ(json.kind(), ErrorKind::data);
  EXPECT_NE(json.message().find("number overflow"), std::string::npos) << json.message();

  const Error own = typed_error_of([] { RSO_THROW(ConfigError, "bad key"); });
  EXPECT_EQ(own.kind(), ErrorKind::config);
  EXPECT_EQ(own.message(), "bad key");
}

}  // namespace rso
