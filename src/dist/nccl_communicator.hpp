// NCCL communicator of one rank, bootstrapped over MPI. (Internal header.)
//
// Built only with RSO_WITH_NCCL; elsewhere create() reports that the build
// has no NCCL, so callers need no #ifdefs.
#pragma once

#include <boost/mpi/communicator.hpp>
#include <memory>

#include "rso/dist/dist_context.hpp"

namespace rso {

class NcclCommunicator {
 public:
  // Collective over `world`: rank 0 makes the unique id, MPI broadcasts it,
  // every rank joins on its current CUDA device.
  static std::unique_ptr<NcclCommunicator> create(const boost::mpi::communicator& world);
  ~NcclCommunicator();

  // In-place allreduce of a contiguous CUDA tensor on the current stream.
  // Checks NCCL's asynchronous error state first (see below).
  void allreduce_(at::Tensor& tensor, ReduceOp op) const;

  static std::string version();

 private:
  NcclCommunicator() = default;
  // NCCL reports some failures (a peer gone, a network fault) only later and
  // asynchronously; a communicator in that state can hang the next call or
  // ncclCommDestroy. Polled before each collective: on an error the
  // communicator is aborted and a CommError raised.
  void check_async_error() const;
  mutable void* comm_ = nullptr;  // ncclComm_t; null once aborted
};

}  // namespace rso
