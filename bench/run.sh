#!/usr/bin/env bash
# Strom vs Apache Kafka on this machine (method and results: docs/benchmarks.md).
#
#   bash bench/run.sh quick     # seconds per workload: checks the harness
#   bash bench/run.sh full      # what docs/benchmarks.md reports (about an hour on 2 cores)
#   bash bench/run.sh --self-test   # the result parsers only, no JVM (part of `make test`)
#
# Environment: STROM_BIN (default target/release/strom, built if missing),
# BENCH_REPS (repetitions), BENCH_OUT (results dir, default bench/.results/<mode>-<time>),
# BENCH_DATA_ROOT (where fresh data directories go, default $TMPDIR), BENCH_NO_PIN=1,
# BENCH_ONLY=REGEX (only the workloads whose name matches, e.g. '^consume'),
# BENCH_MEMORY_LIMIT_GIB=N (each broker in a memory cgroup of N GiB, filled
# before it starts: see MemoryCgroup in run.py; needs root).
#
# Installs what it needs by itself: the Kafka broker, kafka-tools and
# kafka-clients jars from Maven Central (bench/pom.xml, cached), compiles
# bench/java/Bench.java against them, and builds bench/go (franz-go, from the Go
# module proxy) when Go is installed.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

mode=${1:-quick}
if [[ $mode == --self-test ]]; then
  exec python3 "$HERE/run.py" --self-test
fi
[[ $mode == quick || $mode == full ]] || { echo "usage: bench/run.sh quick|full|--self-test" >&2; exit 2; }

for tool in java javac mvn python3 taskset; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install openjdk-17-jdk-headless maven python3 util-linux)" >&2; exit 1; }
done

CACHE_DIR=${BENCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/strom-bench}
LIBS="$CACHE_DIR/libs-$(sha256sum "$HERE/pom.xml" | cut -c1-12)"
if [[ ! -f $LIBS/.complete ]]; then
  echo "bench: fetching Kafka jars from Maven Central into $LIBS" >&2
  rm -rf "$LIBS"
  (cd "$HERE" && mvn -B -q dependency:copy-dependencies -DoutputDirectory="$LIBS") >&2
  touch "$LIBS/.complete"
fi
CLASSES="$CACHE_DIR/classes-$(cat "$HERE/pom.xml" "$HERE/java/Bench.java" | sha256sum | cut -c1-12)"
if [[ ! -f $CLASSES/Bench.class ]]; then
  mkdir -p "$CLASSES"
  javac -d "$CLASSES" -cp "$LIBS/*" "$HERE/java/Bench.java"
fi

# franz-go (bench/go): the client light enough to leave the broker as the limit.
FRANZBENCH=""
if command -v go >/dev/null; then
  FRANZBENCH="$CACHE_DIR/franzbench-$(cat "$HERE"/go/go.mod "$HERE"/go/go.sum "$HERE"/go/*.go | sha256sum | cut -c1-12)"
  [[ -x $FRANZBENCH ]] || (cd "$HERE/go" && go build -o "$FRANZBENCH" .)
else
  echo "bench: go is missing, so the franz-go workloads are skipped (apt-get install golang)" >&2
fi

STROM_BIN=${STROM_BIN:-$ROOT/target/release/strom}
if [[ ! -x $STROM_BIN ]]; then
  (cd "$ROOT" && cargo build --release -p strom)
fi

out=${BENCH_OUT:-$HERE/.results/$mode-$(date +%Y%m%d-%H%M%S)}
args=(--mode "$mode" --strom "$STROM_BIN" --libs "$LIBS" --classes "$CLASSES" --out "$out")
[[ -n $FRANZBENCH ]] && args+=(--franzbench "$FRANZBENCH")
[[ -n ${BENCH_REPS:-} ]] && args+=(--reps "$BENCH_REPS")
[[ -n ${BENCH_DATA_ROOT:-} ]] && args+=(--data-root "$BENCH_DATA_ROOT")
[[ -n ${BENCH_NO_PIN:-} ]] && args+=(--no-pin)
[[ -n ${BENCH_ONLY:-} ]] && args+=(--only "$BENCH_ONLY")
[[ -n ${BENCH_MEMORY_LIMIT_GIB:-} ]] && args+=(--memory-limit-gib "$BENCH_MEMORY_LIMIT_GIB")
exec python3 "$HERE/run.py" "${args[@]}"
