#!/usr/bin/env bash
# The cargo-fuzz targets (libFuzzer), FUZZ_SECONDS each (`make fuzz-targets`,
# part of `make test`; see fuzz/README.md).
#
#   bash fuzz/run.sh                       # every target, 15 s each
#   FUZZ_SECONDS=1200 bash fuzz/run.sh     # a long run
#   FUZZ_TARGETS=record_batch bash fuzz/run.sh
#
# Needs the nightly toolchain (rustup's, never downloaded here: skipped with
# the reason without it). cargo-fuzz is installed from crates.io into the
# cache when missing (about a minute on 2 cores). The sanitizer build lives in
# the cache too, so CI runs on one machine share it.
#
# Starts from a seed corpus (tests/tests/fuzz_targets.rs writes it: a valid
# request for every supported API and version, valid batches in every codec)
# and the committed regressions (replayed first, with the overflow checks the
# stable release test lacks), and keeps what libFuzzer finds in
# fuzz/corpus/<target>/. A crash, a panic,
# an input taking over 10 s or a target above 2 GiB of memory fails the run;
# libFuzzer leaves the input in fuzz/artifacts/<target>/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

CARGO=${CARGO:-cargo}
SECONDS_EACH=${FUZZ_SECONDS:-15}
TARGETS=${FUZZ_TARGETS:-frame_decoder request_decoder record_batch}
CACHE=${STROM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/strom}
CARGO_FUZZ_VERSION=0.13.2

if ! "$CARGO" +nightly --version >/dev/null 2>&1; then
  echo "fuzz-targets: SKIPPED: needs rustup's nightly toolchain (rustup toolchain install nightly);" \
    "the stable test run feeds the same targets (tests/tests/fuzz_targets.rs)"
  exit 0
fi
export PATH="$CACHE/cargo-fuzz/bin:$PATH"
if ! "$CARGO" +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz-targets: installing cargo-fuzz $CARGO_FUZZ_VERSION from crates.io into $CACHE/cargo-fuzz"
  mkdir -p "$CACHE"
  if ! "$CARGO" install --quiet --locked --version "$CARGO_FUZZ_VERSION" --root "$CACHE/cargo-fuzz" cargo-fuzz \
    >"$CACHE/cargo-fuzz-install.log" 2>&1; then
    echo "fuzz-targets: SKIPPED: cargo install cargo-fuzz failed (log: $CACHE/cargo-fuzz-install.log);" \
      "the stable test run feeds the same targets (tests/tests/fuzz_targets.rs)"
    tail -n 5 "$CACHE/cargo-fuzz-install.log"
    exit 0
  fi
fi

# The seeds, from the same code the stable test feeds them (--workspace: the
# feature set `make test` already built, so nothing is compiled again).
rm -rf fuzz/corpus/seeds
STROM_FUZZ_WRITE_CORPUS="$ROOT/fuzz/corpus/seeds" \
  "$CARGO" test --release --workspace -q --test fuzz_targets -- --exact fuzz_targets_survive_their_seeds_regressions_and_mutations >/dev/null

for target in $TARGETS; do
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  log="fuzz/artifacts/$target.log"
  started=$(date +%s)
  if ! (cd fuzz && "$CARGO" +nightly fuzz run --target-dir "$CACHE/fuzz-target" "$target" \
    "corpus/$target" "corpus/seeds/$target" "regressions/$target" -- \
    -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1) >"$log" 2>&1; then
    echo "fuzz-targets: $target FAILED (full log: $log; the input is in fuzz/artifacts/$target/):"
    grep -m1 -A1 "panicked at" "$log" || true
    grep -m1 "^SUMMARY" "$log" || true
    tail -n 25 "$log"
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  echo "fuzz-targets: $target: ${runs:-?} inputs in ${SECONDS_EACH}s of fuzzing ($(($(date +%s) - started))s with the build), no crash; corpus $corpus inputs"
done
