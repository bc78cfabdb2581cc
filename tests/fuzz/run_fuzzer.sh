#!/usr/bin/env bash
# run_fuzzer.sh FUZZER CORPUS_DIR NEW_DIR SECONDS [libFuzzer flags...]
# Fuzzes from the corpus for SECONDS; inputs with new coverage go to NEW_DIR
# (emptied first), crashing inputs to NEW_DIR/crash-*. Exit status: the
# fuzzer's (0: no finding). The flags every run shares are here.
set -euo pipefail
fuzzer=$1 corpus=$2 new=$3 seconds=$4
shift 4
rm -rf "$new"
mkdir -p "$new"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1} OMP_NUM_THREADS=1
exec "$fuzzer" -rss_limit_mb=4096 -malloc_limit_mb=1024 -timeout=30 -detect_leaks=0 -print_final_stats=1 \
  -artifact_prefix="$new/" -max_total_time="$seconds" "$@" "$new" "$corpus"
