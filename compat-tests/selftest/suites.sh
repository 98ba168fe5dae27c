# Fake suites for selftest/run.sh: they check run.sh's plumbing (broker
# start and stop, counting, summary line, exit code) without any Kafka client.
# run.sh sources this file only when COMPAT_SELFTEST=1.

selftest_install() { echo "nothing to install"; }

# Two passing tests and one skipped, against a real (fake) broker process.
selftest_pass_run() {
  with_strom "$1/../strom.log" bash -c 'test -n "$STROM_BOOTSTRAP" &&
    printf "connects\tpass\t\nlists\tpass\t\nlater\tskip\tnot yet\n" >"$0/self.tsv"' "$1"
}
register_suite selftest-pass selftest_install selftest_pass_run "harness self-test: passes"

selftest_fail_run() {
  printf 'good\tpass\t\nbad\tfail\texpected 1, got 2\n' >"$1/self.tsv"
  return 1
}
register_suite selftest-fail selftest_install selftest_fail_run "harness self-test: one failing test"

selftest_crash_run() { echo "crashing before any result"; return 3; }
register_suite selftest-crash selftest_install selftest_crash_run "harness self-test: crash without results"

selftest_empty_run() { return 0; }
register_suite selftest-empty selftest_install selftest_empty_run "harness self-test: runs no test"

selftest_broken_install() { echo "cannot install"; return 1; }
register_suite selftest-install selftest_broken_install selftest_empty_run "harness self-test: install fails"

selftest_slow_run() { with_strom "$1/../strom.log" sleep 600; }
register_suite selftest-timeout selftest_install selftest_slow_run "harness self-test: times out"

# A test runner that starts the broker itself (as the pytest conftest does) and
# then dies hard: the broker must not outlive it.
selftest_abort_run() {
  python3 -c 'import os, sys
sys.path.insert(0, sys.argv[1])
from strom import StromProcess
StromProcess(log_path=sys.argv[2]).start()
os.abort()' "$COMPAT_DIR/lib" "$1/../strom.log"
}
register_suite selftest-abort selftest_install selftest_abort_run "harness self-test: runner aborts"
