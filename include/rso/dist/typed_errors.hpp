// Exceptions of the libraries rso calls, turned into rso's typed errors.
//
// Boost.MPI, LibTorch, nlohmann::json and std::filesystem throw their own
// exception types. Where rso cannot catch one at the call that raised it (and
// name the file and line there), the last line of defence turns it into the
// matching kind, so that the user gets the documented exit code and a plain
// message: never "internal error" with a C++ stack trace for a failed MPI
// call, an exhausted memory or a read-only directory.
#pragma once

#include <exception>

#include "rso/core/error.hpp"

namespace rso {

// The typed error for `error`: itself when it is an rso::Error; otherwise
//   boost::mpi::exception           -> comm (the MPI routine and its message)
//   c10 out of memory, bad_alloc    -> memory (the sizes, and what to lower)
//   other c10::Error                -> internal (without the backtrace)
//   std::filesystem::filesystem_error -> io (the operation and paths)
//   nlohmann::json::exception       -> data
//   anything else                   -> internal
Error typed_error(const std::exception& error);

}  // namespace rso
