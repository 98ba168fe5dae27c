#!/usr/bin/env bash
# Real-client compatibility tests for strom.
#
#   compat-tests/run.sh [--list] [--install-only] [SUITE...]
#
# Installs what each suite needs (cached, so a second run is quick), then runs
# every suite (or the named ones; also COMPAT_SUITES="a b") against its own
# fresh strom process on a free port with a fresh data directory, prints one
# result per suite and test, and ends with exactly one line
#   compat: N passed, M failed
# counting tests. Exits non-zero if anything failed.
#
# Environment:
#   STROM_BIN          broker binary (default: target/release/strom of this repo)
#   COMPAT_CACHE_DIR   venvs and install stamps (default: ~/.cache/strom-compat)
#   COMPAT_RESULTS_DIR logs and reports (default: compat-tests/.results)
#   COMPAT_SUITE_TIMEOUT_S  per-suite limit on the test run (default 300)
#   COMPAT_VERBOSE=1   print each suite's whole output, not only on failure
set -uo pipefail

COMPAT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$COMPAT_DIR/.." && pwd)
CACHE_DIR=${COMPAT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/strom-compat}
RESULTS_DIR=${COMPAT_RESULTS_DIR:-$COMPAT_DIR/.results}
SUITE_TIMEOUT_S=${COMPAT_SUITE_TIMEOUT_S:-300}
STROM_BIN=${STROM_BIN:-$REPO_ROOT/target/release/strom}
case $STROM_BIN in /*) ;; *) STROM_BIN=$PWD/$STROM_BIN ;; esac
export STROM_BIN COMPAT_DIR CACHE_DIR
# No prompts, no colours, no toolchain downloads.
export CI=${CI:-true} PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 GOTOOLCHAIN=local GOFLAGS=-mod=readonly

# shellcheck source=lib/common.sh
source "$COMPAT_DIR/lib/common.sh"
# Run order. A new client gets a new file here (kafkajs: suites/node.sh).
for suite_file in python java go kcat node; do
  # shellcheck disable=SC1090
  source "$COMPAT_DIR/suites/$suite_file.sh"
done
# Fake suites that test this script itself (selftest/run.sh).
if [ "${COMPAT_SELFTEST:-0}" = 1 ]; then
  # shellcheck source=selftest/suites.sh
  source "$COMPAT_DIR/selftest/suites.sh"
fi

install_only=0
selected=()
for arg in "$@"; do
  case $arg in
    --list)
      for name in "${SUITE_NAMES[@]}"; do printf '%-24s %s\n' "$name" "${SUITE_DESC[$name]}"; done
      exit 0 ;;
    --install-only) install_only=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) warn "unknown option $arg"; exit 2 ;;
    *) selected+=("$arg") ;;
  esac
done
if [ ${#selected[@]} -eq 0 ] && [ -n "${COMPAT_SUITES:-}" ]; then
  read -r -a selected <<<"$COMPAT_SUITES"
fi
if [ ${#selected[@]} -eq 0 ]; then
  selected=("${SUITE_NAMES[@]}")
fi
for name in "${selected[@]}"; do
  if [ -z "${SUITE_RUN[$name]:-}" ]; then
    warn "unknown suite '$name' (known: ${SUITE_NAMES[*]})"
    exit 2
  fi
done

mkdir -p "$CACHE_DIR"
rm -rf "$RESULTS_DIR"
mkdir -p "$RESULTS_DIR"

total_passed=0
total_failed=0
failed_suites=()
# "suite: FAIL ..." of every failed test (and "suite: FLAKY ..." of every
# test that passed only on its rerun), repeated at the end, where a
# shortened CI log still shows them.
failed_tests=()

# Prints the captured output of a failed step, shortened.
show_log() {
  local file=$1
  if [ "${COMPAT_VERBOSE:-0}" = 1 ]; then
    sed 's/^/    | /' "$file"
  else
    tail -n 40 "$file" | sed 's/^/    | /'
    log "    (whole output: $file)"
  fi
}

run_suite() {
  local name=$1 dir="$RESULTS_DIR/$1" start install_s run_s rc counts passed failed skipped
  mkdir -p "$dir/reports"
  log "== $name: ${SUITE_DESC[$name]}"

  start=$(date +%s%N)
  if ! "${SUITE_INSTALL[$name]}" >"$dir/install.log" 2>&1; then
    log "   install FAILED after $(elapsed_since "$start")s"
    show_log "$dir/install.log"
    log "-- $name: FAILED (install)"
    total_failed=$((total_failed + 1))
    failed_suites+=("$name")
    return
  fi
  install_s=$(elapsed_since "$start")
  [ $install_only = 1 ] && { log "-- $name: installed in ${install_s}s"; return; }

  start=$(date +%s%N)
  timeout --kill-after=15 "$SUITE_TIMEOUT_S" bash -c "$(declare -f); ${SUITE_RUN[$name]} \"\$1\"" _ "$dir/reports" \
    >"$dir/output.log" 2>&1
  rc=$?
  run_s=$(elapsed_since "$start")

  counts=$(python3 "$COMPAT_DIR/lib/results.py" summarize "$dir/reports")
  grep -v '^COUNTS ' <<<"$counts"
  while IFS= read -r line; do
    failed_tests+=("$name: ${line:0:400}")
  done < <(grep -E '^ *(FAIL|FLAKY) ' <<<"$counts" | sed 's/^ *//')
  read -r _ passed failed skipped < <(grep '^COUNTS ' <<<"$counts")
  # A crash, a timeout or a suite that ran nothing must not look green.
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      log "    FAIL $name: timed out after ${SUITE_TIMEOUT_S}s"
    else
      log "    FAIL $name: exited with code $rc"
    fi
    failed=1
  elif [ "$rc" -eq 0 ] && [ $((passed + failed)) -eq 0 ]; then
    log "    FAIL $name: ran no test"
    failed=1
  fi
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 1 ] && ! grep -q '^ *FAIL ' <<<"$counts"; then
    failed_tests+=("$name: FAIL exited with code $rc (output: $dir/output.log)")
  fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  if [ "$failed" -ne 0 ]; then
    failed_suites+=("$name")
    show_log "$dir/output.log"
    log "-- $name: FAILED ($passed passed, $failed failed, $skipped skipped; install ${install_s}s, run ${run_s}s)"
  else
    [ "${COMPAT_VERBOSE:-0}" = 1 ] && show_log "$dir/output.log"
    log "-- $name: ok ($passed passed, $skipped skipped; install ${install_s}s, run ${run_s}s)"
  fi
}

overall_start=$(date +%s%N)
log "compat: strom binary $STROM_BIN; cache $CACHE_DIR; results $RESULTS_DIR"
if [ $install_only = 0 ] && [ ! -x "$STROM_BIN" ]; then
  warn "strom binary not found at $STROM_BIN (cargo build --release -p strom, or set STROM_BIN); every suite will fail"
fi
for name in "${selected[@]}"; do
  run_suite "$name"
done

for line in "${failed_tests[@]}"; do
  log "compat: $line"
done
log "compat: suites ${#selected[@]}, failed suites: ${failed_suites[*]:-none}; total $(elapsed_since "$overall_start")s"
if [ $install_only = 1 ]; then
  [ ${#failed_suites[@]} -eq 0 ]
  exit $?
fi
echo "compat: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
