#!/usr/bin/env bash
# Two uninterrupted runs of a small pipeline (2 ranks) in different run
# directories must give the same bytes, but for the files that name the
# directory. Then the kill trials: the pipeline is SIGKILLed on a random rank,
# in a random stage, at a random time within that stage's duration in the
# uninterrupted run (so every stage is hit over the trials however fast the
# machine runs), then run again with the same command until it finishes. Each
# trial's run directory must end byte-identical to the uninterrupted run's
# (every file but the lock and those that record timings: metrics.jsonl,
# summary.json, sample/stats.json).
#
#   test_kill.sh RSO MPIEXEC "MPIEXEC_FLAGS;..." TRIALS [SEED] [RECORD.tsv]
#
# SEED (default: from the clock, printed) makes the moments and ranks
# repeatable (RSO_KILL_STAGES="sample train" narrows the stages aimed at);
# RECORD gets one line per trial (seed, trial, delay, rank, stage hit, the
# job's exit, reruns, verdict) for docs/KILL_TRIALS.md (tests/kill/trials_table.py).
set -uo pipefail
rso=$1 mpiexec=$2
IFS=';' read -r -a mpiexec_flags <<<"$3"
trials=$4
seed=${5:-$(date +%s)}
record=${6:-}
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/checks.sh
source "$source_dir/tests/checks.sh"
# shellcheck source=tests/tiny_pipeline.sh
source "$source_dir/tests/tiny_pipeline.sh"
echo "kill trials: $trials, seed $seed (test_kill.sh ... $trials $seed to repeat)"
RANDOM=$seed

# Checkpoints often, sampling in several blocks: kills land between and in
# the middle of checkpoint and block writes.
flags=("${tiny_pipeline_flags[@]}" --set sft.steps=16 --set sft.checkpoint_every=2 --set reward.steps=8
  --set reward.checkpoint_every=2 --set train.steps=8 --set train.checkpoint_every=2 --set task.sample_prompts=24
  --set sample.block_size=2
  --set log.level=info)
pipeline() {  # pipeline LOG: the same command every time, in the same directory
  "$mpiexec" "${mpiexec_flags[@]}" -n 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/run" \
    "${flags[@]}" >>"$1" 2>&1
}
# The files compared: all but the lock and the timing records.
compared_files() {
  (cd "$1" && find . -type f ! -name .lock ! -name metrics.jsonl ! -name summary.json ! -path ./sample/stats.json |
    LC_ALL=C sort)
}
same_run() {  # same_run REFERENCE TRIAL: names and bytes
  diff <(compared_files "$1") <(compared_files "$2") >"$work/diff" || return 1
  local f
  while read -r f; do
    cmp -s "$1/$f" "$2/$f" || { echo "differs: $f" >"$work/diff"; return 1; }
  done < <(compared_files "$1")
}

start=$(date +%s%N)
pipeline "$work/reference.log"
reference_status=$?
duration_ms=$((($(date +%s%N) - start) / 1000000))
check "the uninterrupted pipeline finishes" [ "$reference_status" -eq 0 ]
[ "$reference_status" -eq 0 ] || { tail -20 "$work/reference.log"; finish_checks "kill trials"; exit 1; }
mv "$work/run" "$work/reference"
# A writer killed between writing a temporary and renaming it leaves
# NAME.tmp.PID.N behind; the next command in the directory removes it (the pid
# here is above any pid_max, so no process has it).
cp -r "$work/reference" "$work/run"
printf '{}' >"$work/run/stages/data.json.tmp.4194305.0"
pipeline "$work/leftover.log"
check "a finished pipeline run again exits 0" [ $? -eq 0 ]
check "a temporary that a killed writer left is removed by the next command" \
  [ ! -e "$work/run/stages/data.json.tmp.4194305.0" ]
check "and the run directory is as the uninterrupted run left it" same_run "$work/reference" "$work/run"
# The same pipeline in another run directory gives the same bytes, but for
# the files that name the directory (config.yaml, the eval reports and their
# stage record).
"$mpiexec" "${mpiexec_flags[@]}" -n 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/elsewhere/run-2" \
  "${flags[@]}" >"$work/elsewhere.log" 2>&1
