#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "rso/cli/commands.hpp"
#include "rso/sampling/text_scorer.hpp"
#include "rso/core/log.hpp"
#include "rso/io/atomic_file.hpp"

namespace rso::cli {

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
  return config;
}

bool print_config_if_asked(const DistContext& context, const ConfigOptions& options, const Config& config) {
  if (!options.print_config) return false;
  if (context.is_root()) std::cout << to_yaml(config);
  return true;
}

void record_config(const DistContext& context, const Config& config) {
  context.agree([&] {
    if (!context.is_root()) return;
    const std::string hash = config_hash(config);
    const std::filesystem::path target = std::filesystem::path(config.run.dir) / "config.yaml";
    write_file_atomic(target, "# rso resolved config; hash " + hash + " (param fields only)\n" + to_yaml(config));
    spdlog::info("config hash {} written to {}", hash, target.string());
    spdlog::info("resolved config:\n{}", to_yaml(config, /*documented=*/false));
  });
}

}  // namespace rso::cli
