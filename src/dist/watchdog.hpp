// The rank watchdog: a rank that stops answering ends the job within
// dist.timeout_seconds, named, instead of holding every other rank in its
// next collective until the scheduler's time limit. (Internal header.)
//
// Each rank runs a thread that exchanges heartbeats with rank 0 on a
// communicator of its own (MPI_THREAD_MULTIPLE) and watches its own main
// thread:
//   - a rank whose heartbeats stop (SIGSTOP, its node or network gone, the
//     whole process hung) is named by rank 0, or rank 0 by the others;
//   - a rank whose main thread has sat in uninterruptible I/O ("D" in
//     /proc) without moving a byte for the whole timeout (a dead NFS mount)
//     names itself.
// Either ends the job with MPI_Abort and exit code 5 (communication error).
// A rank busy with long work of its own (a checkpoint write, SentencePiece
// on rank 0 while the others wait) still answers and moves bytes, so it is
// never taken for a stuck one, however long the work.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <boost/mpi/communicator.hpp>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "rso/dist/io_stall_detector.hpp"

namespace rso {

class Watchdog {
 public:
  // Collective over `world`. `main_thread` is the kernel thread id of the
  // thread that runs rso's work (the one to watch for I/O stalls).
  Watchdog(const boost::mpi::communicator& world, double timeout_seconds, pid_t main_thread);
  // Collective: stops the thread and drains the heartbeats still in flight.
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  void run();
  [[noreturn]] void end_job(const std::string& message) const;

  boost::mpi::communicator heartbeats_;  // a duplicate of the world: its messages never meet rso's
  int rank_ = 0;
  int size_ = 1;
  double timeout_;
  pid_t main_thread_;
  std::vector<std::string> hosts_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace rso
