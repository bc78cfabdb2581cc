// Whether a thread is stuck in I/O (a dead NFS mount), from samples of its
// state letter in /proc/.../stat and its syscall I/O bytes (rchar + wchar in
// /proc/.../io) taken over time: stuck when every sample for the whole
// timeout found it in uninterruptible sleep ('D') and not one byte moved.
// Busy but healthy I/O moves bytes, and a thread between system calls is not
// in 'D', so neither counts, however long the work.
#pragma once

#include <cstdint>

namespace rso {

class IoStallDetector {
 public:
  explicit IoStallDetector(double timeout_seconds) : timeout_(timeout_seconds) {}
  // One sample at `now` (seconds). Returns the seconds stalled so far.
  double sample(double now, char state, std::uint64_t io_bytes);
  bool stalled(double now) const { return since_ >= 0 && now - since_ >= timeout_; }

 private:
  double timeout_;
  double since_ = -1;  // start of the current run of 'D' samples with no bytes moved; -1: none
  std::uint64_t bytes_ = 0;
};

}  // namespace rso
