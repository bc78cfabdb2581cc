#include "rso/sampling/text_scorer.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "rso/core/error.hpp"
#include "rso/core/helper_process.hpp"
#include "rso/io/jsonl.hpp"

namespace rso::sampling {

ScorerSpec parse_scorer_spec(const std::string& value, const std::string& key) {
  ScorerSpec spec;
  spec.text = value;
  if (value == "model") return spec;
  if (value == "gold") {
    spec.kind = ScorerSpec::Kind::gold;
    return spec;
  }
  if (value.rfind("exec:", 0) == 0) {
    spec.kind = ScorerSpec::Kind::exec;
    spec.command = value.substr(5);
    if (spec.command.find_first_not_of(" \t") == std::string::npos)
      RSO_THROW(ConfigError, key + " = '" + value + "': exec: needs a command, e.g. exec:python3 my_scorer.py");
    return spec;
  }
  RSO_THROW(ConfigError, key + " = '" + value + "' is none of model, gold, exec:COMMAND");
}

std::vector<double> FunctionScorer::score(const std::vector<std::string>& prompts,
                                          const std::vector<std::string>& responses) {
  RSO_CHECK(prompts.size() == responses.size(), "one response per prompt");
  std::vector<double> rewards;
  rewards.reserve(prompts.size());
  for (std::size_t i = 0; i < prompts.size(); ++i) rewards.push_back(function_(prompts[i], responses[i]));
  return rewards;
}

ExternalScorer::ExternalScorer(std::string command) : command_(std::move(command)) {
  // One socket pair serves as the child's stdin and stdout; sockets let us
  // write with MSG_NOSIGNAL, so a scorer that dies gives an error, not SIGPIPE.
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    RSO_THROW(IoError, std::string("socketpair for the scorer: ") + std::strerror(errno));
  HelperStreams streams;
  streams.stdin_fd = pair[1];
  streams.stdout_fd = pair[1];
  try {
    pid_ = spawn_helper({"/bin/sh", "-c", command_}, streams);
  } catch (...) {
    close(pair[0]);
    close(pair[1]);
    throw;
  }
  close(pair[1]);
  socket_ = pair[0];
}

ExternalScorer::~ExternalScorer() {
  if (socket_ >= 0) close(socket_);  // the scorer reads end of input and exits
  if (pid_ > 0) {
    // One that does not exit within 5 s of its input ending is stopped, so
    // that rso never hangs on its way out.
    int status = 0;
    for (int tries = 0; tries < 500; ++tries) {
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_ || (done < 0 && errno != EINTR)) return;
      usleep(10000);
    }
    kill(pid_, SIGKILL);
    try {
      wait_for_helper(pid_);
    } catch (...) {
    }
  }
}

void ExternalScorer::fail(const std::string& what, bool bad_answer) {
  if (socket_ >= 0) close(socket_);
  socket_ = -1;
  std::string status;
  if (pid_ > 0) {
    // Give a scorer that is ending a moment to be reaped, then stop it.
    int wait_status = 0;
    pid_t done = 0;
    for (int tries = 0; tries < 50 && (done = waitpid(pid_, &wait_status, WNOHANG)) == 0; ++tries) usleep(10000);
    if (done == 0) {
      kill(pid_, SIGKILL);
      wait_status = wait_for_helper(pid_);
      status = " (stopped by rso)";
    } else if (done == pid_) {
      status = " (" + describe_wait_status(wait_status) + ")";
    }
    pid_ = -1;
  }
  const std::string message = "the reward scorer '" + command_ + "'" + status + ": " + what;
  if (bad_answer) RSO_THROW(DataError, message);
  RSO_THROW(UnavailableError, message);
}

std::vector<double> ExternalScorer::score(const std::vector<std::string>& prompts,
                                          const std::vector<std::string>& responses) {
  RSO_CHECK(prompts.size() == responses.size(), "one response per prompt");
  if (socket_ < 0) fail("it failed before");
  std::string request;
  for (std::size_t i = 0; i < prompts.size(); ++i)
    request += to_jsonl_line(nlohmann::ordered_json{{"prompt", prompts[i]}, {"response", responses[i]}}) + "\n";
  std::vector<double> rewards;
  rewards.reserve(prompts.size());
  std::size_t sent = 0;
  bool warned = false;
  // Write and read at once: a scorer that answers as it reads would block
  // on a full socket while we still write, and the other way round.
  while (rewards.size() < prompts.size()) {
    pollfd fd{socket_, static_cast<short>(POLLIN | (sent < request.size() ? POLLOUT : 0)), 0};
    const int ready = poll(&fd, 1, 60000);
    if (ready < 0) {
      if (errno == EINTR) continue;
      fail(std::string("poll: ") + std::strerror(errno));
    }
    if (ready == 0 && !warned) {
      // The usual cause: its output is buffered (a pipe is not a terminal).
      spdlog::warn("the reward scorer '{}' has not answered for 60 s ({} of {} answers of this batch); it must flush "
                   "its output after each line (Python: print(..., flush=True))",
                   command_, rewards.size(), prompts.size());
      warned = true;
    }
    if ((fd.revents & POLLOUT) != 0 && sent < request.size()) {
      const ssize_t n = send(socket_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        fail("stopped reading its input after " + std::to_string(answered_ + rewards.size()) + " answers (" +
             std::strerror(errno) + ")");
      if (n > 0) sent += static_cast<std::size_t>(n);
    }
    if ((fd.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buffer[65536];
      const ssize_t n = recv(socket_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        fail(std::string("reading its answers: ") + std::strerror(errno));
      if (n == 0)
        fail("ended after " + std::to_string(answered_ + rewards.size()) + " answers, " +
             std::to_string(prompts.size() - rewards.size()) + " of this batch unanswered");
      if (n > 0) pending_.append(buffer, static_cast<std::size_t>(n));
      std::size_t newline;
      while (rewards.size() < prompts.size() && (newline = pending_.find('\n')) != std::string::npos) {
        std::string line = pending_.substr(0, newline);
        pending_.erase(0, newline + 1);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
        const std::size_t start = line.find_first_not_of(" \t");
        char* end = nullptr;
        const double value = start == std::string::npos ? NAN : std::strtod(line.c_str() + start, &end);
        const std::size_t number = answered_ + rewards.size() + 1;
        if (start == std::string::npos || end == line.c_str() + start || *end != '\0')
          fail("answer " + std::to_string(number) + " is '" + line + "', not a number", true);
        if (!std::isfinite(value))
          fail("answer " + std::to_string(number) + " is " + line + ", not a finite number", true);
        rewards.push_back(value);
      }
    }
  }
  answered_ += rewards.size();
  return rewards;
}

}  // namespace rso::sampling
