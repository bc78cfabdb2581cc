// `rso env`: one table of ranks, hosts, devices and collective backend, then
// the versions of the libraries this binary runs with.
#include <boost/mpi/collectives/gather.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "rso/cli/commands.hpp"
#include "rso/core/error.hpp"

namespace rso::cli {

namespace {

struct RankRow {
  int rank = 0;
  std::string host;
  int local_rank = 0;
  std::string device;
  std::string backend;
  int threads = 0;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& rank& host& local_rank& device& backend& threads;
  }
};

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (widths.size() <= c) widths.push_back(0);
      widths[c] = std::max(widths[c], row[c].size());
    }
  std::ostringstream out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      const bool last = c + 1 == rows[r].size();
      out << std::left << std::setw(last ? 0 : static_cast<int>(widths[c]) + 2) << rows[r][c];
    }
    out << "\n";
    if (r == 0) {
      for (std::size_t c = 0; c < widths.size(); ++c)
        out << std::string(widths[c], '-') << (c + 1 == widths.size() ? "" : "  ");
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace

int run_env(DistContext& context, const ConfigOptions& options) {
  const Config config = resolve_config(context, options);
  context.configure(config.dist);

  RankRow mine{context.rank(),
               context.host(),
               context.local_rank(),
               context.device_description(),
               enum_name(context.backend(), kCollectiveBackendNames),
               context.torch_threads()};
  std::vector<RankRow> rows;
  boost::mpi::gather(context.world(), mine, rows, 0);
  if (!context.is_root()) return exit_code::ok;

  std::vector<std::vector<std::string>> cells{{"rank", "host", "local rank", "device", "backend", "threads"}};
  for (const auto& row : rows)
    cells.push_back({std::to_string(row.rank), row.host, std::to_string(row.local_rank), row.device, row.backend,
                     std::to_string(row.threads)});
  const VersionInfo versions = version_info();
  std::vector<std::vector<std::string>> libraries{{"library", "version"},
                                                  {"rso", versions.rso},
                                                  {"LibTorch", versions.torch},
                                                  {"MPI", versions.mpi},
                                                  {"Boost", versions.boost},
                                                  {"HDF5", versions.hdf5},
                                                  {"NCCL", versions.nccl.empty() ? "not built" : versions.nccl},
                                                  {"CUDA", versions.cuda.empty() ? "not built" : versions.cuda}};
  std::cout << table(cells) << "\n" << table(libraries) << std::flush;
  return exit_code::ok;
}

}  // namespace rso::cli
