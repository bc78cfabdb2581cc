#include "rso/core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace rso {

namespace {
int g_rank = 0;

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::trace: return spdlog::level::trace;
    case LogLevel::debug: return spdlog::level::debug;
    case LogLevel::info: return spdlog::level::info;
    case LogLevel::warn: return spdlog::level::warn;
    case LogLevel::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}
}  // namespace

void init_logging(int rank, int size, LogLevel level) {
  g_rank = rank;
  auto logger = spdlog::stderr_color_mt("rso");
  const std::string tag = size > 1 ? " [rank " + std::to_string(rank) + "]" : "";
  logger->set_pattern("[%H:%M:%S]" + tag + " %^%l%$: %v");
  spdlog::set_default_logger(logger);
  set_log_level(level);
}

void set_log_level(LogLevel level) {
  auto effective = to_spdlog(level);
  if (g_rank != 0 && effective < spdlog::level::warn) effective = spdlog::level::warn;
  spdlog::set_level(effective);
}

}  // namespace rso
