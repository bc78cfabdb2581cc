#!/usr/bin/env bash
# rso under a real Slurm: brings up a one-node cluster on this host
# (local_cluster.sh), then
#   - runs the job scripts outside Slurm (they must refuse, clearly);
#   - submits rso-env and the tiny pipeline with `sbatch --wait` on 2 tasks;
#   - submits rso-train-requeue.sbatch, signals it mid-training as Slurm does
#     before a time limit (SIGUSR1 to the batch shell), and checks that the
#     job checkpointed, was requeued, resumed, and ended with the weights of
#     an uninterrupted run, bit for bit;
#   - lets Slurm itself signal a job before its 1-minute limit
#     (--signal=B:USR1@45) and checks that it was requeued;
#   - sends SIGTERM to a job under mpirun (to the batch shell, then scancel)
#     and checks that it checkpointed and exited 75;
#   - runs a 2-job scaling sweep (jobs/scaling-sweep.sh).
# Every daemon it started is stopped by PID on exit. Exits 77 (skipped) when
# Slurm is not installed or cannot run here.
#
#   test_slurm.sh RSO_BINARY MAKE_TEST_MODEL
set -u
rso=$(realpath "$1")
make_test_model=$(realpath "$2")
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
cluster_script=$source_dir/tests/slurm/local_cluster.sh
work=$(mktemp -d /tmp/rso-slurm.XXXXXX)
chmod 0755 "$work"  # munged runs as user munge and keeps its socket inside
cluster=$work/cluster
cleanup() {
  bash "$cluster_script" stop "$cluster"
  rm -rf "$work"
}
trap cleanup EXIT
source "$source_dir/tests/checks.sh"
source "$source_dir/tests/tiny_pipeline.sh"

# --- outside Slurm: every job script refuses with a clear message -------------------
for script in rso-env.sbatch rso-pipeline.sbatch rso-train-requeue.sbatch; do
  run env -u SLURM_JOB_ID bash "$source_dir/jobs/$script"
  check "$script outside Slurm exits 2" status_is 2
  check "$script outside Slurm says to use sbatch" stderr_has "run me with sbatch"
done
run env SLURM_CONF="$work/absent.conf" bash "$source_dir/jobs/scaling-sweep.sh" --ranks 1,2 --out "$work/sweep"
check "scaling-sweep.sh without a reachable cluster exits 2" status_is 2
check "scaling-sweep.sh says the cluster is not reachable" stderr_has "no Slurm controller answers"

# --- the cluster ------------------------------------------------------------------
started=$SECONDS
cluster_env=$(bash "$cluster_script" start "$cluster")
cluster_status=$?
if [ "$cluster_status" -eq 77 ]; then
  echo "slurm: SKIPPED: no usable Slurm here (see the reason above); install slurm-wlm to run this test"
  exit 77
