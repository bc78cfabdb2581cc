#include "rso/core/stop_request.hpp"

#include <csignal>
#include <cstring>
#include <initializer_list>

namespace rso {

namespace {

volatile std::sig_atomic_t stop_flag = 0;

extern "C" void on_stop_signal(int) { stop_flag = 1; }

}  // namespace

void install_stop_handlers() {
  // SA_RESTART: a signal must not turn a blocking read or an MPI progress
  // call into an EINTR failure. SA_RESETHAND: the second signal is not caught.
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART | SA_RESETHAND;
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  // Ctrl-C on a run without a launcher: a checkpoint, as a batch system's
  // warning gets; the second Ctrl-C ends it at once.
  sigaction(SIGINT, &action, nullptr);
}

bool stop_requested() { return stop_flag != 0; }

bool command_stops_on_request(const char* command) {
  for (const char* name : {"pipeline", "sft", "reward", "sample", "train"})
    if (std::strcmp(command, name) == 0) return true;
  return false;
}

}  // namespace rso
