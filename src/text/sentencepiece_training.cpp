// Training runs the SentencePiece library in the helper program rso-spm
// (src/tools/sentencepiece_helper.cpp), which LibTorch never loads.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rso/core/error.hpp"
#include "rso/text/sentencepiece.hpp"

extern char** environ;

namespace rso::text {

std::string sentencepiece_helper_path() {
  if (const char* explicit_path = std::getenv("RSO_SPM"); explicit_path != nullptr && *explicit_path != '\0') {
    if (!std::filesystem::exists(explicit_path))
      RSO_THROW(UnavailableError, std::string("RSO_SPM names '") + explicit_path + "', which does not exist");
    return explicit_path;
  }
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  const auto beside = self.parent_path() / "rso-spm";
  if (!error && std::filesystem::exists(beside)) return beside.string();
  RSO_THROW(UnavailableError, "the SentencePiece helper 'rso-spm' is not beside '" + self.string() +
                                  "'; build the target rso-spm or set RSO_SPM to its path");
}

void train_sentencepiece(const std::string& corpus, const std::string& model_prefix,
                         const std::vector<std::pair<std::string, std::string>>& flags) {
  if (!std::filesystem::is_regular_file(corpus))
    RSO_THROW(IoError, "SentencePiece corpus '" + corpus + "' is not a readable file");
  const std::string helper = sentencepiece_helper_path();
  std::vector<std::string> arguments = {helper, "train", "--input=" + corpus, "--model_prefix=" + model_prefix};
  for (const auto& [name, value] : flags) {
    if (name == "input" || name == "model_prefix")
      RSO_THROW(UsageError, "SentencePiece flag '" + name + "' is set by rso itself");
    if (value.find_first_of(" \t\n") != std::string::npos)
      RSO_THROW(UsageError, "SentencePiece flag '" + name + "' has whitespace in its value");
    arguments.push_back("--" + name + "=" + value);
  }
  // The library logs every step; keep it in a file and show its end on failure.
  const std::string log_path = model_prefix + ".train.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  // The stop signals (SIGUSR1, SIGTERM) reach the helper too: the launcher
  // or Slurm signals every process of the step. rso finishes the stage it is
  // in and then stops, so the helper must finish as well: it starts with
  // them blocked (a blocked signal stays pending and never acts).
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGUSR1);
  sigaddset(&stop_signals, SIGTERM);
  posix_spawnattr_setsigmask(&attributes, &stop_signals);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, helper.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) RSO_THROW(IoError, "cannot start '" + helper + "': " + std::strerror(spawned));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) RSO_THROW(InternalError, std::string("waitpid: ") + std::strerror(errno));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream log(log_path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(log, line);) lines.push_back(line);
    std::ostringstream tail;
    for (std::size_t i = lines.size() > 5 ? lines.size() - 5 : 0; i < lines.size(); ++i) tail << "\n  " << lines[i];
    RSO_THROW(DataError, "SentencePiece training failed (" +
                             (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                                : "signal " + std::to_string(WTERMSIG(status))) +
                             "); the end of " + log_path + ":" + tail.str());
  }
}

}  // namespace rso::text
