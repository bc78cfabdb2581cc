#include "rso/dist/io_stall_detector.hpp"

namespace rso {

double IoStallDetector::sample(double now, char state, std::uint64_t io_bytes) {
  if (state != 'D') {
    since_ = -1;
    return 0;
  }
  if (since_ < 0 || io_bytes != bytes_) {  // entered uninterruptible sleep, or moved bytes since
    since_ = now;
    bytes_ = io_bytes;
    return 0;
  }
  return now - since_;
}

}  // namespace rso
