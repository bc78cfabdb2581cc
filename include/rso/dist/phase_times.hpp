// Where a loop's time goes, per rank: seconds summed per named phase
// (compute, waiting at a collective, writing, ...), then summarised over the
// ranks as min / mean / max. max − min of a compute phase is the imbalance;
// the scaling study (perf/scaling.sh, perf/SCALING.md) reads these numbers.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace boost::mpi {
class communicator;
}

namespace rso {

class PhaseTimes {
 public:
  explicit PhaseTimes(std::vector<std::string> names) : names_(std::move(names)), seconds_(names_.size(), 0.0) {}

  // Runs `work` and adds its wall time to `phase`; returns what it returns.
  template <typename Work>
  decltype(auto) time(std::size_t phase, Work&& work) {
    const Clock::time_point started = Clock::now();
    struct Add {
      PhaseTimes& times;
      std::size_t phase;
      Clock::time_point started;
      ~Add() { times.seconds_[phase] += std::chrono::duration<double>(Clock::now() - started).count(); }
    } add{*this, phase, started};
    return std::forward<Work>(work)();
  }

  void add(std::size_t phase, double seconds) { seconds_[phase] += seconds; }
  double seconds(std::size_t phase) const { return seconds_[phase]; }

  // {"phase": {"min": s, "mean": s, "max": s}, ...} over the ranks of
  // `world`; a collective, so every rank calls it.
  nlohmann::ordered_json summarise(const boost::mpi::communicator& world) const;

 private:
  using Clock = std::chrono::steady_clock;
  std::vector<std::string> names_;
  std::vector<double> seconds_;
};

}  // namespace rso
