#!/usr/bin/env bash
# Weak and strong scaling of `rso sample` and `rso train` over rank counts,
# with where the time goes (the programs' own phase times: compute, waiting
# for the slowest rank, collectives, I/O).
#
#   perf/scaling.sh [--ranks 1,2,4,8,16] [--stages sample,train] [--modes weak,strong]
#                   [--launcher mpirun|srun] [--threads N] [--size standard|tiny] [--device D]
#                   [--build build] [--out perf/results/scaling] [--csv FILE]
#   perf/scaling.sh --prepare-only [--size ...] [--out ...]
#   perf/scaling.sh --report [--out DIR] [CSV...]
#
# Measuring appends one row per stage, mode and rank count to --csv (default
# OUT/scaling.csv); separate invocations (one Slurm job per rank count, see
# jobs/scaling-sweep.sh) write separate files. --report merges the CSVs given
# (default OUT/scaling.csv), computes the efficiencies against the 1-rank rows
# (strong: T1 / (R * TR); weak: T1 / TR) into OUT/efficiency.csv and plots
# them into OUT/scaling.png with `rso plot --csv`.
#
# Workloads (fixed so that runs compare; --size tiny is for tests):
#   model      standard: hidden 256, 4 layers, 4 heads, SwiGLU 688, vocab 2000
#              (the demo's policy); the reward model is the same size
#   sample     n_c 16, n_d 4, 32 new tokens, prompts of 8-40 tokens, one
#              prompt per block; weak: 4 prompts per rank; strong: 32 prompts
#   train      DPO (sigmoid-norm), AdamW, pairs of 16-80 tokens, 10 steps;
#              weak: 4 pairs per rank per step; strong: 32 pairs per step
# Ranks run --threads torch threads each (default 1) on --device (dist.device:
# auto, cpu or cuda; cpu measures CPU ranks on a GPU host). With mpirun and
# more ranks than cores the ranks are oversubscribed; the CSV records the cores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(dirname "$here")
ranks_list=1,2,4,8,16
stages=sample,train
modes=weak,strong
launcher=mpirun
threads=1
size=standard
device=auto
build=$source_dir/build
out=$source_dir/perf/results/scaling
csv=
action=measure
report_inputs=()
die() { echo "scaling.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --ranks) ranks_list=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --launcher) launcher=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --csv) csv=$2; shift 2 ;;
    --prepare-only) action=prepare; shift ;;
    --report) action=report; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ "$action" = report ] || die "unexpected argument $1 (see --help)"; report_inputs+=("$1"); shift ;;
  esac
done
case "$launcher" in mpirun | srun) ;; *) die "--launcher must be mpirun or srun" ;; esac
case "$size" in standard | tiny) ;; *) die "--size must be standard or tiny" ;; esac
mkdir -p "$out"
out=$(cd "$out" && pwd)
csv=${csv:-$out/scaling.csv}
rso=$build/rso
make_model=$build/tests/make_test_model
python=${PYTHON:-python3}
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# The cores of this node (nproc would follow OMP_NUM_THREADS).
cores=$(getconf _NPROCESSORS_ONLN)

