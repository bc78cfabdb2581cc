#include "rso/core/error.hpp"

#include <cstring>

namespace rso {

namespace {
// Keep the path from the project root on: "src/io/jsonl.cpp", not the
// absolute path of whoever built the binary.
std::string short_path(const char* file) {
  const char* markers[] = {"/src/", "/include/", "/tests/", "/perf/"};
  for (const char* marker : markers) {
    if (const char* hit = std::strstr(file, marker)) return hit + 1;
  }
  return file;
}
}  // namespace

Error::Error(ErrorKind kind, std::string message, const char* file, int line)
    : std::runtime_error(message),
      kind_(kind),
      message_(std::move(message)),
      origin_(short_path(file) + ":" + std::to_string(line)) {}

Error::Error(ErrorKind kind, std::string message, std::string origin)
    : std::runtime_error(message), kind_(kind), message_(std::move(message)), origin_(std::move(origin)) {}

int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::usage:
    case ErrorKind::config: return exit_code::usage;
    case ErrorKind::data: return exit_code::data;
    case ErrorKind::io: return exit_code::io;
    case ErrorKind::comm: return exit_code::comm;
    case ErrorKind::numeric: return exit_code::numeric;
    case ErrorKind::memory: return exit_code::memory;
    case ErrorKind::unavailable: return exit_code::unavailable;
    case ErrorKind::internal: return exit_code::internal;
  }
  return exit_code::internal;
}

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::usage: return "usage error";
    case ErrorKind::config: return "config error";
    case ErrorKind::data: return "data error";
    case ErrorKind::io: return "I/O error";
    case ErrorKind::comm: return "communication error";
    case ErrorKind::numeric: return "numeric error";
    case ErrorKind::memory: return "out of memory";
    case ErrorKind::unavailable: return "not available";
    case ErrorKind::internal: return "internal error";
  }
  return "error";
}

}  // namespace rso
