# Strom developer entry points.
#
#   make run     broker on localhost:9092, data in ./data (ARGS="..." adds flags)
#   make test    the whole suite: release build, cargo tests, real-client compat tests
#   make fuzz    only the live fuzz test (STROM_FUZZ_SEED=... to replay a run)
#   make fuzz-targets  the cargo-fuzz targets, 15 s each (FUZZ_SECONDS=...; fuzz/README.md)
#   make bench   strom vs Apache Kafka, full run (docs/benchmarks.md; about an hour)
#   make bench-quick   the same workloads, seconds each: checks the harness
#   make bench-startup idle memory and startup time of strom alone
#   make docker  build the container image (needs a Docker engine)

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

# rustup installs cargo here; a non-login shell (CI) may not have it on PATH.
export PATH := $(HOME)/.cargo/bin:$(PATH)

CARGO ?= cargo
# The binary the integration and compat tests run.
STROM_BIN := $(CURDIR)/target/release/strom
export STROM_BIN

.PHONY: run test build test-rust test-compat test-bench-harness fuzz fuzz-targets bench bench-quick bench-startup docker toolchain

run: toolchain
	$(CARGO) run --release -p strom -- $(ARGS)

# Release, not debug, for the tests: the compat tests run the release broker
# anyway, so a debug `cargo test` would compile every dependency a second time
# (dev profile) on top of the release build (a fresh release workspace build
# took about 2.5 min here; the test crates add seconds). The fuzz test also
# pushes ~400,000 frames through the broker, which an optimised build serves
# at ~8,500 frames/s on 2 busy cores.
test: build test-rust fuzz-targets test-bench-harness test-compat

# The whole workspace in one go, not `-p strom`: building strom alone resolves
# kafka-protocol without the "client" feature the tests enable, and the test
# step would then compile it (and strom) a second time.
build: toolchain
	$(CARGO) build --release --workspace

test-rust: build
	$(CARGO) test --workspace --release

test-compat: build
	@if [[ ! -f compat-tests/run.sh ]]; then \
		echo "make: compat-tests/run.sh is missing" >&2; exit 1; \
	fi
	bash compat-tests/run.sh

# The benchmark harness's parsers and target table on canned tool output
# (under a second, no JVM, no broker), and `go vet` of its franz-go load
# generator where Go is installed: the benchmarks themselves take an hour
# and need the 2 cores alone, so they are not part of the suite.
test-bench-harness:
	bash bench/run.sh --self-test
	if command -v go >/dev/null; then cd bench/go && go vet . && echo "bench/go: go vet clean"; fi

fuzz: build
	$(CARGO) test --release -p strom-tests --test fuzz -- --nocapture

# The cargo-fuzz targets (fuzz/, libFuzzer) for FUZZ_SECONDS (default 15)
# each; a crash fails and leaves its input in fuzz/artifacts/ (make it a
# regression: fuzz/README.md). Skipped with the reason without rustup's
# nightly toolchain; cargo-fuzz is installed from crates.io when missing.
# The stable run of the same targets is tests/tests/fuzz_targets.rs.
fuzz-targets: build
	bash fuzz/run.sh

bench: build
	bash bench/run.sh full

bench-quick: build
	bash bench/run.sh quick

bench-startup: build
	bash bench/startup_rss.sh $(STROM_BIN)

docker:
	docker build -t strom:latest .

# cargo comes with the machine (rustup); nothing here can download a toolchain.
toolchain:
	@command -v $(CARGO) >/dev/null || { \
		echo "make: cargo not found (looked on PATH and in $(HOME)/.cargo/bin); install Rust >= 1.85 with rustup" >&2; \
		exit 1; }
