#!/usr/bin/env bash
# End-to-end checks of the rso binary: help, exit codes, one-message errors,
# rank tables, and a job that must end when one rank fails alone.
#
#   test_cli.sh RSO_BINARY ABORT_TEST_BINARY MPIEXEC "MPIEXEC_FLAGS"
set -u
rso=$1
abort_binary=$2
mpiexec=$3
# CMake passes a ;-list; per-line rank tags would spoil the table checks.
read -r -a mpi_flags <<<"$(echo "${4:-}" | tr ';' ' ' | sed 's/--tag-output//')"
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
check() {  # check NAME CONDITION-COMMAND...
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name"
    echo "  exit=$status"
    echo "  stdout: $(head -c 2000 "$work/out")"
    echo "  stderr: $(head -c 2000 "$work/err")"
  fi
}
run() {  # run CMD...: exit status in $status, output in $work/out and $work/err
  "$@" >"$work/out" 2>"$work/err"
  status=$?
}
status_is() { [ "$status" -eq "$1" ]; }
stderr_has() { grep -qF -- "$1" "$work/err"; }
stdout_has() { grep -qF -- "$1" "$work/out"; }
stderr_count() { grep -cF -- "$1" "$work/err"; }
mpi() { "$mpiexec" -n "$1" "${mpi_flags[@]}" "${@:2}"; }

# --- help and usage -----------------------------------------------------------
run "$rso" --help
check "rso --help exits 0" status_is 0
check "rso --help lists subcommands" stdout_has "select"
for command in pipeline tokenizer sft reward generate sample select train eval inspect import-hf export-hf env; do
  run "$rso" "$command" --help
  check "rso $command --help exits 0" status_is 0
  check "rso $command --help shows usage" stdout_has "Usage:"
done
run "$rso"
check "rso without a command exits 2" status_is 2
run "$rso" frobnicate
check "an unknown command exits 2" status_is 2
run "$rso" --version
check "--version prints the version" stdout_has "rso 0."

# --- config errors: one clear message, exit 2 --------------------------------------
run "$rso" train --config missing.yaml
check "missing config exits 2" status_is 2
check "missing config is named" stderr_has "rso: config error: cannot open config file 'missing.yaml'"
check "missing config gives one line" [ "$(wc -l <"$work/err")" -eq 1 ]

printf 'run:\n  seed: 3\nsample:\n  num_candidates: 16\n  betta: 0.3\n' >"$work/unknown.yaml"
run "$rso" train --config "$work/unknown.yaml"
check "unknown key exits 2" status_is 2
check "unknown key names key, file:line and suggestion" \
  stderr_has "unknown config key 'sample.betta' ($work/unknown.yaml:5); did you mean 'sample.beta'?"

run "$rso" sample --set sample.beta=-1
check "out-of-range --set exits 2" status_is 2
check "out-of-range --set is named" stderr_has "'sample.beta' = -1 is out of range: must be > 0 (--set sample.beta=-1)"

run "$rso" sample --set sample.top_k=many
check "wrong type exits 2" status_is 2
check "wrong type is named" stderr_has "'sample.top_k' = 'many' must be an integer"

run mpi 2 "$rso" train --config "$work/unknown.yaml"
check "2 ranks: config error exits 2" status_is 2
check "2 ranks: config error reported once" [ "$(stderr_count "unknown config key")" -eq 1 ]

run mpi 3 "$rso" train --config missing.yaml
check "3 ranks: config error exits 2" status_is 2
check "3 ranks: config error reported once" [ "$(stderr_count "cannot open config file")" -eq 1 ]

# --- commands not built yet say so and fail, producing nothing ---------------------
for command in tokenizer sft reward generate sample select train eval import-hf export-hf; do
  run "$rso" "$command" --run-dir "$work/planned"
  check "rso $command exits 69" status_is 69
  check "rso $command says it is not built" stderr_has "'rso $command' is not built in this version yet"
  check "rso $command prints nothing on stdout" [ ! -s "$work/out" ]
done
check "planned commands write no run directory" [ ! -e "$work/planned" ]

# --- env: one row per rank from rank 0 ------------------------------------------------
for ranks in 1 2 3; do
  run mpi "$ranks" "$rso" env
  check "env on $ranks ranks exits 0" status_is 0
  rows=$(grep -cE '^[0-9]+ ' "$work/out")
  check "env on $ranks ranks prints $ranks rank rows" [ "$rows" -eq "$ranks" ]
  check "env names the backend" stdout_has "mpi"
  for library in LibTorch MPI Boost HDF5 NCCL CUDA; do
    check "env on $ranks ranks reports $library" stdout_has "$library"
  done
done

# --- one rank fails alone: the job ends, and says which rank -----------------------
run timeout 120 "$mpiexec" -n 2 "${mpi_flags[@]}" "$abort_binary"
check "one-rank failure ends the job (no hang)" [ "$status" -ne 124 ]
check "one-rank failure fails the job" [ "$status" -ne 0 ]
check "one-rank failure names the rank" stderr_has "[rank 1] rso: data error: shard 1 of prompts.jsonl is corrupt"

# --- pipeline: runs what exists, names what does not ------------------------------
run mpi 2 "$rso" pipeline "$source_dir/input/demo.yaml" --run-dir "$work/run"
check "pipeline exits 69 while stages are missing" status_is 69
check "pipeline names the missing stages" stderr_has "stages tokenizer, sft, reward, sample, train, eval are not built"
check "pipeline writes the resolved config" [ -s "$work/run/config.yaml" ]
check "pipeline leaves no temporaries" [ "$(find "$work/run" -name '*.tmp.*' | wc -l)" -eq 0 ]
run "$rso" pipeline --config "$work/run/config.yaml" --print-config
check "the resolved config loads back" status_is 0
check "the resolved config keeps the run directory" stdout_has "dir: $work/run"

# --- inspect ----------------------------------------------------------------------------
printf 'not hdf5' >"$work/plain.h5"
run "$rso" inspect "$work/plain.h5"
check "inspect of a non-HDF5 file exits 3" status_is 3
check "inspect says it is not HDF5" stderr_has "is not an HDF5 file"
run "$rso" inspect "$work/absent.h5"
check "inspect of a missing file exits 4" status_is 4
if command -v h5mkgrp >/dev/null; then
  h5mkgrp -p "$work/foreign.h5" /models/policy
  run "$rso" inspect "$work/foreign.h5"
  check "inspect of a foreign HDF5 file exits 0" status_is 0
  check "inspect shows groups" stdout_has "policy/"
  check "inspect says who wrote it" stdout_has "not written by rso"
fi

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
