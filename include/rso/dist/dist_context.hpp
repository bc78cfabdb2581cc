// DistContext: the one object that owns distributed state.
//
// It owns the MPI environment (Boost.MPI) and the world communicator, knows
// the node-local rank (MPI shared-memory split), picks the device of this
// rank, and — when built with NCCL and every rank has a GPU of its own —
// holds an NCCL communicator bootstrapped over MPI. It is created once in
// main and passed explicitly to whatever communicates: there is no global
// communication state.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/mpi/communicator.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "rso/core/config.hpp"

namespace at {
class Tensor;
}
namespace boost::mpi {
class environment;
}

namespace rso {

class NcclCommunicator;  // src/dist/nccl_communicator.hpp
class Watchdog;          // src/dist/watchdog.hpp

enum class ReduceOp { sum, average, max, min };

class DistContext {
 public:
  // Initialises MPI (works without mpirun as a single rank) and finds the
  // node-local rank. Devices are chosen later by configure().
  DistContext(int& argc, char**& argv);
  ~DistContext();
  DistContext(const DistContext&) = delete;
  DistContext& operator=(const DistContext&) = delete;

  // Collective. Chooses this rank's device, the torch thread count and the
  // tensor-collective backend, and starts the rank watchdog
  // (dist.timeout_seconds). Errors (e.g. cuda requested where there is
  // none) are raised on every rank alike.
  void configure(const DistConfig& config);

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  const std::string& host() const { return host_; }
  const boost::mpi::communicator& world() const { return world_; }

  c10::Device device() const { return device_; }
  // The dtype model forwards run in (dist.precision resolved for the device).
  c10::ScalarType compute_dtype() const { return compute_dtype_; }
  // Human-readable device name, e.g. "cpu (4 threads)" or "cuda:1 NVIDIA H100".
  const std::string& device_description() const { return device_description_; }
  // mpi or nccl (never automatic once configured).
  CollectiveBackend backend() const { return backend_; }
  int torch_threads() const { return torch_threads_; }

  // In-place allreduce over all ranks. Any dtype torch has, except bool;
  // `average` needs a floating dtype. CPU tensors go through MPI; GPU tensors
  // through NCCL when that is the backend, else staged through host memory.
  void allreduce_(at::Tensor& tensor, ReduceOp op = ReduceOp::sum) const;

  void barrier() const;

  // Runs `work` on every rank, then agrees on failure: if any rank threw,
  // every rank throws the error of the lowest failing rank, marked as seen
  // by all, so main reports it once and every rank exits with the same
  // status instead of hanging in the next collective. Collective.
  template <class Work>
  std::invoke_result_t<Work> agree(Work&& work) const {
    std::exception_ptr failure;
    if constexpr (std::is_void_v<std::invoke_result_t<Work>>) {
      try {
        work();
      } catch (...) {
        failure = std::current_exception();
      }
      raise_if_any_failed(failure);
    } else {
      std::optional<std::invoke_result_t<Work>> result;
      try {
        result.emplace(work());
      } catch (...) {
        failure = std::current_exception();
      }
      raise_if_any_failed(failure);
      return std::move(*result);
    }
  }

  // Runs `work` on rank 0 only and gives its result to every rank (errors
  // agreed as above). For decisions read from the file system before a
  // collective (a stage's output exists, blocks left, a cache hit): made
  // once, so ranks that see different files (a stale NFS cache, a node-local
  // path) still take the same branch instead of parting at the next
  // collective. The result must be serialisable by Boost.MPI (bool, int,
  // std::string with <boost/serialization/string.hpp>, ...).
  template <class Work>
  std::invoke_result_t<Work> decide(Work&& work) const {
    using Result = std::invoke_result_t<Work>;
    Result result = agree([&] { return rank_ == 0 ? work() : Result{}; });
    boost::mpi::broadcast(world_, result, 0);
    return result;
  }

  // Ends the whole job (MPI_Abort on the world communicator).
  [[noreturn]] void abort(int exit_status) const noexcept;

 private:
  void raise_if_any_failed(const std::exception_ptr& failure) const;
  void choose_device(const DistConfig& config);
  void choose_backend(const DistConfig& config);
  void start_watchdog(const DistConfig& config);
  void set_threads(const DistConfig& config);
  void allreduce_mpi_(at::Tensor& tensor, ReduceOp op) const;

  std::unique_ptr<boost::mpi::environment> environment_;
  boost::mpi::communicator world_;
  boost::mpi::communicator local_;
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  int local_size_ = 1;
  std::string host_;
  c10::Device device_{c10::kCPU};
  std::string device_description_ = "cpu";
  c10::ScalarType compute_dtype_ = c10::ScalarType::Float;
  CollectiveBackend backend_ = CollectiveBackend::mpi;
  int torch_threads_ = 1;

  std::unique_ptr<NcclCommunicator> nccl_;  // set when the backend is NCCL
  std::unique_ptr<Watchdog> watchdog_;      // set on several ranks with dist.timeout_seconds > 0
};

// Library versions as the running binary sees them, for `rso env` and logs.
struct VersionInfo {
  std::string rso, torch, mpi, boost, hdf5, nccl, cuda;
};
VersionInfo version_info();

}  // namespace rso
