#include "watchdog.hpp"

#include <mpi.h>

#include <algorithm>
#include <boost/mpi/collectives/all_gather.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "rso/core/error.hpp"

namespace rso {

namespace {

constexpr int heartbeat_tag = 1;
constexpr int goodbye_tag = 2;

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string seconds_text(double seconds) {
  std::ostringstream text;
  text.precision(0);
  text << std::fixed << seconds << " s";
  return text.str();
}

// The state letter and the syscall I/O bytes (rchar + wchar) of thread `tid`
// of this process; false when /proc cannot tell.
bool read_thread_io(pid_t tid, char& state, std::uint64_t& bytes) {
  const std::string base = "/proc/self/task/" + std::to_string(tid);
  std::ifstream stat(base + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return false;
  // "tid (name) S ...": the name may hold spaces and parentheses, the state
  // follows the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return false;
  state = text[close + 2];
  std::ifstream io(base + "/io");
  std::string key;
  std::uint64_t value = 0;
  bytes = 0;
  while (io >> key >> value)
    if (key == "rchar:" || key == "wchar:") bytes += value;
  return true;
}

}  // namespace

Watchdog::Watchdog(const boost::mpi::communicator& world, double timeout_seconds, pid_t main_thread)
    : heartbeats_(world, boost::mpi::comm_duplicate),
      rank_(world.rank()),
      size_(world.size()),
      timeout_(timeout_seconds),
      main_thread_(main_thread) {
  boost::mpi::all_gather(world, boost::mpi::environment::processor_name(), hosts_);
  thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Watchdog::end_job(const std::string& message) const {
  std::cerr << "rso: communication error: " << message << " (dist.timeout_seconds = " << seconds_text(timeout_)
            << "); ending the job" << std::endl;
  MPI_Abort(MPI_COMM_WORLD, exit_code::comm);
  std::abort();  // MPI_Abort does not return; this keeps [[noreturn]] true
}

void Watchdog::run() {
  const MPI_Comm comm = static_cast<MPI_Comm>(heartbeats_);
  const double period = std::clamp(timeout_ / 10, 0.05, 5.0);
  // Rank 0 talks with every rank, the others with rank 0.
  std::vector<int> partners;
  for (int other = 0; other < size_; ++other)
    if (other != rank_ && (rank_ == 0 || other == 0)) partners.push_back(other);
  std::vector<MPI_Request> sends(size_, MPI_REQUEST_NULL);
  std::vector<double> outgoing(size_, 0);
  std::vector<double> last_heard(size_, seconds_now());
  std::vector<bool> finished(size_, false);  // said goodbye: no longer judged
  bool said_goodbye = false;
  double beat = 0;
  IoStallDetector stall(timeout_);

  auto send_to_partners = [&](int tag) {
    for (int partner : partners) {
      int done = 1;
      if (sends[partner] != MPI_REQUEST_NULL) MPI_Test(&sends[partner], &done, MPI_STATUS_IGNORE);
      if (!done && tag == heartbeat_tag) continue;  // the last beat is still on its way
      if (!done) MPI_Wait(&sends[partner], MPI_STATUS_IGNORE);
      outgoing[partner] = beat;
      MPI_Isend(&outgoing[partner], 1, MPI_DOUBLE, partner, tag, comm, &sends[partner]);
    }
  };

  while (true) {
    const double now = seconds_now();
    char state = 'R';
    std::uint64_t bytes = 0;
    if (read_thread_io(main_thread_, state, bytes)) {
      const double stalled = stall.sample(now, state, bytes);
      if (stall.stalled(now))
        end_job("rank " + std::to_string(rank_) + " (" + hosts_[rank_] + ") has been stuck in uninterruptible I/O for " +
                seconds_text(stalled) + " without moving a byte (a dead file system mount?)");
    }
    // Heartbeats out; everything that came in (in order from each sender).
    if (stop_ && !said_goodbye) {
      send_to_partners(goodbye_tag);
      said_goodbye = true;
    } else if (!said_goodbye) {
      beat += 1;
      send_to_partners(heartbeat_tag);
    }
    while (true) {
      int arrived = 0;
      MPI_Status status;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &arrived, &status);
      if (!arrived) break;
      double value = 0;
      MPI_Recv(&value, 1, MPI_DOUBLE, status.MPI_SOURCE, status.MPI_TAG, comm, MPI_STATUS_IGNORE);
      last_heard[status.MPI_SOURCE] = now;
      if (status.MPI_TAG == goodbye_tag) finished[status.MPI_SOURCE] = true;
    }
    bool everyone_finished = true;
    for (int partner : partners) {
      if (finished[partner]) continue;
      everyone_finished = false;
      const double silent = now - last_heard[partner];
      if (silent > timeout_)
        end_job("rank " + std::to_string(partner) + " (" + hosts_[partner] + ") has not answered for " +
                seconds_text(silent) + ": it was stopped (SIGSTOP), its node or network is gone, or the whole "
                "process hung");
    }
    // Done once this rank and every partner are: the other ranks stop
    // judging a rank that said goodbye, so none is taken for a silent one
    // while it waits here for the slowest.
    if (said_goodbye && everyone_finished) break;
    // Between beats, wake often enough to say goodbye at once; once said,
    // poll for the partners' goodbyes rather than sleep a whole period.
    const double pause = said_goodbye ? 0.01 : period;
    for (double slept = 0; slept < pause && !(stop_ && !said_goodbye); slept += 0.01)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int partner : partners)
    if (sends[partner] != MPI_REQUEST_NULL) MPI_Wait(&sends[partner], MPI_STATUS_IGNORE);
}

}  // namespace rso
