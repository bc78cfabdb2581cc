#!/usr/bin/env bash
# fuzz_all.sh BUILD_DIR [SECONDS] [JOBS]: every fuzz target for SECONDS (default
# 600), JOBS at a time (default 2), from its committed corpus; what adds
# coverage is then merged into tests/fuzz/corpus/NAME (minimised, to commit),
# crashes stay in BUILD_DIR/tests/fuzz/long-NAME/. One line per target (runs,
# executions, coverage, corpus size, crashes) to stdout and to
# BUILD_DIR/tests/fuzz/long-runs.tsv. Exit status 1 when any target crashed.
set -uo pipefail
build=$(cd "${1:?usage: fuzz_all.sh BUILD_DIR [SECONDS] [JOBS]}" && pwd)
seconds=${2:-600}
jobs=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)
out=$build/tests/fuzz
targets=(config jsonl safetensors hf_config sentencepiece gpt2_tokenizer checkpoint)

fuzz_one() {
  local name=$1
  "$here/run_fuzzer.sh" "$out/fuzz_$name" "$here/corpus/$name" "$out/long-$name" "$seconds" >"$out/long-$name.log" 2>&1
  echo $? >"$out/long-$name.status"
}
running=0
for name in "${targets[@]}"; do
  fuzz_one "$name" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

printf 'date\ttarget\tseconds\texecutions\texec/s\tcoverage\tnew inputs merged\tcorpus\tcrashes\n' >"$out/long-runs.tsv"
crashed=0
for name in "${targets[@]}"; do
  log=$out/long-$name.log
  status=$(cat "$out/long-$name.status")
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}')
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{print $2}')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  crashes=$(find "$out/long-$name" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'oom-*' -o -maxdepth 1 -name 'timeout-*' | wc -l)
  [ "$status" -eq 0 ] || [ "$crashes" -gt 0 ] || crashes="exit $status"
  [ "$crashes" = 0 ] || crashed=1
  # Keep only what adds coverage to the committed corpus.
  before=$(find "$here/corpus/$name" -type f | wc -l)
  "$out/fuzz_$name" -merge=1 -rss_limit_mb=4096 -malloc_limit_mb=1024 -detect_leaks=0 "$here/corpus/$name" \
    "$out/long-$name" >"$out/merge-$name.log" 2>&1
  after=$(find "$here/corpus/$name" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%F)" "$name" "$seconds" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" $((after - before)) "$after" "$crashes" | tee -a "$out/long-runs.tsv"
done
exit "$crashed"
