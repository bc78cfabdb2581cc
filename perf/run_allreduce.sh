#!/usr/bin/env bash
# Allreduce: rso (MPI backend on CPU, NCCL on GPUs) and the torch.distributed
# peer, same sizes, same machine, one table.
#
#   perf/run_allreduce.sh [BUILD_DIR] [RANKS]
set -euo pipefail
build=${1:-build}
ranks=${2:-2}
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
echo "# $(date -u +%F) $(hostname) $(nproc) cores, ranks=$ranks"
mpirun -np "$ranks" --oversubscribe "$build/perf/bench_allreduce"
# Debian's python3-torch lives with the system interpreter.
python=${PEER_PYTHON:-/usr/bin/python3}
"$python" "$(dirname "$0")/peer_allreduce.py" --ranks "$ranks" | grep '^|'