# --- the workload: models, prompts and pairs, made once per OUT and size -----------
workload=$out/workload-$size
prepare() {
  [ -f "$workload/.complete" ] && return
  [ -x "$make_model" ] || die "no $make_model (build the tests: cmake --build $build)"
  mkdir -p "$workload"
  local dims
  if [ "$size" = standard ]; then
    dims=(vocab=2000 hidden=256 layers=4 heads=4 kv_heads=4 ffn=688 positions=256)
  else
    dims=(vocab=200 hidden=32 layers=1 heads=2 kv_heads=2 ffn=64 positions=256)
  fi
  "$make_model" "$workload/policy.h5" 1 - policy "${dims[@]}" >/dev/null
  "$make_model" "$workload/reward.h5" 2 - pointwise "${dims[@]}" >/dev/null
  local vocab=${dims[0]#vocab=}
  # Prompts of 8-40 tokens and pairs of 16-80, seeded: the same files for every run.
  awk -v vocab="$vocab" 'BEGIN { srand(7)
    for (i = 0; i < 512; i++) { n = 8 + int(rand() * 33); s = ""
      for (j = 0; j < n; j++) s = s (j ? ", " : "") (1 + int(rand() * (vocab - 2)))
      printf "{\"id\": \"p%d\", \"prompt_ids\": [%s]}\n", i, s } }' >"$workload/prompts.jsonl"
  awk -v vocab="$vocab" 'BEGIN { srand(8)
    for (i = 0; i < 1024; i++) {
      for (part = 0; part < 3; part++) { n = part == 0 ? 8 + int(rand() * 25) : 8 + int(rand() * 25); ids[part] = ""
        for (j = 0; j < n; j++) ids[part] = ids[part] (j ? ", " : "") (1 + int(rand() * (vocab - 2))) }
      printf "{\"prompt_ids\": [%s], \"chosen_ids\": [%s], \"rejected_ids\": [%s]}\n", ids[0], ids[1], ids[2] } }' \
    >"$workload/pairs.jsonl"
  touch "$workload/.complete"
}

# --- one measurement --------------------------------------------------------------
launch() {  # launch RANKS CMD...
  local ranks=$1
  shift
  if [ "$launcher" = srun ]; then
    srun --mpi=pmix -n "$ranks" --cpus-per-task="$threads" "$@"
  else
    local extra=()
    [ "$((ranks * threads))" -le "$cores" ] || extra=(--oversubscribe)
    mpirun -np "$ranks" "${extra[@]}" "$@"
  fi
}

# JSON fields and the row, written by Python from the stage's own summary.
row_from_summary() {  # row_from_summary STAGE MODE RANKS WORK WALL SUMMARY.json
  "$python" - "$@" "$launcher" "$threads" "$cores" "${SLURM_JOB_NUM_NODES:-1}" "$(hostname -s)" <<'PY'
import json, sys
stage, mode, ranks, work, wall, path, launcher, threads, cores, nodes, host = sys.argv[1:]
s = json.load(open(path))
if stage == "sample":
    run = s["this_run"]
    seconds, rate, unit = run["seconds"], run["new_tokens_per_second"], "new_tokens/s"
    p = run["seconds_by_phase"]
    compute = p["generate_and_score"]
    wait = p["wait_and_exchange"]["max"]
    collective = p["wait_and_exchange"]["min"]  # the fastest rank's wait: little imbalance in it
    io = p["write_blocks"]["max"] + p["manifest"]["max"]
else:
    seconds, rate, unit = s["seconds"], s["tokens_per_second"], "tokens/s"
    p = s["seconds_by_phase"]
    compute = p["compute"]
    wait = p["wait_for_slowest"]["max"]
    collective = p["gradient_allreduce"]["max"] + p["metrics_reduce"]["max"]
    io = p["checkpoint"]["max"]
print(",".join(str(x) for x in [stage, mode, ranks, nodes, threads, cores, work, f"{seconds:.4f}", f"{rate:.1f}", unit,
                                f"{compute['max']:.4f}", f"{compute['min']:.4f}", f"{wait:.4f}", f"{collective:.4f}",
                                f"{io:.4f}", wall, launcher, host]))
PY
}

header="stage,mode,ranks,nodes,threads,cores,work,seconds,rate,rate_unit,compute_max,compute_min,wait_max,collective,io_max,wall_seconds,launcher,host"

