// Tensor allreduce of DistContext: NCCL for CUDA tensors when every rank has
// its own GPU, MPI otherwise (GPU tensors staged through host memory).
#include <ATen/core/Tensor.h>

#include <climits>

#include "mpi_check.hpp"
#include "nccl_communicator.hpp"
#include "rso/core/error.hpp"
#include "rso/dist/dist_context.hpp"

namespace rso {

namespace {

constexpr std::int64_t kMpiChunkBytes = 16 << 20;

// MPI has no 16-bit floats; those are staged through float32, which also
// keeps the sum from losing precision at every hop.
bool needs_float32_staging(c10::ScalarType type) {
  return type == c10::ScalarType::Half || type == c10::ScalarType::BFloat16;
}

MPI_Datatype mpi_type(c10::ScalarType type) {
  switch (type) {
    case c10::ScalarType::Float: return MPI_FLOAT;
    case c10::ScalarType::Double: return MPI_DOUBLE;
    case c10::ScalarType::Int: return MPI_INT32_T;
    case c10::ScalarType::Long: return MPI_INT64_T;
    case c10::ScalarType::Short: return MPI_INT16_T;
    case c10::ScalarType::Char: return MPI_INT8_T;
    case c10::ScalarType::Byte: return MPI_UINT8_T;
    default: RSO_THROW(InternalError, std::string("MPI allreduce of dtype ") + c10::toString(type));
  }
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::average: return MPI_SUM;  // average divides afterwards
    case ReduceOp::max: return MPI_MAX;
    case ReduceOp::min: return MPI_MIN;
  }
  return MPI_SUM;
}

}  // namespace

void DistContext::allreduce_(at::Tensor& tensor, ReduceOp op) const {
  RSO_CHECK(tensor.defined(), "allreduce of an undefined tensor");
  const auto type = tensor.scalar_type();
  RSO_CHECK(type != c10::ScalarType::Bool, "allreduce of a bool tensor");
  RSO_CHECK(op != ReduceOp::average || c10::isFloatingType(type),
            std::string("average of integer dtype ") + c10::toString(type));
  if (size_ == 1 || tensor.numel() == 0) return;

  if (backend_ == CollectiveBackend::nccl && tensor.is_cuda()) {
    if (tensor.is_contiguous()) {
      nccl_->allreduce_(tensor, op);
    } else {
      at::Tensor packed = tensor.contiguous();
      nccl_->allreduce_(packed, op);
      tensor.copy_(packed);
    }
    return;
  }
  allreduce_mpi_(tensor, op);
}

void DistContext::allreduce_mpi_(at::Tensor& tensor, ReduceOp op) const {
  const bool staged = !tensor.is_cpu() || !tensor.is_contiguous() || needs_float32_staging(tensor.scalar_type());
  at::Tensor buffer = tensor;
  if (staged) {
    const auto host_type = needs_float32_staging(tensor.scalar_type()) ? c10::ScalarType::Float : tensor.scalar_type();
    buffer = tensor.to(c10::Device(c10::kCPU), host_type, /*non_blocking=*/false, /*copy=*/true)
                 .contiguous();
  }
  const MPI_Datatype datatype = mpi_type(buffer.scalar_type());
  auto* bytes = static_cast<char*>(buffer.data_ptr());
  const std::int64_t element_size = static_cast<std::int64_t>(buffer.element_size());
  // Reduce in chunks of at most kMpiChunkBytes. MPI counts are int, and Open
  // MPI allocates a temporary as large as the message on every call: past
  // glibc's mmap threshold (32 MiB at most) each call then faults in fresh
  // pages, which made one 64 MiB allreduce 12x slower per byte than 16 MiB
  // ones on the 2-core VM (perf/RESULTS.md).
  const std::int64_t chunk = std::max<std::int64_t>(1, kMpiChunkBytes / element_size);
  for (std::int64_t offset = 0; offset < buffer.numel(); offset += chunk) {
    const int count = static_cast<int>(std::min<std::int64_t>(chunk, buffer.numel() - offset));
    RSO_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, bytes + offset * element_size, count, datatype, mpi_op(op),
                                static_cast<MPI_Comm>(world_)));
  }
  if (op == ReduceOp::average) buffer.div_(size_);
  if (staged) tensor.copy_(buffer);
}

}  // namespace rso
