#include "rso/dist/phase_times.hpp"

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>

namespace rso {

nlohmann::ordered_json PhaseTimes::summarise(const boost::mpi::communicator& world) const {
  const auto count = static_cast<int>(seconds_.size());
  std::vector<double> low(seconds_.size()), high(seconds_.size()), sum(seconds_.size());
  boost::mpi::all_reduce(world, seconds_.data(), count, low.data(), boost::mpi::minimum<double>());
  boost::mpi::all_reduce(world, seconds_.data(), count, high.data(), boost::mpi::maximum<double>());
  boost::mpi::all_reduce(world, seconds_.data(), count, sum.data(), std::plus<double>());
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < seconds_.size(); ++i)
    out[names_[i]] = {{"min", low[i]}, {"mean", sum[i] / world.size()}, {"max", high[i]}};
  return out;
}

}  // namespace rso
