#include "rso/dist/dist_context.hpp"

#include <ATen/Parallel.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <boost/mpi/collectives/all_gather.hpp>
#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/mpi/environment.hpp>
#include <cstdlib>
#include <set>
#include <thread>

#include "cuda_check.hpp"
#include "mpi_check.hpp"
#include "nccl_communicator.hpp"
#include "watchdog.hpp"
#include "rso/core/error.hpp"
#include "rso/dist/typed_errors.hpp"
#include "rso/dist/host_memory.hpp"

#ifdef RSO_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#endif

namespace rso {

DistContext::DistContext(int& argc, char**& argv) {
  keep_freed_host_memory();  // before the first large allocation
  // Multiple: the watchdog's thread exchanges heartbeats while the main
  // thread works (src/dist/watchdog.hpp); every other MPI call is the main
  // thread's.
  environment_ = std::make_unique<boost::mpi::environment>(argc, argv, boost::mpi::threading::multiple,
                                                            /*abort_on_exception=*/false);
  // MPI errors come back as return codes and become CommError, instead of
  // killing the process without a word.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  world_ = boost::mpi::communicator();
  rank_ = world_.rank();
  size_ = world_.size();
  host_ = boost::mpi::environment::processor_name();

  MPI_Comm local = MPI_COMM_NULL;
  RSO_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local));
  local_ = boost::mpi::communicator(local, boost::mpi::comm_take_ownership);
  local_rank_ = local_.rank();
  local_size_ = local_.size();
}

DistContext::~DistContext() {
  // Members go in reverse order of declaration: the NCCL communicator and
  // the node-local communicator are freed before the environment finalises MPI.
  watchdog_.reset();  // collective: says goodbye to the other ranks' watchdogs
  nccl_.reset();
}

void DistContext::configure(const DistConfig& config) {
  watchdog_.reset();
  agree([&] {
    choose_device(config);
    set_threads(config);
    const bool bfloat16 = config.precision == Precision::bfloat16 ||
                          (config.precision == Precision::automatic && device_.is_cuda());
    compute_dtype_ = bfloat16 ? c10::ScalarType::BFloat16 : c10::ScalarType::Float;
  });
  agree([&] { choose_backend(config); });
  start_watchdog(config);
}

void DistContext::start_watchdog(const DistConfig& config) {
  if (size_ == 1 || config.timeout_seconds <= 0) return;
  if (boost::mpi::environment::thread_level() < boost::mpi::threading::multiple) {
    if (rank_ == 0)
      spdlog::warn("this MPI library gives no MPI_THREAD_MULTIPLE: dist.timeout_seconds is not enforced, and a "
                   "rank that stops answering holds the others until the job's time limit");
    return;
  }
  watchdog_ = std::make_unique<Watchdog>(world_, config.timeout_seconds, static_cast<pid_t>(syscall(SYS_gettid)));
}

void DistContext::choose_device(const DistConfig& config) {
  device_ = c10::Device(c10::kCPU);
  int cuda_devices = 0;
#ifdef RSO_WITH_CUDA
  cuda_devices = static_cast<int>(c10::cuda::device_count());
#endif
  const bool want_cuda = config.device == DeviceKind::cuda ||
                         (config.device == DeviceKind::automatic && cuda_devices > 0);
  if (config.device == DeviceKind::cuda && cuda_devices == 0) {
#ifdef RSO_WITH_CUDA
    RSO_THROW(ConfigError, "dist.device = cuda but no CUDA device is visible on " + host_);
#else
    RSO_THROW(ConfigError, "dist.device = cuda but this build has no CUDA (LibTorch without CUDA)");
#endif
  }
  if (!want_cuda) {
    device_description_ = "cpu";
    return;
  }
#ifdef RSO_WITH_CUDA
  // One device per node-local rank; more ranks than GPUs share round-robin.
  const int index = local_rank_ % cuda_devices;
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(index));
  device_ = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  cudaDeviceProp properties{};
  RSO_CUDA_CHECK(cudaGetDeviceProperties(&properties, index));
  device_description_ = "cuda:" + std::to_string(index) + " " + properties.name;
#endif
}