fi
if [ "$cluster_status" -ne 0 ]; then
  echo "slurm: FAIL: the one-node cluster did not start"
  tail -20 "$cluster"/*.log "$cluster"/munge/*.log 2>/dev/null
  exit 1
fi
eval "$cluster_env"
export PATH="$PATH:/usr/sbin"
echo "slurm: one-node cluster up in $((SECONDS - started)) s ($SLURM_CONF)"
export RSO_BINARY=$rso
cd "$source_dir" || exit 1

job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
job_field() { scontrol show job "$1" 2>/dev/null | grep -o "$2=[^ ]*" | head -1 | cut -d= -f2; }
# Every `sbatch --wait` has a deadline: a job that cannot start (a wrong node
# description) would otherwise hold the test until ctest's limit.
# wait_until SECONDS COMMAND...: polls COMMAND every 0.2 s; fails after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# --- rso env and the tiny pipeline on 2 tasks --------------------------------------
run timeout 300 sbatch --wait -n 2 --output="$work/env.out" jobs/rso-env.sbatch "$rso"
check "rso-env job exits 0" status_is 0
check "rso-env sees 2 ranks over PMIx" [ "$(grep -cE '^[01] +[^ ]+ +[01] +cpu' "$work/env.out")" -eq 2 ]

run timeout 300 sbatch --wait -n 2 --time=10 --output="$work/pipeline.out" jobs/rso-pipeline.sbatch input/demo.yaml \
  "$work/pipeline" "${tiny_pipeline_flags[@]}"
check "pipeline job exits 0" status_is 0
check "pipeline job ran on 2 ranks" grep -q "2 ranks on 1 nodes" "$work/pipeline.out"
check "pipeline job ran every stage" grep -q "every stage done" "$work/pipeline.out"
check "pipeline job wrote the report" grep -q '"gold_win_rate"' "$work/pipeline/report.json"

# --- requeue on a signal: checkpoint, requeue, resume, same weights ---------------
"$make_test_model" "$work/policy.h5" 5 >/dev/null
awk 'BEGIN { srand(11)
  for (i = 0; i < 64; i++) {
    for (part = 0; part < 3; part++) {
      n = part == 0 ? 3 + int(rand() * 6) : 2 + int(rand() * 8); ids[part] = ""
      for (j = 0; j < n; j++) ids[part] = ids[part] (j ? ", " : "") (1 + int(rand() * 48))
    }
    printf "{\"prompt_ids\": [%s], \"chosen_ids\": [%s], \"rejected_ids\": [%s]}\n", ids[0], ids[1], ids[2]
  } }' >"$work/pairs.jsonl"
# Long enough (2000 steps, some seconds) to be signalled half-way; no
# periodic checkpoints, so the resume can only start from the signal's.
cat >"$work/train.yaml" <<YAML
train:
  policy: $work/policy.h5
  pairs: $work/pairs.jsonl
  steps: 2000
  micro_batch: 2
  learning_rate: 1.0e-3
  checkpoint_every: 0
dist:
  threads: 1
YAML
run timeout 300 sbatch --wait -n 2 --output="$work/uninterrupted.out" jobs/rso-train-requeue.sbatch "$work/train.yaml" \
  "$work/uninterrupted"
check "uninterrupted training job exits 0" status_is 0

job=$(sbatch --parsable -n 2 --output="$work/requeued.out" jobs/rso-train-requeue.sbatch "$work/train.yaml" \
  "$work/requeued")
metrics=$work/requeued/train/metrics.jsonl
mid_training() { [ "$(cat "$metrics" 2>/dev/null | wc -l)" -ge 100 ]; }
check "job $job reaches step 100" wait_until 120 mid_training
# What `#SBATCH --signal=B:USR1@...` does before the time limit: USR1 to the batch shell only.
scancel --batch --signal=USR1 "$job"
pending() { [ "$(job_state "$job")" = PENDING ]; }
check "signalled job is requeued (PENDING)" wait_until 60 pending
check "signalled job stopped before the end" [ "$(wc -l <"$metrics")" -lt 2000 ]
check "the requeued job counts one restart" [ "$(job_field "$job" Restarts)" = 1 ]
# A requeued job waits ~120 s (BeginTime) on this Slurm; start it once the
# first run has left the node: its step daemons gone (the PMIx socket would
# clash) and the node idle again (slurmd has finished cleaning up the job).
first_run_gone() {
  ! pgrep -f "slurmstepd: \[$job\." >/dev/null && sinfo -h -N -o '%t' | grep -qx idle
}
check "the first run leaves the node" wait_until 60 first_run_gone
scontrol update JobId="$job" StartTime=now
finished() { case "$(job_state "$job")" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL) true ;; *) false ;; esac; }
check "requeued job finishes" wait_until 240 finished
check "requeued job completes" [ "$(job_state "$job")" = COMPLETED ]
[ "$(job_state "$job")" = COMPLETED ] || scontrol show job "$job"
check "requeued job exits 0:0" [ "$(job_field "$job" ExitCode)" = 0:0 ]
log=$work/requeued.out
check "the batch shell forwarded the signal" grep -q "SIGUSR1: asking every rank to checkpoint" "$log"
# srun passes the signal to both ranks, not necessarily before the same step's
# reduction: "1 of 2" is also right. Both then stop at that step and exit 75.
check "the ranks agreed to stop at one step" grep -qE "stop requested on [12] of 2 ranks" "$log"
# srun reports ranks that exit together as "tasks 0-1: ...", others one by one.
ranks_exited_75() {
  local ranks
  ranks=$(grep -aoE "tasks? [0-9,-]+: Exited with exit code 75" "$1" |
    sed -E 's/tasks? ([0-9,-]+):.*/\1/' | tr ',' '\n' |
    awk -F- '{ last = NF > 1 ? $2 : $1; for (r = $1; r <= last; r++) print r }' | sort -un | tr '\n' ' ')
  [ "$ranks" = "0 1 " ]
}
check "both ranks exited 75" ranks_exited_75 "$log"
check "the first run exited 75 and requeued" grep -q "checkpointed; requeueing job $job" "$log"
check "the second run knows it is a restart" grep -q "run 2 (SLURM_RESTART_COUNT=1)" "$log"
resumed_step=$(grep -o 'resuming from .* (step [0-9]*)' "$log" | grep -o '[0-9]*)$' | tr -d ')')
in_range() { [ "$1" -gt "$2" ] && [ "$1" -lt "$3" ]; }
check "the second run resumed mid-training" in_range "${resumed_step:-0}" 0 2000
check "resumed training gives the uninterrupted weights bit for bit" \
  cmp -s "$work/uninterrupted/train/model.h5" "$work/requeued/train/model.h5"
