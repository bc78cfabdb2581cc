// Typed errors of rso and the exit codes they map to.
//
// Every failure the program can explain is an rso::Error carrying a category
// (config, data, io, comm, numeric, ...), the source location that raised it,
// and whether every rank is known to see it. `main` turns the category into
// the documented exit status (README, "Exit codes").
#pragma once

#include <stdexcept>
#include <string>

namespace rso {

enum class ErrorKind {
  usage,     // bad command line
  config,    // bad configuration value, unknown key, missing config file
  data,      // bad input records (JSONL, HDF5 contents)
  io,        // file system and HDF5 failures
  comm,      // MPI / NCCL failures
  numeric,   // NaN/Inf where a number is required
  memory,    // out of host or device memory
  unavailable,  // a command or feature this build does not have
  internal,  // a broken invariant: a bug in rso
};

// Process exit statuses. Stable: job scripts depend on them.
namespace exit_code {
constexpr int ok = 0;
constexpr int internal = 1;
constexpr int usage = 2;        // command line or configuration
constexpr int data = 3;         // input data
constexpr int io = 4;           // files, HDF5
constexpr int comm = 5;         // MPI / NCCL
constexpr int numeric = 6;      // non-finite values
constexpr int memory = 7;       // out of host or device memory
constexpr int unavailable = 69; // a needed feature is not available here (EX_UNAVAILABLE)
constexpr int requeue = 75;     // checkpointed after SIGUSR1/SIGTERM: requeue me (EX_TEMPFAIL)
}  // namespace exit_code

int exit_code_for(ErrorKind kind);
const char* to_string(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, const char* file, int line);
  // Rebuilds an error received from another rank, keeping its origin.
  Error(ErrorKind kind, std::string message, std::string origin);

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  // "src/io/jsonl.cpp:42" — where rso raised it, for bug reports.
  const std::string& origin() const { return origin_; }
  // True once every rank is known to hold this same error (see
  // DistContext::agree); main then reports it once, from rank 0.
  bool on_all_ranks() const { return on_all_ranks_; }
  void mark_on_all_ranks() { on_all_ranks_ = true; }

 private:
  ErrorKind kind_;
  std::string message_;
  std::string origin_;
  bool on_all_ranks_ = false;
};

#define RSO_DEFINE_ERROR(Name, Kind)                                   \
  class Name : public Error {                                          \
   public:                                                             \
    Name(std::string message, const char* file, int line)              \
        : Error(ErrorKind::Kind, std::move(message), file, line) {}    \
  };
RSO_DEFINE_ERROR(UsageError, usage)
RSO_DEFINE_ERROR(ConfigError, config)
RSO_DEFINE_ERROR(DataError, data)
RSO_DEFINE_ERROR(IoError, io)
RSO_DEFINE_ERROR(CommError, comm)
RSO_DEFINE_ERROR(NumericError, numeric)
RSO_DEFINE_ERROR(MemoryError, memory)
RSO_DEFINE_ERROR(UnavailableError, unavailable)
RSO_DEFINE_ERROR(InternalError, internal)
#undef RSO_DEFINE_ERROR

}  // namespace rso

// Throw a typed error with the raising file and line: RSO_THROW(DataError, msg).
#define RSO_THROW(Type, message) throw ::rso::Type((message), __FILE__, __LINE__)

// Check an invariant of rso itself; a failure is a bug, not a user error.
#define RSO_CHECK(condition, message)                                  \
  do {                                                                 \
    if (!(condition)) RSO_THROW(InternalError, std::string("check failed: " #condition ": ") + (message)); \
  } while (0)