void DistContext::set_threads(const DistConfig& config) {
  int threads = static_cast<int>(config.threads);
  if (threads <= 0) {
    // The cores this rank may run on: when the launcher bound the rank
    // (mpirun's default binds one core per rank), its affinity mask says so;
    // unbound ranks split the node's cores among the node's ranks.
    cpu_set_t mask;
    CPU_ZERO(&mask);
    const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    int allowed = hardware;
    if (sched_getaffinity(0, sizeof mask, &mask) == 0) allowed = CPU_COUNT(&mask);
    threads = allowed < hardware ? allowed : hardware / local_size_;
    threads = std::max(1, threads);
  }
  at::set_num_threads(threads);
  try {
    at::set_num_interop_threads(1);  // may only be set once per process
  } catch (const std::exception&) {
  }
  torch_threads_ = threads;
  if (device_.is_cpu())
    device_description_ = "cpu (" + std::to_string(threads) + (threads == 1 ? " thread)" : " threads)");
}

void DistContext::choose_backend(const DistConfig& config) {
  nccl_.reset();
  backend_ = CollectiveBackend::mpi;
  const bool want_nccl = config.backend == CollectiveBackend::nccl ||
                         (config.backend == CollectiveBackend::automatic && device_.is_cuda());
  if (!want_nccl) return;
#ifndef RSO_WITH_NCCL
  if (config.backend == CollectiveBackend::nccl)
    RSO_THROW(ConfigError, "dist.backend = nccl but this build has no NCCL");
  if (size_ > 1 && rank_ == 0) spdlog::info("this build has no NCCL: tensor collectives use MPI");
  return;
#else
  // Every rank must be on a GPU of its own: NCCL refuses two ranks on one
  // device ("Duplicate GPU detected"). GPU identity is its UUID, which stays
  // right when each rank sees its own GPU as device 0.
  std::string identity = "cpu";
  if (device_.is_cuda()) {
    cudaDeviceProp properties{};
    RSO_CUDA_CHECK(cudaGetDeviceProperties(&properties, device_.index()));
    identity.assign(properties.uuid.bytes, sizeof properties.uuid.bytes);
  }
  std::vector<std::string> identities;
  boost::mpi::all_gather(world_, identity, identities);
  std::set<std::string> distinct(identities.begin(), identities.end());
  const bool all_cuda = distinct.count("cpu") == 0;
  const bool exclusive = distinct.size() == identities.size();
  if (!all_cuda || !exclusive) {
    const std::string why = !all_cuda ? "not every rank has a GPU" : "ranks share a GPU, which NCCL refuses";
    if (config.backend == CollectiveBackend::nccl) RSO_THROW(ConfigError, "dist.backend = nccl but " + why);
    if (rank_ == 0) spdlog::warn("{}: tensor collectives fall back to MPI through host memory", why);
    return;
  }
  nccl_ = NcclCommunicator::create(world_);
  backend_ = CollectiveBackend::nccl;
#endif
}

void DistContext::barrier() const { RSO_MPI_CHECK(MPI_Barrier(static_cast<MPI_Comm>(world_))); }

void DistContext::raise_if_any_failed(const std::exception_ptr& failure) const {
  int failed_rank = failure ? rank_ : size_;
  int lowest = size_;
  int failures = 0;
  const int failed = failure ? 1 : 0;
  RSO_MPI_CHECK(MPI_Allreduce(&failed_rank, &lowest, 1, MPI_INT, MPI_MIN, static_cast<MPI_Comm>(world_)));
  if (lowest == size_) return;
  RSO_MPI_CHECK(MPI_Allreduce(&failed, &failures, 1, MPI_INT, MPI_SUM, static_cast<MPI_Comm>(world_)));

  // The lowest failing rank tells everyone what went wrong.
  int kind = static_cast<int>(ErrorKind::internal);
  std::string message, origin;
  if (rank_ == lowest) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      const Error typed = typed_error(e);
      kind = static_cast<int>(typed.kind());
      message = typed.message();
      origin = typed.origin();
    } catch (...) {
      message = "unknown exception";
    }
  }
  boost::mpi::broadcast(world_, kind, lowest);
  boost::mpi::broadcast(world_, message, lowest);
  boost::mpi::broadcast(world_, origin, lowest);
  if (failures < size_) {
    message = "on " + std::to_string(failures) + " of " + std::to_string(size_) + " ranks, first rank " +
              std::to_string(lowest) + ": " + message;
  }
  Error agreed(static_cast<ErrorKind>(kind), message, origin);
  agreed.mark_on_all_ranks();
  throw agreed;
}

void DistContext::abort(int exit_status) const noexcept {
  MPI_Abort(MPI_COMM_WORLD, exit_status);
  std::_Exit(exit_status);
}

}  // namespace rso
