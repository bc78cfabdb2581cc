// Rank-aware logging on top of spdlog.
//
// Rank 0 logs at the configured level; the other ranks log warnings and
// errors only, each line tagged with its rank, so a 64-rank job prints one
// progress stream and still shows which rank complained.
#pragma once

#include <spdlog/spdlog.h>

#include "rso/core/config.hpp"

namespace rso {

void init_logging(int rank, int size, LogLevel level = LogLevel::info);
void set_log_level(LogLevel level);

}  // namespace rso
