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
  void allreduce_(at::Tensor& tensor, ReduceOp op) const;

  static std::string version();

 private:
  NcclCommunicator() = default;
  void* comm_ = nullptr;  // ncclComm_t
};

}  // namespace rso
