// Checked MPI calls: a failing call becomes a CommError naming the call,
// the MPI error text and where it was made. (Internal header.)
#pragma once

#include <mpi.h>

#include <string>

#include "rso/core/error.hpp"

namespace rso::detail {

[[noreturn]] inline void throw_mpi_error(int code, const char* call, const char* file, int line) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw CommError(std::string(call) + " failed: " + std::string(text, length), file, line);
}

}  // namespace rso::detail

#define RSO_MPI_CHECK(call)                                                          \
  do {                                                                               \
    const int rso_mpi_rc_ = (call);                                                  \
    if (rso_mpi_rc_ != MPI_SUCCESS)                                                  \
      ::rso::detail::throw_mpi_error(rso_mpi_rc_, #call, __FILE__, __LINE__);        \
  } while (0)
