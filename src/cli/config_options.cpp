#include <boost/mpi/collectives.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <vector>

#include "rso/cli/commands.hpp"
#include "rso/sampling/text_scorer.hpp"
#include "rso/core/error.hpp"
#include "rso/core/log.hpp"
#include "rso/io/atomic_file.hpp"
#include "rso/io/json_file.hpp"

namespace rso::cli {

namespace {

// Ranks launched with different --set values or config files would compute
// different things (two learning rates) or write to different places: every
// rank compares every field with every other rank's, and all refuse alike,
// naming the first field that differs.
void require_same_config_on_every_rank(const DistContext& context, const Config& config) {
  if (context.size() == 1) return;
  const std::map<std::string, std::string> mine = config_fields(config);
  std::vector<std::map<std::string, std::string>> all;
  boost::mpi::all_gather(context.world(), mine, all);
  context.agree([&] {
    for (std::size_t rank = 1; rank < all.size(); ++rank) {
      if (all[rank] == all[0]) continue;
      for (const auto& [key, value] : all[0]) {
        const auto other = all[rank].find(key);
        const std::string theirs = other == all[rank].end() ? "(none)" : other->second;
        if (theirs == value) continue;
        RSO_THROW(ConfigError, "the ranks were given different configs: " + key + " is " + value + " on rank 0 and " +
                                   theirs + " on rank " + std::to_string(rank) +
                                   "; give every rank the same command line and config file");
      }
    }
  });
}

}  // namespace

Config resolve_config(const DistContext& context, const ConfigOptions& options) {
  std::vector<std::string> overrides = options.overrides;
  if (!options.run_dir.empty()) overrides.push_back("run.dir=" + options.run_dir);
  Config config = context.agree([&] {
    Config loaded = load_config(options.config_path, overrides);
    // Values whose form the schema cannot state are checked here, before
    // anything is written into the run directory.
    sampling::parse_scorer_spec(loaded.sample.scorer, "sample.scorer");
    return loaded;
  });
  set_log_level(config.log.level);
  require_same_config_on_every_rank(context, config);
  return config;
}

bool print_config_if_asked(const DistContext& context, const ConfigOptions& options, const Config& config) {
  if (!options.print_config) return false;
  if (context.is_root()) std::cout << to_yaml(config);
  return true;
}

namespace {

std::string config_record_text(const Config& config) {
  return "# rso resolved config; hash " + config_hash(config) + " (param fields only)\n" + to_yaml(config);
}

}  // namespace

io::RunDirectoryLock claim_run_directory(const DistContext& context, const Config& config, const std::string& command) {
  return context.agree([&] {
    if (!context.is_root()) return io::RunDirectoryLock();
    io::RunDirectoryLock lock(config.run.dir, command);
    if (const std::size_t removed = lock.remove_interrupted_temporaries(config.run.dir))
      spdlog::info("{}: removed {} temporary file(s) that an interrupted run left in {}", command, removed,
                   config.run.dir);
    return lock;
  });
}

void record_config_at_start(const DistContext& context, const Config& config) {
  context.agree([&] {
    if (!context.is_root()) return;
    const std::filesystem::path target = std::filesystem::path(config.run.dir) / "config.yaml";
    spdlog::info("config hash {}", config_hash(config));
    spdlog::info("resolved config:\n{}", to_yaml(config, /*documented=*/false));
    if (std::filesystem::exists(target)) return;
    write_file_atomic(target, config_record_text(config));
    spdlog::info("config written to {}", target.string());
  });
}

void record_config(const DistContext& context, const Config& config) {
  context.agree([&] {
    if (!context.is_root()) return;
    const std::filesystem::path target = std::filesystem::path(config.run.dir) / "config.yaml";
    const std::string text = config_record_text(config);
    if (std::filesystem::exists(target) && read_file_bytes(target.string()) == text) return;
    write_file_atomic(target, text);
    spdlog::info("config hash {} written to {}", config_hash(config), target.string());
  });
}

}  // namespace rso::cli