measure_one() {  # measure_one STAGE MODE RANKS
  local stage=$1 mode=$2 ranks=$3
  local run=$out/runs/$stage-$mode-r$ranks
  rm -rf "$run"
  mkdir -p "$run" "$out/logs"
  local flags=(--run-dir "$run" --set dist.threads="$threads" --set dist.device="$device" --set log.progress_seconds=1000)
  local work summary
  if [ "$stage" = sample ]; then
    local prompts=$([ "$mode" = weak ] && echo $((4 * ranks)) || echo 32)
    head -n "$prompts" "$workload/prompts.jsonl" >"$run/prompts.jsonl"
    work="$prompts prompts"
    flags+=(--set sample.policy="$workload/policy.h5" --set sample.reward_model="$workload/reward.h5"
      --set sample.prompts="$run/prompts.jsonl" --set sample.num_candidates=16 --set sample.num_samples=4
      --set sample.max_new_tokens=32 --set sample.block_size=1)
    summary=$run/sample/stats.json
  else
    local batch micro
    if [ "$mode" = weak ]; then batch=$((4 * ranks)); micro=4; else batch=32; micro=$((32 / ranks)); fi
    [ "$micro" -ge 1 ] && [ "$((micro * ranks))" -eq "$batch" ] || { echo "skip train $mode r$ranks: 32 pairs do not split"; return; }
    work="$batch pairs/step"
    flags+=(--set train.policy="$workload/policy.h5" --set train.pairs="$workload/pairs.jsonl"
      --set train.steps=10 --set train.micro_batch="$micro" --set train.checkpoint_every=0)
    summary=$run/train/summary.json
  fi
  local started=$SECONDS
  if ! launch "$ranks" "$rso" "$stage" "${flags[@]}" >"$out/logs/$stage-$mode-r$ranks.log" 2>&1; then
    echo "scaling.sh: $stage $mode on $ranks ranks failed; see $out/logs/$stage-$mode-r$ranks.log" >&2
    tail -5 "$out/logs/$stage-$mode-r$ranks.log" >&2
    exit 1
  fi
  local row
  row=$(row_from_summary "$stage" "$mode" "$ranks" "$work" "$((SECONDS - started))" "$summary")
  [ -s "$csv" ] || echo "$header" >"$csv"
  echo "$row" >>"$csv"
  echo "$row"
}

report() {
  [ ${#report_inputs[@]} -gt 0 ] || report_inputs=("$csv")
  "$python" - "$out/efficiency.csv" "${report_inputs[@]}" <<'PY'
import csv, sys
out, inputs = sys.argv[1], sys.argv[2:]
rows = []
for path in inputs:
    rows += list(csv.DictReader(open(path)))
base = {(r["stage"], r["mode"]): float(r["seconds"]) for r in rows if r["ranks"] == "1"}
with open(out, "w") as f:
    f.write("stage,mode,ranks,seconds,efficiency,compute_max,compute_min,wait_max,collective,io_max\n")
    for r in sorted(rows, key=lambda r: (r["stage"], r["mode"], int(r["ranks"]))):
        key = (r["stage"], r["mode"])
        if key not in base:
            print(f"no 1-rank row for {key}: no efficiency", file=sys.stderr)
            continue
        ranks, seconds = int(r["ranks"]), float(r["seconds"])
        eff = base[key] / seconds if r["mode"] == "weak" else base[key] / (ranks * seconds)
        f.write(f"{r['stage']},{r['mode']},{ranks},{seconds:.4f},{eff:.4f},{r['compute_max']},{r['compute_min']},"
                f"{r['wait_max']},{r['collective']},{r['io_max']}\n")
print(open(out).read(), end="")
PY
  "$rso" plot --csv "$out/efficiency.csv" --x ranks --y efficiency --series stage,mode --reference-y 1 \
    --title "Parallel efficiency of rso sample and rso train" --out "$out/scaling.png"
}

case "$action" in
  prepare) prepare ;;
  report) report ;;
  measure)
    [ -x "$rso" ] || die "no rso binary at $rso (--build DIR)"
    command -v "$python" >/dev/null || die "needs python3 to read the stages' JSON summaries (PYTHON=...)"
    [ "$launcher" = mpirun ] || [ -n "${SLURM_JOB_ID:-}" ] || die "--launcher srun needs a Slurm allocation"
    prepare
    echo "# $(date -u +%F) $(hostname -s), $cores cores, $launcher, $threads thread(s) per rank, device $device, size $size -> $csv"
    IFS=, read -r -a rank_counts <<<"$ranks_list"
    IFS=, read -r -a stage_names <<<"$stages"
    IFS=, read -r -a mode_names <<<"$modes"
    for stage in "${stage_names[@]}"; do
      for mode in "${mode_names[@]}"; do
        for ranks in "${rank_counts[@]}"; do measure_one "$stage" "$mode" "$ranks"; done
      done
    done
    ;;
esac
