#!/usr/bin/env bash
# Checks compat-tests/run.sh itself with a fake broker and fake suites:
#   bash compat-tests/selftest/run.sh
# Prints one line per check and exits non-zero if any check failed.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN="$HERE/../run.sh"
export COMPAT_SELFTEST=1 STROM_BIN="$HERE/fake-strom" COMPAT_RESULTS_DIR
COMPAT_RESULTS_DIR=$(mktemp -d)
trap 'rm -rf "$COMPAT_RESULTS_DIR"' EXIT
failures=0

# check NAME EXPECTED_EXIT EXPECTED_SUMMARY [ENV=VALUE...] -- SUITES...
check() {
  local name=$1 want_rc=$2 want_summary=$3 out rc summary
  shift 3
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  out=$(env "${envs[@]}" bash "$RUN" "$@" 2>&1)
  rc=$?
  summary=$(tail -n1 <<<"$out")
  if [ "$rc" = "$want_rc" ] && [ "$summary" = "$want_summary" ] &&
    [ "$(grep -c '^compat: [0-9]* passed, [0-9]* failed$' <<<"$out")" = 1 ]; then
    echo "ok   $name"
  else
    echo "FAIL $name: exit $rc (want $want_rc), last line [$summary] (want [$want_summary])"
    sed 's/^/     | /' <<<"$out"
    failures=$((failures + 1))
  fi
}

check "passing suite" 0 "compat: 2 passed, 0 failed" -- selftest-pass
check "failing test" 1 "compat: 1 passed, 1 failed" -- selftest-fail
check "crash counts as a failure" 1 "compat: 0 passed, 1 failed" -- selftest-crash
check "no test counts as a failure" 1 "compat: 0 passed, 1 failed" -- selftest-empty
check "failed install counts as a failure" 1 "compat: 0 passed, 1 failed" -- selftest-install
check "sums over suites" 1 "compat: 3 passed, 2 failed" -- selftest-pass selftest-fail selftest-crash
check "broker that crashes" 1 "compat: 0 passed, 1 failed" FAKE_STROM_MODE=crash -- selftest-pass
check "broker that never listens" 1 "compat: 0 passed, 1 failed" FAKE_STROM_MODE=silent STROM_STARTUP_TIMEOUT_S=2 -- selftest-pass
check "broker that cannot speak Kafka" 1 "compat: 0 passed, 1 failed" FAKE_STROM_MODE=listen -- selftest-pass
check "missing binary" 1 "compat: 0 passed, 1 failed" STROM_BIN=/nonexistent/strom -- selftest-pass
check "runner that aborts" 1 "compat: 0 passed, 1 failed" -- selftest-abort
check "suite timeout" 1 "compat: 0 passed, 1 failed" COMPAT_SUITE_TIMEOUT_S=3 -- selftest-timeout

# Every broker the checks started must be gone.
sleep 1
if pgrep -f "$HERE/fake-strom" >/dev/null; then
  echo "FAIL fake brokers left running: $(pgrep -f "$HERE/fake-strom" | tr '\n' ' ')"
  failures=$((failures + 1))
else
  echo "ok   no broker left running"
fi
[ "$failures" -eq 0 ]
