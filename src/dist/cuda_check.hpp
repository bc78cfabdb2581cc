// Checked CUDA runtime calls: a failing call becomes an UnavailableError
// naming the call, CUDA's error text and where it was made. (Internal header;
// LibTorch's own calls are checked by LibTorch.)
#pragma once

#ifdef RSO_WITH_CUDA
#include <cuda_runtime_api.h>

#include <string>

#include "rso/core/error.hpp"

#define RSO_CUDA_CHECK(call)                                                                           \
  do {                                                                                                 \
    const cudaError_t rso_cuda_rc_ = (call);                                                           \
    if (rso_cuda_rc_ != cudaSuccess)                                                                   \
      RSO_THROW(UnavailableError, std::string(#call " failed: ") + cudaGetErrorString(rso_cuda_rc_)); \
  } while (0)
#endif
