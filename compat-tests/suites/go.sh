# Go: franz-go (kgo + kadm) under `go test`. Modules live in the usual Go
# module cache; the test binary is cached by Go's build cache.

export GO_DIR="$COMPAT_DIR/go"

# franz-go's own integration tests that run against a real broker, with the
# settings its docs give for a single node (KGO_TEST_RF=1) and a record count
# that keeps the suite short.
export FRANZ_GO_TESTS='^(TestGroupETL|TestTxnEtl)$'
export FRANZ_GO_TEST_RECORDS=50000

install_go_franz() {
  command -v go >/dev/null || { echo "go is not installed"; return 1; }
  cd "$GO_DIR" && go mod download && go test -count=1 -run '^$' ./... github.com/twmb/franz-go/pkg/kgo >/dev/null
}

# Our tests, then franz-go's, against one broker; both write go test -json.
go_franz_tests() {
  go test -count=1 -json -timeout 240s ./...
  local ours=$?
  KGO_SEEDS=$STROM_BOOTSTRAP KGO_TEST_RF=1 KGO_TEST_RECORDS=$FRANZ_GO_TEST_RECORDS \
    go test -count=1 -json -timeout 240s -run "$FRANZ_GO_TESTS" github.com/twmb/franz-go/pkg/kgo
  local theirs=$?
  [ $ours -eq 0 ] && [ $theirs -eq 0 ]
}
export -f go_franz_tests

run_go_franz() {
  local results=$1 rc
  cd "$GO_DIR" || return 1
  # -count=1: never report a cached result, the broker under test changes.
  with_strom "$results/../strom.log" bash -c go_franz_tests >"$results/../go-test.json"
  rc=$?
  python3 "$COMPAT_DIR/lib/results.py" gojson "$results/../go-test.json" "$results/go.tsv"
  # Keep a readable transcript in the suite output.
  python3 -c 'import json,sys
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: print(line, end=""); continue
    if e.get("Action") == "output": print(e["Output"], end="")' "$results/../go-test.json"
  return $rc
}

register_suite go-franz install_go_franz run_go_franz "franz-go kgo + kadm (go test)"
