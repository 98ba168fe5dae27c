# Go: franz-go (kgo + kadm) under `go test`. Modules live in the usual Go
# module cache; the test binary is cached by Go's build cache.

export GO_DIR="$COMPAT_DIR/go"

install_go_franz() {
  command -v go >/dev/null || { echo "go is not installed"; return 1; }
  cd "$GO_DIR" && go mod download && go test -count=1 -run '^$' ./... >/dev/null
}

run_go_franz() {
  local results=$1 rc
  cd "$GO_DIR" || return 1
  # -count=1: never report a cached result, the broker under test changes.
  with_strom "$results/../strom.log" go test -count=1 -json -timeout 240s ./... >"$results/../go-test.json"
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
