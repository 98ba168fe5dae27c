# Shared shell helpers for compat-tests/run.sh and the suite files in suites/.
# Sourced, not executed. Expects COMPAT_DIR, CACHE_DIR and STROM_BIN to be set.

# Suite registry, filled by `register_suite` in suites/*.sh, in run order.
SUITE_NAMES=()
declare -A SUITE_INSTALL=()
declare -A SUITE_RUN=()
declare -A SUITE_DESC=()

# register_suite NAME INSTALL_FN RUN_FN DESCRIPTION
#   INSTALL_FN: idempotent; fast when everything is already cached. Output goes
#               to the suite's install log. Non-zero means the suite fails.
#   RUN_FN RESULTS_DIR: runs the tests against a fresh broker and leaves JUnit
#               XML (*.xml) or tab-separated (*.tsv) results in RESULTS_DIR.
#               Its exit code is non-zero if anything failed. It runs in a
#               fresh bash under `timeout`, so it sees functions and exported
#               variables only: export what it needs.
register_suite() {
  SUITE_NAMES+=("$1")
  SUITE_INSTALL[$1]=$2
  SUITE_RUN[$1]=$3
  SUITE_DESC[$1]=$4
}

log() { printf '%s\n' "$*"; }
warn() { printf 'compat: %s\n' "$*" >&2; }

# sha256 of the named files' contents, for cache keys.
files_hash() {
  cat "$@" | sha256sum | cut -c1-16
}

# with_strom LOGFILE CMD...: CMD runs with STROM_BOOTSTRAP set to a fresh broker.
with_strom() {
  local broker_log=$1
  shift
  python3 "$COMPAT_DIR/lib/strom.py" run --log "$broker_log" -- "$@"
}

# Time since an epoch-nanosecond stamp, in seconds with one decimal.
elapsed_since() {
  local start=$1 now
  now=$(date +%s%N)
  awk -v ns=$((now - start)) 'BEGIN { printf "%.1f", ns / 1e9 }'
}

# Install a Debian package as root (or through sudo); refresh the package lists
# only when the first try fails, as they are usually present already.
apt_install() {
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { warn "need root or sudo to apt-get install $*"; return 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q "$@" \
    || { "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q "$@"; }
}
