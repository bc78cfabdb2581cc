#!/usr/bin/env bash
# A scaling sweep on a Slurm cluster: one job per rank count (or node count),
# each running perf/scaling.sh for its count under `srun --mpi=pmix`; then one
# CSV of every row, the efficiencies and their plot. Run it on a login node,
# from a shared file system (the jobs run perf/scaling.sh and build/rso).
#
#   jobs/scaling-sweep.sh --ranks 1,2,4,8,16 [options] [-- more sbatch options]
#   jobs/scaling-sweep.sh --nodes 1,2,4,8 --tasks-per-node 4 [options] [-- ...]
#
# Options:
#   --ranks LIST           rank counts, packed on as few nodes as Slurm likes
#   --nodes LIST           node counts, with --tasks-per-node ranks on each
#   --tasks-per-node N     ranks per node with --nodes (e.g. GPUs per node)
#   --threads N            torch threads per rank = --cpus-per-task (default 1)
#   --stages, --modes, --size, --device   passed to perf/scaling.sh (defaults: all, standard, auto)
#   --out DIR              results (default perf/results/scaling-JOBNAME-DATE)
#   --time HH:MM:SS        limit of each job (default 00:30:00)
#   --build DIR            where rso was built (default build)
# Every job gets --exclusive, so that no other job shares its nodes' cores,
# memory bandwidth or network while it is measured.
#
# Writes DIR/scaling.csv (every row), DIR/efficiency.csv and DIR/scaling.png,
# and keeps each job's log and CSV under DIR/jobs/.
set -uo pipefail
me=scaling-sweep.sh
die() { echo "$me: $*" >&2; exit 2; }
source_dir=$(cd "$(dirname "$0")/.." && pwd)
ranks_list=
nodes_list=
tasks_per_node=
threads=1
stages=sample,train
modes=weak,strong
size=standard
device=auto
out=
time_limit=00:30:00
build=$source_dir/build
sbatch_extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --ranks) ranks_list=$2; shift 2 ;;
    --nodes) nodes_list=$2; shift 2 ;;
    --tasks-per-node) tasks_per_node=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --time) time_limit=$2; shift 2 ;;
    --build) build=$(cd "$2" && pwd) || die "no build directory $2"; shift 2 ;;
    --) shift; sbatch_extra=("$@"); break ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$ranks_list$nodes_list" ] || die "give --ranks LIST or --nodes LIST (see --help)"
[ -z "$ranks_list" ] || [ -z "$nodes_list" ] || die "give --ranks or --nodes, not both"
[ -z "$nodes_list" ] || [ -n "$tasks_per_node" ] || die "--nodes needs --tasks-per-node"
command -v sbatch >/dev/null || die "sbatch not found: run me on a Slurm login node"
[ -z "${SLURM_CONF:-}" ] || [ -f "$SLURM_CONF" ] || die "no Slurm controller answers: SLURM_CONF=$SLURM_CONF does not exist"
# Without a configuration scontrol searches DNS for a controller for a minute.
timeout 20 scontrol ping >/dev/null 2>&1 || die "no Slurm controller answers (scontrol ping); is SLURM_CONF right?"
[ -x "$build/rso" ] || die "no $build/rso: build first (./setup.sh build)"
[ -x "$build/tests/make_test_model" ] || die "no $build/tests/make_test_model: build the tests"
out=${out:-$source_dir/perf/results/scaling-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out/jobs" || die "cannot create $out"
out=$(cd "$out" && pwd)
cd "$source_dir" || die "cannot enter $source_dir"

# The workload is made once, here, so that the jobs do not race to make it.
perf/scaling.sh --prepare-only --build "$build" --size "$size" --out "$out" || die "cannot prepare the workload"

counts=${ranks_list:-$nodes_list}
IFS=, read -r -a count_list <<<"$counts"
waits=()
for count in "${count_list[@]}"; do
  if [ -n "$ranks_list" ]; then
    shape=(--ntasks="$count")
    ranks=$count
    name=r$count
  else
    shape=(--nodes="$count" --ntasks-per-node="$tasks_per_node")
    ranks=$((count * tasks_per_node))
    name=n$count
  fi
  # --wait in the background: the sweep ends when every job has.
  sbatch --wait --parsable --exclusive --job-name="rso-scaling-$name" --time="$time_limit" \
    --cpus-per-task="$threads" "${shape[@]}" --output="$out/jobs/$name.log" "${sbatch_extra[@]}" \
    --wrap="perf/scaling.sh --build $build --launcher srun --ranks $ranks --threads $threads --stages $stages --modes $modes \
--size $size --device $device --out $out --csv $out/jobs/$name.csv" >"$out/jobs/$name.id" &
  waits+=("$!:$name")
  echo "$me: submitted $name (${shape[*]}): log $out/jobs/$name.log"
done
failed=0
for entry in "${waits[@]}"; do
  pid=${entry%%:*}
  name=${entry#*:}
  if wait "$pid"; then
    echo "$me: job $(cat "$out/jobs/$name.id" 2>/dev/null) ($name) done"
  else
    echo "$me: job $(cat "$out/jobs/$name.id" 2>/dev/null) ($name) failed; see $out/jobs/$name.log" >&2
    failed=1
  fi
done

# One CSV: the header once, then every job's rows in sweep order.
parts=()
for count in "${count_list[@]}"; do
  name=$([ -n "$ranks_list" ] && echo "r$count" || echo "n$count")
  [ -s "$out/jobs/$name.csv" ] && parts+=("$out/jobs/$name.csv")
done
[ ${#parts[@]} -gt 0 ] || die "no job wrote a CSV; see $out/jobs/*.log"
{ head -n 1 "${parts[0]}"; for part in "${parts[@]}"; do tail -n +2 "$part"; done; } >"$out/scaling.csv"
perf/scaling.sh --report --build "$build" --out "$out" "$out/scaling.csv" || failed=1
echo "$me: $out/scaling.csv, $out/efficiency.csv, $out/scaling.png"
exit "$failed"
