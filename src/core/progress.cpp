#include "rso/core/progress.hpp"

#include <spdlog/spdlog.h>

namespace rso {

ShareProgress::ShareProgress(std::string what, std::string items, double every_seconds, bool reporting)
    : what_(std::move(what)),
      items_(std::move(items)),
      every_(every_seconds),
      reporting_(reporting),
      started_(std::chrono::steady_clock::now()),
      last_report_(started_) {}

void ShareProgress::update(std::uint64_t done, std::uint64_t total) {
  if (!reporting_ || total == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_report_ <= every_) return;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  const double fraction = static_cast<double>(done) / static_cast<double>(total);
  spdlog::info("{}: rank 0 at {}/{} {}, {:.0f} s, ETA {:.0f} s", what_, done, total, items_, seconds,
               fraction > 0 ? seconds / fraction * (1 - fraction) : 0.0);
  last_report_ = now;
}

}  // namespace rso
