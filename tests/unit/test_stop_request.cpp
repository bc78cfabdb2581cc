// The stop handlers and the exit-code file the job scripts read. Signals are
// raised in forked children, so that this process keeps its own handlers.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include "rso/core/stop_request.hpp"
#include "rso/dist/exit_code_file.hpp"
#include "rso/dist/io_stall_detector.hpp"
#include "test_helpers.hpp"

namespace rso {
namespace {

using testing::read_text;
using testing::TempDir;

// Forks a child that installs the stop handlers, raises `signal` twice and
// exits 0 if a stop was requested (1 if not). Returns its wait status.
int status_after_two(int signal) {
  const pid_t child = fork();
  if (child == 0) {
    install_stop_handlers();
    std::raise(signal);
    std::raise(signal);
    _exit(stop_requested() ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return status;
}

TEST(StopRequest, RepeatedSchedulerSignalsAreOneRequest) {
  // Under Slurm with mpirun, scancel's SIGTERM reaches a rank twice.
  for (int signal : {SIGTERM, SIGUSR1}) {
    const int status = status_after_two(signal);
    ASSERT_TRUE(WIFEXITED(status)) << "signal " << signal << " killed the process";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "signal " << signal << " did not request a stop";
  }
}

TEST(StopRequest, ASecondCtrlCEndsTheProcess) {
  const int status = status_after_two(SIGINT);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGINT);
}

TEST(ExitCodeFile, OnlyRankZeroWritesAndOnlyWhenAsked) {
  TempDir dir;
  const auto path = dir / "exit-code";
  unsetenv(exit_code_file_variable);
  write_exit_code_file(0, 75);
  EXPECT_FALSE(std::filesystem::exists(path));
  setenv(exit_code_file_variable, path.c_str(), 1);
  write_exit_code_file(1, 3);
  EXPECT_FALSE(std::filesystem::exists(path));
  write_exit_code_file(0, 75);
  EXPECT_EQ(read_text(path), "75\n");
  // A path that cannot be written is reported, never thrown.
  setenv(exit_code_file_variable, (dir / "no-such-dir" / "exit-code").c_str(), 1);
  EXPECT_NO_THROW(write_exit_code_file(0, 75));
  unsetenv(exit_code_file_variable);
}

// The watchdog's test for a rank stuck on a dead file system.
TEST(IoStallDetector, OnlyUninterruptibleSleepWithoutBytesForTheWholeTimeoutIsAStall) {
  IoStallDetector detector(10);
  // Sleeping in 'D' but moving bytes (a long healthy write): never stalled.
  for (int t = 0; t <= 30; ++t) detector.sample(t, 'D', 1000 + 100 * t);
  EXPECT_FALSE(detector.stalled(30));
  // Then no byte moves: stalled once 10 s have passed since the last byte.
  EXPECT_EQ(detector.sample(35, 'D', 4000), 5);
  EXPECT_FALSE(detector.stalled(35));
  EXPECT_EQ(detector.sample(40, 'D', 4000), 10);
  EXPECT_TRUE(detector.stalled(40));
  // One sample outside 'D' (back from the kernel) starts over.
  detector.sample(41, 'S', 4000);
  EXPECT_FALSE(detector.stalled(41));
  detector.sample(42, 'D', 4000);
  EXPECT_FALSE(detector.stalled(51));
  EXPECT_TRUE(detector.stalled(52));
  // A busy thread ('R') is never stalled, however long.
  IoStallDetector busy(10);
  for (int t = 0; t <= 100; ++t) busy.sample(t, 'R', 0);
  EXPECT_FALSE(busy.stalled(100));
}

}  // namespace
}  // namespace rso
