#include "rso/core/helper_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rso/core/error.hpp"

extern char** environ;

namespace rso {

namespace {

// posix_spawn's handles, released whatever happens.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

pid_t spawn_helper(const std::vector<std::string>& argv, const HelperStreams& streams, bool search_path) {
  RSO_CHECK(!argv.empty(), "a helper needs a program");
  SpawnSetup setup;
  for (const int fd : streams.close_in_child) posix_spawn_file_actions_addclose(&setup.actions, fd);
  if (streams.stdin_fd >= 0) posix_spawn_file_actions_adddup2(&setup.actions, streams.stdin_fd, STDIN_FILENO);
  if (streams.stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&setup.actions, streams.stdout_fd, STDOUT_FILENO);
  } else if (!streams.stdout_file.empty()) {
    posix_spawn_file_actions_addopen(&setup.actions, STDOUT_FILENO, streams.stdout_file.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&setup.actions, STDOUT_FILENO, STDERR_FILENO);
  }
  if (streams.stderr_fd >= 0) posix_spawn_file_actions_adddup2(&setup.actions, streams.stderr_fd, STDERR_FILENO);
  if (!streams.working_directory.empty())
    posix_spawn_file_actions_addchdir_np(&setup.actions, streams.working_directory.c_str());
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGUSR1);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  posix_spawnattr_setsigmask(&setup.attributes, &stop_signals);
  // SIGPIPE back to its default: the child of a process that ignores it
  // would otherwise inherit the ignoring.
  sigset_t default_signals;
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGPIPE);
  posix_spawnattr_setsigdefault(&setup.attributes, &default_signals);
  posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  std::vector<std::string> copies = argv;
  for (auto& a : copies) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = search_path ? posix_spawnp(&pid, argv[0].c_str(), &setup.actions, &setup.attributes, args.data(), environ)
                                  : posix_spawn(&pid, argv[0].c_str(), &setup.actions, &setup.attributes, args.data(), environ);
  if (spawned != 0) RSO_THROW(UnavailableError, "cannot start '" + argv[0] + "': " + std::strerror(spawned));
  return pid;
}

int wait_for_helper(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) RSO_THROW(InternalError, std::string("waitpid: ") + std::strerror(errno));
  }
  return status;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

}  // namespace rso
