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
  // call into an EINTR failure.
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  // The scheduler's requests stay caught: one request often arrives twice
  // (under Slurm with mpirun, scancel's SIGTERM reaches each rank from
  // slurmstepd and again from mpirun), and the machines' follow-up to a
  // stop that takes too long is SIGKILL anyway.
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  // Ctrl-C on a run without a launcher: a checkpoint, as a batch system's
  // warning gets; SA_RESETHAND: a person's second Ctrl-C ends it at once.
  action.sa_flags = SA_RESTART | SA_RESETHAND;
  sigaction(SIGINT, &action, nullptr);
}

bool stop_requested() { return stop_flag != 0; }

bool command_stops_on_request(const char* command) {
  for (const char* name : {"pipeline", "sft", "reward", "sample", "train"})
    if (std::strcmp(command, name) == 0) return true;
  return false;
}

}  // namespace rso
