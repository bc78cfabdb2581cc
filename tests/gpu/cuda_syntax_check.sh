#!/usr/bin/env bash
# Compiles, syntax only, every source with CUDA-only code (RSO_WITH_CUDA) and
# the GPU tests, on a machine without a GPU or a CUDA LibTorch: against the
# CUDA headers of the distribution's `nvidia-cuda-dev` package (downloaded,
# not installed: Debian non-free, Ubuntu multiverse) and the ATen/c10 CUDA
# headers that Debian's and Ubuntu's libtorch-dev ship. A typo in a GPU path
# is then found before a GPU host is reached.
#
#   tests/gpu/cuda_syntax_check.sh [--cache DIR]     (DIR: ~/.cache/rso-cuda-headers)
#
# It cannot see what only LibTorch 2.x has (branches under TORCH_VERSION
# checks are compiled for the LibTorch installed here), nor NCCL code (no
# nccl.h in the archive), nor link errors: the build on the GPU host
# (perf/gpu_check.sh) stays the real check. Exit 0 when every file compiles.
set -euo pipefail
cd "$(dirname "$0")/../.."
cache=${XDG_CACHE_HOME:-$HOME/.cache}/rso-cuda-headers
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) cache=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "cuda_syntax_check.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
die() { echo "cuda_syntax_check.sh: $*" >&2; exit 69; }
[ -f /usr/include/ATen/cuda/CUDAGraph.h ] || die "no ATen CUDA headers: install libtorch-dev (apt-get install libtorch-dev)"

# --- the CUDA headers, from the archive's nvidia-cuda-dev, once --------------------------------
headers=$cache/usr/include
if [ ! -f "$headers/cuda_runtime_api.h" ]; then
  . /etc/os-release
  case "$ID" in
    debian) sources="deb http://deb.debian.org/debian $VERSION_CODENAME main contrib non-free" ;;
    ubuntu) sources="deb http://archive.ubuntu.com/ubuntu $VERSION_CODENAME main multiverse" ;;
    *) die "unsupported distribution '$ID' (Debian or Ubuntu)" ;;
  esac
  apt_dir=$(mktemp -d)
  trap 'rm -rf "$apt_dir"' EXIT
  mkdir -p "$apt_dir/lists/partial" "$cache"
  echo "$sources" >"$apt_dir/sources.list"
  apt_options=(-o Dir::Etc::sourcelist="$apt_dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
    -o Dir::State::Lists="$apt_dir/lists" -o APT::Sandbox::User=root)
  echo "downloading nvidia-cuda-dev (about 800 MB, headers kept in $cache)" >&2
  apt-get "${apt_options[@]}" update -qq >/dev/null || die "apt-get update with '$sources' failed"
  (cd "$apt_dir" && apt-get "${apt_options[@]}" download -qq nvidia-cuda-dev) || die "cannot download nvidia-cuda-dev"
  dpkg-deb --fsys-tarfile "$apt_dir"/nvidia-cuda-dev_*.deb | tar -x -C "$cache" --wildcards './usr/include/*'
  rm -rf "$apt_dir"
  trap - EXIT
fi
# CMake writes this header when it builds LibTorch; the packages leave it out.
stub=$cache/stub
mkdir -p "$stub/c10/cuda/impl"
printf '#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n' >"$stub/c10/cuda/impl/cuda_cmake_macros.h"

# --- every file with CUDA-only code, and the GPU tests and benchmarks -------------------------
mapfile -t files < <({ grep -rl 'RSO_WITH_CUDA' src --include='*.cpp'; ls tests/gpu/*.cpp perf/bench_*.cpp; } | sort -u)
flags=(-std=c++17 -fsyntax-only -DRSO_WITH_CUDA -Iinclude -Isrc -Iperf -Itests
  -I/usr/include/torch/csrc/api/include -isystem "$stub" -isystem "$headers")
for package in ompi hdf5-serial; do
  # shellcheck disable=SC2207  # word splitting of the flags is intended
  flags+=($(pkg-config --cflags-only-I "$package" 2>/dev/null || true))
done
failed=0
for file in "${files[@]}"; do
  if g++ "${flags[@]}" "$file" 2>"$cache/errors.txt"; then
    echo "ok      $file"
  else
    echo "FAILED  $file"
    grep -E "error" "$cache/errors.txt" | head -20
    failed=$((failed + 1))
  fi
done
echo "${#files[@]} files, $failed failed"
[ "$failed" -eq 0 ]
