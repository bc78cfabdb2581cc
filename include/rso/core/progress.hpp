// Progress of a rank's share of a long loop, reported by rank 0 at most once
// every log.progress_seconds:
//   "generate: rank 0 at 120/400 prompts, 31 s, ETA 72 s"
// Shares are within one item of each other, so rank 0's ETA is the job's.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rso {

class ShareProgress {
 public:
  // `what` names the loop ("generate"), `items` what it counts ("prompts");
  // only a `reporting` instance (rank 0's) prints.
  ShareProgress(std::string what, std::string items, double every_seconds, bool reporting);

  // `done` of `total` items of this rank's share are finished.
  void update(std::uint64_t done, std::uint64_t total);

 private:
  std::string what_, items_;
  std::chrono::duration<double> every_;
  bool reporting_;
  std::chrono::steady_clock::time_point started_, last_report_;
};

}  // namespace rso
