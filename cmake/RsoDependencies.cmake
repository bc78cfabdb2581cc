# Finds every dependency of rso and decides RSO_WITH_CUDA / RSO_WITH_NCCL from
# what is really there (LibTorch built with CUDA, nccl.h and libnccl found).

# --- LibTorch -------------------------------------------------------------
# Debian's libtorch-dev (CPU) or any LibTorch given by CMAKE_PREFIX_PATH /
# Torch_DIR, e.g. `python3 -c "import torch;print(torch.utils.cmake_prefix_path)"`.
find_package(Torch REQUIRED)
# LibTorch's imported targets carry its ABI flag; keep it for our own TUs too.
set(CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS} ${TORCH_CXX_FLAGS}")
set(RSO_TORCH_VERSION "${Torch_VERSION}")

set(RSO_TORCH_HAS_CUDA OFF)
if(TORCH_CUDA_LIBRARIES OR TARGET torch_cuda)
  set(RSO_TORCH_HAS_CUDA ON)
endif()
option(RSO_WITH_CUDA "Build the CUDA paths (needs a LibTorch built with CUDA)" ${RSO_TORCH_HAS_CUDA})
if(RSO_WITH_CUDA AND NOT RSO_TORCH_HAS_CUDA)
  message(FATAL_ERROR "RSO_WITH_CUDA=ON but the LibTorch found at ${Torch_DIR} was built without CUDA")
endif()

# The CUDA runtime API (device properties, UUIDs) is called directly.
if(RSO_WITH_CUDA)
  find_package(CUDAToolkit REQUIRED)
endif()

# --- NCCL -----------------------------------------------------------------
set(RSO_NCCL_FOUND OFF)
if(RSO_WITH_CUDA)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ENV NCCL_HOME PATH_SUFFIXES include)
  find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ENV NCCL_HOME PATH_SUFFIXES lib lib64)
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(RSO_NCCL_FOUND ON)
    file(STRINGS "${NCCL_INCLUDE_DIR}/nccl.h" _nccl_version_lines REGEX "#define NCCL_(MAJOR|MINOR|PATCH) ")
    string(REGEX REPLACE ".*NCCL_MAJOR ([0-9]+).*" "\\1" _maj "${_nccl_version_lines}")
    string(REGEX REPLACE ".*NCCL_MINOR ([0-9]+).*" "\\1" _min "${_nccl_version_lines}")
    string(REGEX REPLACE ".*NCCL_PATCH ([0-9]+).*" "\\1" _pat "${_nccl_version_lines}")
    set(RSO_NCCL_VERSION "${_maj}.${_min}.${_pat}")
  endif()
endif()
option(RSO_WITH_NCCL "Synchronise GPU gradients with NCCL" ${RSO_NCCL_FOUND})
if(RSO_WITH_NCCL AND NOT RSO_NCCL_FOUND)
  message(FATAL_ERROR "RSO_WITH_NCCL=ON but nccl.h / libnccl were not found (set NCCL_HOME)")
endif()

# --- MPI and Boost.MPI ----------------------------------------------------
find_package(MPI REQUIRED COMPONENTS CXX)
# Which launcher: Open MPI's mpiexec needs --oversubscribe (and root flags)
# for the multi-rank tests on small machines.
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE _mpiexec_version
                ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REGEX MATCH "[^\n]*" RSO_MPIEXEC_VERSION "${_mpiexec_version}")
set(RSO_MPIEXEC_IS_OPENMPI OFF)
if(_mpiexec_version MATCHES "Open MPI|OpenRTE")
  set(RSO_MPIEXEC_IS_OPENMPI ON)
endif()
# Hosts without a Boost.MPI library use the relocatable Boost 1.74 bundle:
# pass -DBoost_DIR=<prefix>/usr/lib/x86_64-linux-gnu/cmake/Boost-1.74.0.
set(RSO_BOOST_VERSION_REQUEST "" CACHE STRING "Exact Boost version to require (e.g. 1.74.0 for the bundle)")
if(RSO_BOOST_VERSION_REQUEST)
  find_package(Boost ${RSO_BOOST_VERSION_REQUEST} EXACT CONFIG REQUIRED COMPONENTS mpi serialization)
else()
  find_package(Boost CONFIG REQUIRED COMPONENTS mpi serialization)
endif()

# --- HDF5 (C API; the serial library is enough: ranks write their own files)
find_package(HDF5 REQUIRED COMPONENTS C)

# --- Text, config, CLI, JSON, logging ----------------------------------------
find_package(yaml-cpp REQUIRED)
if(TARGET yaml-cpp::yaml-cpp)
  set(RSO_YAML_TARGET yaml-cpp::yaml-cpp)
else()
  set(RSO_YAML_TARGET yaml-cpp)
endif()
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3.9 REQUIRED)
find_package(spdlog REQUIRED)
# LibTorch 2.x wheels carry fmt headers of their own (fmt 11/12) in their
# include directory, which comes before /usr/include; a system spdlog built
# on the system fmt (SPDLOG_FMT_EXTERNAL, as Debian and Ubuntu ship it) then
# meets the wrong fmt and fails to compile. A directory holding only a link
# to the system's fmt headers goes first (see src/CMakeLists.txt).
set(RSO_SYSTEM_FMT_FIRST "")
foreach(_dir IN LISTS TORCH_INCLUDE_DIRS)
  if(EXISTS "${_dir}/fmt/core.h" AND NOT RSO_SYSTEM_FMT_FIRST)
    find_path(RSO_SYSTEM_FMT_INCLUDE fmt/core.h PATHS /usr/include /usr/local/include NO_DEFAULT_PATH)
    if(RSO_SYSTEM_FMT_INCLUDE)
      set(RSO_SYSTEM_FMT_FIRST "${CMAKE_BINARY_DIR}/system-fmt")
      file(MAKE_DIRECTORY "${RSO_SYSTEM_FMT_FIRST}")
      file(CREATE_LINK "${RSO_SYSTEM_FMT_INCLUDE}/fmt" "${RSO_SYSTEM_FMT_FIRST}/fmt" SYMBOLIC)
      message(STATUS "LibTorch ships its own fmt (${_dir}/fmt): ${RSO_SYSTEM_FMT_INCLUDE}/fmt goes first")
    endif()
  endif()
endforeach()
find_package(PkgConfig REQUIRED)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)

if(RSO_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(RSO_BUILD_PERF)
  find_package(benchmark QUIET)
endif()
