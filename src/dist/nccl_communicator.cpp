#include "nccl_communicator.hpp"

#include "rso/core/error.hpp"

#ifdef RSO_WITH_NCCL
#include <ATen/core/Tensor.h>
#include <c10/cuda/CUDAStream.h>
#include <nccl.h>

#include <boost/mpi/collectives/broadcast.hpp>

#include "mpi_check.hpp"

#define RSO_NCCL_CHECK(call)                                                                  \
  do {                                                                                        \
    const ncclResult_t rso_nccl_rc_ = (call);                                                 \
    if (rso_nccl_rc_ != ncclSuccess)                                                          \
      RSO_THROW(CommError, std::string(#call " failed: ") + ncclGetErrorString(rso_nccl_rc_)); \
  } while (0)

namespace rso {

namespace {
ncclDataType_t nccl_type(c10::ScalarType type) {
  switch (type) {
    case c10::ScalarType::Float: return ncclFloat32;
    case c10::ScalarType::Double: return ncclFloat64;
    case c10::ScalarType::Half: return ncclFloat16;
    case c10::ScalarType::BFloat16: return ncclBfloat16;
    case c10::ScalarType::Int: return ncclInt32;
    case c10::ScalarType::Long: return ncclInt64;
    case c10::ScalarType::Char: return ncclInt8;
    case c10::ScalarType::Byte: return ncclUint8;
    default: RSO_THROW(InternalError, std::string("NCCL allreduce of dtype ") + c10::toString(type));
  }
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return ncclSum;
    case ReduceOp::average: return ncclAvg;
    case ReduceOp::max: return ncclMax;
    case ReduceOp::min: return ncclMin;
  }
  return ncclSum;
}
}  // namespace

std::unique_ptr<NcclCommunicator> NcclCommunicator::create(const boost::mpi::communicator& world) {
  ncclUniqueId id{};
  if (world.rank() == 0) RSO_NCCL_CHECK(ncclGetUniqueId(&id));
  RSO_MPI_CHECK(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, static_cast<MPI_Comm>(world)));
  std::unique_ptr<NcclCommunicator> self(new NcclCommunicator());
  ncclComm_t comm = nullptr;
  RSO_NCCL_CHECK(ncclCommInitRank(&comm, world.size(), id, world.rank()));
  self->comm_ = comm;
  return self;
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ == nullptr) return;
  ncclResult_t state = ncclSuccess;
  // A communicator in error can hang in ncclCommDestroy: abort it instead.
  if (ncclCommGetAsyncError(static_cast<ncclComm_t>(comm_), &state) == ncclSuccess && state == ncclSuccess)
    ncclCommDestroy(static_cast<ncclComm_t>(comm_));
  else
    ncclCommAbort(static_cast<ncclComm_t>(comm_));
}

void NcclCommunicator::check_async_error() const {
  RSO_CHECK(comm_ != nullptr, "the NCCL communicator was aborted after an earlier error");
  ncclResult_t state = ncclSuccess;
  RSO_NCCL_CHECK(ncclCommGetAsyncError(static_cast<ncclComm_t>(comm_), &state));
#if defined(NCCL_VERSION_CODE) && NCCL_VERSION_CODE >= NCCL_VERSION(2, 14, 0)
  if (state == ncclInProgress) return;  // a nonblocking operation still running
#endif
  if (state == ncclSuccess) return;
  ncclCommAbort(static_cast<ncclComm_t>(comm_));
  comm_ = nullptr;
  RSO_THROW(CommError, std::string("NCCL reported an asynchronous error: ") + ncclGetErrorString(state) +
                           "; the communicator was aborted");
}

void NcclCommunicator::allreduce_(at::Tensor& tensor, ReduceOp op) const {
  RSO_CHECK(tensor.is_cuda() && tensor.is_contiguous(), "NCCL allreduce needs a contiguous CUDA tensor");
  check_async_error();
  const auto stream = c10::cuda::getCurrentCUDAStream(tensor.device().index());
  RSO_NCCL_CHECK(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                               nccl_type(tensor.scalar_type()), nccl_op(op),
                               static_cast<ncclComm_t>(comm_), stream.stream()));
}

std::string NcclCommunicator::version() {
  int code = 0;
  ncclGetVersion(&code);
  // Since NCCL 2.9 the code is major*10000 + minor*100 + patch.
  return std::to_string(code / 10000) + "." + std::to_string(code / 100 % 100) + "." +
         std::to_string(code % 100);
}

}  // namespace rso

#else  // no NCCL in this build

namespace rso {

std::unique_ptr<NcclCommunicator> NcclCommunicator::create(const boost::mpi::communicator&) {
  RSO_THROW(UnavailableError, "this build has no NCCL (configure with a CUDA LibTorch and nccl.h)");
}
NcclCommunicator::~NcclCommunicator() = default;
void NcclCommunicator::allreduce_(at::Tensor&, ReduceOp) const {
  RSO_THROW(UnavailableError, "this build has no NCCL");
}
std::string NcclCommunicator::version() { return ""; }

}  // namespace rso

#endif
