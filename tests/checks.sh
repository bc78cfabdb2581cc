# Check helpers of the shell tests (sourced; needs $work, a scratch directory).
#   run CMD...          runs CMD: exit status in $status, output in $work/out, $work/err
#   check NAME COND...  counts COND's success; on failure prints NAME and the last run
#   finish_checks NAME  prints the tally; its status is the tests' verdict
passed=0
failed=0
status=0
check() {  # check NAME CONDITION-COMMAND...
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name"
    echo "  exit=$status"
    echo "  stdout: $(head -c 2000 "$work/out" 2>/dev/null)"
    echo "  stderr: $(head -c 2000 "$work/err" 2>/dev/null)"
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
differs() { ! cmp -s "$1" "$2"; }
finish_checks() {
  echo "$1: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