check "the pipeline in another run directory exits 0" [ $? -eq 0 ]
naming_the_directory=(./config.yaml ./report.json ./eval/report.json ./eval/report.md ./stages/eval.json)
if diff <(compared_files "$work/reference") <(compared_files "$work/elsewhere/run-2") >/dev/null; then
  differing=$(compared_files "$work/reference" | while read -r f; do
    cmp -s "$work/reference/$f" "$work/elsewhere/run-2/$f" || echo "$f"
  done)
  unexpected=$(printf '%s\n' "$differing" | grep -v -x -F "$(printf '%s\n' "${naming_the_directory[@]}")" |
    grep . | tr '\n' ' ')
else
  unexpected="the lists of files"
fi
check "another run directory gives the same files but those that name it (differ: ${unexpected:-none})" [ -z "$unexpected" ]
echo "uninterrupted: $((duration_ms / 1000)).$(((duration_ms % 1000) / 100)) s, $(compared_files "$work/reference" | wc -l) files compared"

# Each stage's duration in the uninterrupted run (ms).
# RSO_KILL_STAGES="sample train" narrows the stages aimed at (to chase one).
read -r -a stages <<<"${RSO_KILL_STAGES:-data tokenizer init sft pairs reward sample train eval}"
declare -A stage_ms
while read -r name seconds; do
  stage_ms[$name]=$(awk -v s="$seconds" 'BEGIN { printf "%d", s * 1000 }')
done < <(grep -o 'pipeline: stage [a-z]* done ([0-9.]* s)' "$work/reference.log" |
  sed -E 's/pipeline: stage ([a-z]+) done \(([0-9.]+) s\)/\1 \2/')

for trial in $(seq 1 "$trials"); do
  rm -rf "$work/run"
  : >"$work/trial.log"
  target=${stages[RANDOM % ${#stages[@]}]}
  within_ms=${stage_ms[$target]:-0}
  delay_ms=$(((RANDOM * 32768 + RANDOM) % (within_ms + 1)))
  rank=$((RANDOM % 2))
  pipeline "$work/trial.log" &
  launcher=$!
  # Wait for the stage to begin (rank 0 logs it), then for the moment within it.
  started=$(date +%s%N)
  while kill -0 "$launcher" 2>/dev/null && ! grep -q "pipeline: stage $target:" "$work/trial.log"; do sleep 0.02; done
  sleep "$((delay_ms / 1000)).$(printf '%03d' $((delay_ms % 1000)))"
  delay_ms=$((($(date +%s%N) - started) / 1000000))
  # The rank's process: a child of the launcher with that rank in its environment.
  victim=""
  for pid in $(pgrep -P "$launcher" -f "$rso"; pgrep -f "$rso pipeline" 2>/dev/null); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$rank"; then
      grep -q "$work/run" "/proc/$pid/cmdline" 2>/dev/null && { victim=$pid; break; }
    fi
  done
  stage=$(grep -o 'pipeline: stage [a-z]*' "$work/trial.log" | tail -1 | awk '{print $3}')
  if [ -n "$victim" ]; then
    kill -KILL "$victim" 2>/dev/null
  elif kill -0 "$launcher" 2>/dev/null; then
    kill -KILL "$launcher" 2>/dev/null  # the ranks not started yet: the launcher itself
    stage="(launcher)" rank=-1
  else
    stage="(finished)"  # the run ended before the moment came
  fi
  wait "$launcher"
  killed_status=$?
  reruns=0
  status=1
  while [ "$status" -ne 0 ] && [ "$reruns" -lt 3 ]; do
    reruns=$((reruns + 1))
    pipeline "$work/trial.log"
    status=$?
  done
  verdict=identical
  if [ "$status" -ne 0 ]; then
    verdict="rerun exit $status"
  elif ! same_run "$work/reference" "$work/run"; then
    verdict="not identical: $(head -c 300 "$work/diff" | tr '\n' ' ')"
  fi
  printf 'trial %d: SIGKILL rank %d at %d.%03d s (stage %s; the job exited %d), %d rerun(s): %s\n' "$trial" "$rank" \
    $((delay_ms / 1000)) $((delay_ms % 1000)) "${stage:-none yet}" "$killed_status" "$reruns" "$verdict"
  [ -z "$record" ] || printf '%s\t%d\t%d\t%d\t%s\t%d\t%d\t%s\n' "$seed" "$trial" "$delay_ms" "$rank" "${stage:-none yet}" \
    "$killed_status" "$reruns" "$verdict" >>"$record"
  check "trial $trial (rank $rank at ${delay_ms} ms, stage ${stage:-none yet}) ends identical to the uninterrupted run" \
    [ "$verdict" = identical ]
  [ "$verdict" = identical ] || tail -30 "$work/trial.log"
done
finish_checks "kill trials"
