// Helper programs that rso starts beside a rank: the SentencePiece trainer,
// external reward scorers.
//
// The launcher (mpirun, srun) signals every process of a job step, helpers
// included, when it asks the job to stop (SIGUSR1/SIGTERM before a time
// limit). rso then finishes what it is doing and checkpoints, so a helper must
// not die of that signal: helpers start with the stop signals blocked (a
// blocked signal stays pending and never acts; the mask survives exec).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace rso {

// Where the child's standard streams go; -1 keeps the parent's.
struct HelperStreams {
  int stdin_fd = -1;   // dup2'ed onto the child's 0
  int stdout_fd = -1;  // onto 1
  int stderr_fd = -1;  // onto 2
  std::string stdout_file;  // when set (and stdout_fd is -1): stdout and stderr both go to this file
  std::vector<int> close_in_child;  // the parent's ends of pipes or sockets
  std::string working_directory;    // when set: the child's, entered after the files above are opened
};

// Starts `argv[0]` (a path, or a name looked up in PATH when `search_path`)
// with the stop signals blocked. Throws UnavailableError when it cannot start.
pid_t spawn_helper(const std::vector<std::string>& argv, const HelperStreams& streams, bool search_path = false);

// Waits for the child (retrying on EINTR) and returns its wait status.
int wait_for_helper(pid_t pid);

// "exit status N" or "signal N" for a wait status.
std::string describe_wait_status(int status);

}  // namespace rso
