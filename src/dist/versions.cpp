// Versions of the libraries linked into this binary, read at run time where
// the library can tell (MPI, HDF5, NCCL, CUDA) and at build time otherwise.
#include <H5public.h>
#include <mpi.h>
#include <torch/version.h>

#include <boost/version.hpp>

#include "nccl_communicator.hpp"
#include "rso/dist/dist_context.hpp"

#ifdef RSO_WITH_CUDA
#include <cuda_runtime_api.h>

#include "cuda_check.hpp"
#endif

#ifndef RSO_VERSION
#define RSO_VERSION "unknown"
#endif

namespace rso {

namespace {
std::string first_line(std::string text) {
  const auto end = text.find_first_of("\r\n");
  if (end != std::string::npos) text.resize(end);
  while (!text.empty() && (text.back() == ' ' || text.back() == ',')) text.pop_back();
  return text;
}

#ifdef RSO_WITH_CUDA
std::string dotted_cuda(int code) {
  return std::to_string(code / 1000) + "." + std::to_string(code % 1000 / 10);
}
#endif
}  // namespace

VersionInfo version_info() {
  VersionInfo info;
  info.rso = RSO_VERSION;
  info.torch = TORCH_VERSION;

  char mpi_text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(mpi_text, &length);
  int major = 0, minor = 0;
  MPI_Get_version(&major, &minor);
  info.mpi = first_line(std::string(mpi_text, length)) + " (MPI " + std::to_string(major) + "." +
             std::to_string(minor) + ")";

  info.boost = std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) +
               "." + std::to_string(BOOST_VERSION % 100);

  unsigned h5_major = 0, h5_minor = 0, h5_release = 0;
  H5get_libversion(&h5_major, &h5_minor, &h5_release);
  info.hdf5 = std::to_string(h5_major) + "." + std::to_string(h5_minor) + "." + std::to_string(h5_release);

  info.nccl = NcclCommunicator::version();
#ifdef RSO_WITH_CUDA
  int runtime = 0, driver = 0;
  RSO_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  RSO_CUDA_CHECK(cudaDriverGetVersion(&driver));
  info.cuda = "runtime " + dotted_cuda(runtime) + ", driver " + dotted_cuda(driver);
#endif
  return info;
}

}  // namespace rso
