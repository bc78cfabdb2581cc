// A stop request from the scheduler: SIGUSR1 (Slurm's --signal before the
// time limit) or SIGTERM (scancel, preemption), or from a user: SIGINT
// (Ctrl-C on a run without a launcher). The handlers only set a flag;
// long loops read it at a point where they can checkpoint, agree on it over
// the ranks (a signal may reach them at different moments), and the program
// exits 75 so that the job script requeues it.
#pragma once

namespace rso {

// Installs the handlers for the rest of the process. main calls it before
// MPI starts for the commands that can stop cleanly (pipeline, sft, reward,
// sample, train), so that a signal during their set-up is remembered rather
// than fatal; other commands keep the default (a signal ends them). Repeated
// SIGUSR1 or SIGTERM are the same request (launchers and schedulers may each
// pass one on); a second SIGINT (Ctrl-C) has its default effect and ends the
// process at once.
void install_stop_handlers();

// Whether `rso COMMAND` honours a stop request (see above).
bool command_stops_on_request(const char* command);

// Whether this process has received SIGUSR1, SIGTERM or SIGINT since the handlers
// were installed.
bool stop_requested();

}  // namespace rso