# Metrics without their timings (the last fields of each line).
strip_timings() { sed 's/,"tokens_per_second".*//' "$1"; }
check "resumed training gives the uninterrupted metrics" \
  cmp -s <(strip_timings "$work/uninterrupted/train/metrics.jsonl") <(strip_timings "$metrics")
# --- the real mechanism: Slurm itself signals before the time limit -----------------
# A 1-minute limit with --signal=B:USR1@45: slurmctld sends SIGUSR1 to the batch
# shell 15-45 s into the run (it checks limits every 30 s); the job must requeue.
job=$(sbatch --parsable -n 2 --time=1 --signal=B:USR1@45 --output="$work/limit.out" jobs/rso-train-requeue.sbatch \
  "$work/train.yaml" "$work/limit" --set train.steps=10000000)
requeued() { [ "$(job_field "$job" Restarts)" = 1 ]; }
check "a job near its time limit is signalled by Slurm and requeued" wait_until 120 requeued
check "the time-limit signal stopped the ranks at one step" grep -qE "stop requested on [12] of 2 ranks" "$work/limit.out"
check "the time-limit signal left a checkpoint" [ -s "$work/limit/train/checkpoints/latest" ]
scancel "$job"

# --- SIGTERM with Open MPI's launcher ------------------------------------------------
# mpirun, sent SIGTERM, passes it on and exits 1 however the ranks end; the job
# scripts give the ranks time to checkpoint and take rank 0's exit code
# (RSO_EXIT_CODE_FILE) instead.
[ "$(id -u)" -ne 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# mpirun waits up to twice the grace after a rank exits 75; KillWait is 10 s here.
export RSO_MPIRUN_KILL_GRACE=3
# SIGTERM to the batch shell only (a site's wrapper): a checkpoint and a requeue.
job=$(RSO_LAUNCHER=mpirun sbatch --parsable -n 2 --output="$work/term-batch.out" jobs/rso-train-requeue.sbatch \
  "$work/train.yaml" "$work/term-batch" --set train.steps=10000000)
metrics=$work/term-batch/train/metrics.jsonl
check "mpirun job $job reaches step 100" wait_until 120 mid_training
scancel --batch --signal=TERM "$job"
check "a job whose batch shell gets SIGTERM is requeued" wait_until 60 requeued
check "the batch shell turned SIGTERM into a checkpoint request" \
  grep -q "SIGTERM: asking every rank to checkpoint" "$work/term-batch.out"
check "SIGTERM to the batch shell left a checkpoint" [ -s "$work/term-batch/train/checkpoints/latest" ]
scancel "$job"
# scancel: SIGTERM to every process, mpirun and the ranks included.
job=$(RSO_LAUNCHER=mpirun sbatch --parsable -n 2 --output="$work/term-all.out" jobs/rso-train-requeue.sbatch \
  "$work/train.yaml" "$work/term-all" --set train.steps=10000000)
metrics=$work/term-all/train/metrics.jsonl
check "mpirun job $job reaches step 100" wait_until 120 mid_training
scancel "$job"
took_75() { grep -q "launcher exited [0-9]* after rank 0 checkpointed and exited 75: taking 75" "$work/term-all.out"; }
# Rank 0 exits 75 only if the second SIGTERM (mpirun's, after Slurm's) did not
# kill it; the ranks' own output is lost with mpirun's.
check "scancel under mpirun: the job exits 75, not mpirun's 1" wait_until 30 took_75
check "scancel under mpirun left a checkpoint" [ -s "$work/term-all/train/checkpoints/latest" ]

# --- a scaling sweep: one job per rank count, one CSV ------------------------------
run timeout 300 jobs/scaling-sweep.sh --build "$(dirname "$rso")" --ranks 1,2 --size tiny --stages train --modes strong --out "$work/sweep" --time 00:05:00
check "scaling sweep exits 0" status_is 0
check "scaling sweep writes one CSV with both jobs' rows" [ "$(tail -n +2 "$work/sweep/scaling.csv" | wc -l)" -eq 2 ]
check "scaling sweep ran its 2-rank job under srun" grep -q '^train,strong,2,1,1,[0-9]*,32 pairs/step,.*,srun,' \
  "$work/sweep/scaling.csv"
check "scaling sweep computes efficiencies" grep -q '^train,strong,1,[0-9.]*,1.0000,' "$work/sweep/efficiency.csv"
check "scaling sweep plots them" [ "$(head -c 4 "$work/sweep/scaling.png" | od -An -tx1 | tr -d ' \n')" = 89504e47 ]

echo "slurm: resumed at step ${resumed_step:-?}; $((SECONDS - started)) s with the cluster up"

if [ "$failed" -gt 0 ]; then
  for f in "$work"/*.out; do
    echo "--- $f"
    grep -a '^srun: ' "$f"
    grep -av '^  ' "$f" | tail -n 15
  done
  tail -n 25 "$cluster/slurmctld.log" "$cluster/slurmd.log"
fi
finish_checks slurm
