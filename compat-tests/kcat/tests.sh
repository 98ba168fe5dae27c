#!/usr/bin/env bash
# kcat scenarios against the broker at $STROM_BOOTSTRAP.
#
#   bash kcat/tests.sh RESULTS.tsv
#
# Every function named test_* is one scenario, run in its own subshell; it
# fails by calling `fail` (which ends that subshell) or `expect_line`. One line per
# scenario goes to RESULTS.tsv (name, pass|fail, message). Expectations are
# what a single-node Apache Kafka (node id 1, num.partitions=1) answers.
set -uo pipefail

RESULTS=${1:?usage: tests.sh RESULTS.tsv}
B=${STROM_BOOTSTRAP:?STROM_BOOTSTRAP is not set: run through compat-tests/run.sh}
KCAT=${KCAT:-kcat}
# librdkafka's metadata timeout inside kcat -L is 5 s; a hang stops here.
KCAT_TIMEOUT_S=20

fail() { echo "FAIL: $*" >&2; exit 1; }

# kcat_run ARGS...: kcat with a time limit; output in $OUT, exit code in $RC.
kcat_run() {
  OUT=$(timeout "$KCAT_TIMEOUT_S" "$KCAT" -b "$B" "$@" 2>&1)
  RC=$?
  printf '$ kcat -b %s %s (exit %d)\n%s\n' "$B" "$*" "$RC" "$OUT"
}

# expect_line LINE: $OUT must contain exactly this line.
expect_line() {
  grep -qxF -- "$1" <<<"$OUT" || fail "expected the line [$1] in kcat's output"
}

unique_topic() { printf 'kcat-%s-%s\n' "$1" "$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }

# auto_create TOPIC: kcat -L -t asks for the topic with auto-creation allowed;
# Kafka's first answer may be LEADER_NOT_AVAILABLE while it creates it.
auto_create() {
  local topic=$1 deadline=$((SECONDS + 10))
  while [ $SECONDS -lt $deadline ]; do
    kcat_run -m 3 -L -t "$topic"
    if [ "$RC" -eq 0 ] && grep -qxF "  topic \"$topic\" with 1 partitions:" <<<"$OUT"; then
      return 0
    fi
    sleep 0.5
  done
  fail "topic $topic was not auto-created by kcat -L -t"
}

test_list_shows_broker_and_controller() {
  kcat_run -L
  [ "$RC" -eq 0 ] || fail "kcat -L exited with $RC"
  expect_line " 1 brokers:"
  expect_line "  broker 1 at $B (controller)"
  # The answering broker is "-1: host:port/bootstrap" or "1: ..." depending
  # on which connection librdkafka used, so only the start is fixed.
  grep -q "^Metadata for all topics (from broker " <<<"$OUT" || fail "no metadata header"
}

test_auto_create_topic_with_default_partitions() {
  local topic
  topic=$(unique_topic auto)
  auto_create "$topic"
  expect_line "    partition 0, leader 1, replicas: 1, isrs: 1"
}

test_list_shows_created_topic() {
  local topic
  topic=$(unique_topic listed)
  auto_create "$topic"
  kcat_run -L
  [ "$RC" -eq 0 ] || fail "kcat -L exited with $RC"
  expect_line "  topic \"$topic\" with 1 partitions:"
}

# produce_consume CODEC ACKS: 100 lines in with kcat -P, the same lines back in
# order with kcat -C from the beginning, with their offsets.
produce_consume() {
  local codec=$1 acks=$2 topic expected
  topic=$(unique_topic "p-$codec")
  auto_create "$topic"
  expected=$(seq 1 100 | sed 's/^/line-/')
  OUT=$(printf '%s\n' "$expected" | timeout "$KCAT_TIMEOUT_S" "$KCAT" -b "$B" -P -t "$topic" -p 0 -z "$codec" \
    -X "acks=$acks" 2>&1) || fail "kcat -P ($codec, acks=$acks) failed: $OUT"
  kcat_run -C -t "$topic" -p 0 -o beginning -e -q -f '%o %s\n'
  [ "$RC" -eq 0 ] || fail "kcat -C exited with $RC"
  [ "$OUT" = "$(seq 1 100 | awk '{print NR-1 " line-" $1}')" ] || fail "consumed records differ from produced ones ($codec)"
}

test_produce_and_consume_uncompressed() { produce_consume none all; }
test_produce_and_consume_gzip() { produce_consume gzip 1; }
test_produce_and_consume_snappy() { produce_consume snappy all; }
test_produce_and_consume_lz4() { produce_consume lz4 1; }
test_produce_and_consume_zstd() { produce_consume zstd all; }

test_query_latest_offset() {
  local topic
  topic=$(unique_topic query)
  auto_create "$topic"
  printf 'a\nb\nc\n' | timeout "$KCAT_TIMEOUT_S" "$KCAT" -b "$B" -P -t "$topic" -p 0 || fail "kcat -P failed"
  kcat_run -Q -t "$topic:0:-1"
  [ "$RC" -eq 0 ] || fail "kcat -Q exited with $RC"
  expect_line "$topic [0] offset 3"
}

test_produce_with_acks_0() {
  local topic
  topic=$(unique_topic acks0)
  auto_create "$topic"
  printf 'x\ny\nz\n' | timeout "$KCAT_TIMEOUT_S" "$KCAT" -b "$B" -P -t "$topic" -p 0 -X acks=0 || fail "kcat -P acks=0 failed"
  kcat_run -C -t "$topic" -p 0 -o beginning -e -q -f '%s\n'
  [ "$OUT" = "$(printf 'x\ny\nz')" ] || fail "acks=0 records read back as [$OUT]"
}

# -o end: only records produced after the consumer started.
test_consume_from_the_end() {
  local topic pid out
  topic=$(unique_topic end)
  auto_create "$topic"
  printf 'old1\nold2\n' | timeout "$KCAT_TIMEOUT_S" "$KCAT" -b "$B" -P -t "$topic" -p 0 || fail "kcat -P failed"
  out=$(mktemp)
  timeout "$KCAT_TIMEOUT_S" "$KCAT" -b "$B" -C -t "$topic" -p 0 -o end -c 1 -q -f '%o %s\n' >"$out" 2>&1 &
  pid=$!
  sleep 2 # the consumer has resolved the end offset
  printf 'new\n' | timeout "$KCAT_TIMEOUT_S" "$KCAT" -b "$B" -P -t "$topic" -p 0 || fail "kcat -P failed"
  wait "$pid"
  [ "$(cat "$out")" = "2 new" ] || fail "kcat -o end read [$(cat "$out")]"
  rm -f "$out"
}

# restart_broker: kill -9 and restart the broker through the harness (STROM_CONTROL).
restart_broker() {
  local host=${STROM_CONTROL%:*} port=${STROM_CONTROL##*:} answer
  exec 3<>"/dev/tcp/$host/$port" || fail "cannot reach STROM_CONTROL $STROM_CONTROL"
  printf 'kill\n' >&3
  read -r -t 60 answer <&3
  exec 3>&-
  [ "$answer" = ok ] || fail "broker restart: $answer"
}

# produce_lines TOPIC LINES...: one record per line to partition 0.
produce_lines() {
  local topic=$1
  shift
  printf '%s\n' "$@" | timeout "$KCAT_TIMEOUT_S" "$KCAT" -b "$B" -P -t "$topic" -p 0 || fail "kcat -P failed"
}

# A balanced consumer (-G, librdkafka's group consumer) reads from the start,
# commits on exit, and a second run of the same group sees only new records.
test_balanced_consumer_resumes_after_its_commits() {
  local topic group
  topic=$(unique_topic group)
  group="$topic-g"
  auto_create "$topic"
  produce_lines "$topic" one two three
  kcat_run -G "$group" -X auto.offset.reset=earliest -c 3 -q -f '%s\n' "$topic"
  [ "$RC" -eq 0 ] || fail "kcat -G exited with $RC"
  [ "$OUT" = "$(printf 'one\ntwo\nthree')" ] || fail "first run read [$OUT]"
  produce_lines "$topic" four five
  kcat_run -G "$group" -X auto.offset.reset=earliest -c 2 -q -f '%s\n' "$topic"
  [ "$RC" -eq 0 ] || fail "kcat -G exited with $RC"
  [ "$OUT" = "$(printf 'four\nfive')" ] || fail "second run read [$OUT], expected only the new records"
}

# Records and committed offsets survive kill -9 of the broker.
test_records_and_group_offsets_survive_a_broker_crash() {
  [ -n "${STROM_CONTROL:-}" ] || { echo "STROM_CONTROL is not set: skipped"; return 0; }
  local topic group
  topic=$(unique_topic crash)
  group="$topic-g"
  auto_create "$topic"
  produce_lines "$topic" a b c
  kcat_run -G "$group" -X auto.offset.reset=earliest -c 3 -q -f '%s\n' "$topic"
  [ "$RC" -eq 0 ] || fail "kcat -G exited with $RC"
  restart_broker
  produce_lines "$topic" d
  kcat_run -C -t "$topic" -p 0 -o beginning -e -q -f '%s\n'
  [ "$OUT" = "$(printf 'a\nb\nc\nd')" ] || fail "after the crash the topic holds [$OUT]"
  kcat_run -G "$group" -X auto.offset.reset=earliest -c 1 -q -f '%s\n' "$topic"
  [ "$OUT" = d ] || fail "after the crash the group resumed with [$OUT]"
}

# The secured listeners (compat-tests/lib/security.py): users strom (a super
# user), alice and bob, a CA and a trusted client certificate.
#
# SCRAM: Debian's kcat links librdkafka 2.0, which repeats its own nonce in
# the client-final-message (fixed in librdkafka 2.6.1). strom accepts a final
# nonce that ends with the right one, as Kafka 3.8.1 to 3.9 do; Kafka 4.x
# compares exactly and refuses this kcat, so against the reference Kafka 4.1
# the SCRAM logins below fail.
MECHANISMS="PLAIN SCRAM-SHA-256 SCRAM-SHA-512"

# secured_args PROTOCOL [MECHANISM USER PASSWORD]: kcat's -b and -X options
# for that listener, one per line, trusting $CA (default STROM_CA_FILE).
secured_args() {
  local protocol=$1 mechanism=${2:-} user=${3:-} password=${4:-} bootstrap_var="STROM_${1}_BOOTSTRAP"
  printf '%s\n' -b "${!bootstrap_var}" -X "security.protocol=$protocol" -X "ssl.ca.location=${CA:-$STROM_CA_FILE}"
  [ -z "$mechanism" ] ||
    printf '%s\n' -X "sasl.mechanism=$mechanism" -X "sasl.username=$user" -X "sasl.password=$password"
}

# secured_kcat PROTOCOL MECHANISM USER PASSWORD ARGS...: kcat on that
# listener (MECHANISM "" for SSL); output in $OUT, exit code in $RC.
secured_kcat() {
  local -a options
  mapfile -t options < <(secured_args "$1" "$2" "$3" "$4")
  shift 4
  OUT=$(timeout "$KCAT_TIMEOUT_S" "$KCAT" "${options[@]}" "$@" 2>&1)
  RC=$?
}

# produce_and_consume PROTOCOL MECHANISM [-X ...]: two lines in as strom (or,
# on SSL, as whoever the certificate options make the client) and back out.
produce_and_consume() {
  local protocol=$1 mechanism=$2 topic
  shift 2
  topic=$(unique_topic "$(tr 'A-Z_' 'a-z-' <<<"$protocol")")
  auto_create "$topic"
  local user=strom password=$STROM_SASL_STROM_PASSWORD
  secured_kcat "$protocol" "$mechanism" "$user" "$password" "$@" -P -t "$topic" -p 0 < <(printf 'a\nb\n')
  [ "$RC" -eq 0 ] || fail "kcat -P over $protocol $mechanism exited with $RC: $OUT"
  secured_kcat "$protocol" "$mechanism" "$user" "$password" "$@" -C -t "$topic" -p 0 -o beginning -e -q -f '%o %s\n'
  [ "$RC" -eq 0 ] || fail "kcat -C over $protocol $mechanism exited with $RC: $OUT"
  [ "$OUT" = "$(printf '0 a\n1 b')" ] || fail "consumed over $protocol $mechanism: [$OUT]"
}

test_ssl_produce_and_consume() {
  [ -n "${STROM_SSL_BOOTSTRAP:-}" ] || return 0
  # Without a certificate User:ANONYMOUS, with the trusted one its subject:
  # both super users in the harness.
  produce_and_consume SSL ""
  produce_and_consume SSL "" -X "ssl.certificate.location=$STROM_CLIENT_CERT_FILE" \
    -X "ssl.key.location=$STROM_CLIENT_KEY_FILE"
}

test_sasl_plaintext_produce_and_consume() {
  [ -n "${STROM_SASL_PLAINTEXT_BOOTSTRAP:-}" ] || return 0
  for mechanism in $MECHANISMS; do produce_and_consume SASL_PLAINTEXT "$mechanism"; done
}

test_sasl_ssl_produce_and_consume() {
  [ -n "${STROM_SASL_SSL_BOOTSTRAP:-}" ] || return 0
  for mechanism in $MECHANISMS; do produce_and_consume SASL_SSL "$mechanism"; done
}

# refusals NAME:PROTOCOL:MECHANISM:USER:PASSWORD:EXPECTED...: kcat -L for each
# at once (a refused kcat waits out its metadata timeout, -m 1), each of
# whose output must contain its EXPECTED text.
refusals() {
  local dir case name protocol mechanism user password expected
  dir=$(mktemp -d)
  for case in "$@"; do
    IFS=: read -r name protocol mechanism user password expected <<<"$case"
    (secured_kcat "$protocol" "$mechanism" "$user" "$password" -m 1 -L
      printf '%s\n%s\n' "$RC" "$OUT" >"$dir/$name") &
  done
  wait
  for case in "$@"; do
    IFS=: read -r name protocol mechanism user password expected <<<"$case"
    printf '%s:\n%s\n' "$name" "$(cat "$dir/$name")"
    [ "$(head -n1 "$dir/$name")" -ne 0 ] || fail "$name: kcat -L succeeded"
    grep -qF -- "$expected" "$dir/$name" || fail "$name: kcat's error lacks [$expected]"
  done
  rm -rf "$dir"
}

test_bad_credentials_are_refused() {
  [ -n "${STROM_SASL_SSL_BOOTSTRAP:-}" ] || return 0
  # Kafka's PLAIN server says what failed; every SCRAM failure gets one
  # message that does not tell an unknown user from a wrong password.
  local plain="SASL authentication error: Authentication failed: Invalid username or password"
  local scram="SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism"
  refusals "plain-wrong-password:SASL_SSL:PLAIN:alice:not-her-password:$plain" \
    "plain-unknown-user:SASL_PLAINTEXT:PLAIN:mallory:x:$plain" \
    "sha256-wrong-password:SASL_SSL:SCRAM-SHA-256:alice:not-her-password:$scram SCRAM-SHA-256" \
    "sha256-unknown-user:SASL_PLAINTEXT:SCRAM-SHA-256:mallory:x:$scram SCRAM-SHA-256" \
    "sha512-wrong-password:SASL_SSL:SCRAM-SHA-512:alice:not-her-password:$scram SCRAM-SHA-512" \
    "sha512-unknown-user:SASL_PLAINTEXT:SCRAM-SHA-512:mallory:x:$scram SCRAM-SHA-512"
}

test_kcat_refuses_a_server_it_does_not_trust() {
  [ -n "${STROM_SSL_BOOTSTRAP:-}" ] || return 0
  # librdkafka presents no client certificate the server's CAs did not sign,
  # so an untrusted client certificate is proven with other clients.
  CA=$STROM_UNTRUSTED_CA_FILE refusals "ssl:SSL::::SSL routines::certificate verify failed" \
    "sasl-ssl:SASL_SSL:SCRAM-SHA-256:strom:$STROM_SASL_STROM_PASSWORD:SSL routines::certificate verify failed"
}

# Run every test_* function, record one result line each.
: >"$RESULTS"
failed=0
for test in $(declare -F | awk '{print $3}' | grep '^test_'); do
  echo "=== $test"
  if output=$( ("$test") 2>&1); then
    printf '%s\n' "$output"
    printf '%s\tpass\t\n' "$test" >>"$RESULTS"
    echo "--- PASS $test"
  else
    printf '%s\n' "$output"
    message=$(grep '^FAIL: ' <<<"$output" | tail -n1 | cut -c7-)
    printf '%s\tfail\t%s\n' "$test" "${message:-failed}" >>"$RESULTS"
    echo "--- FAIL $test"
    failed=$((failed + 1))
  fi
done
[ "$failed" -eq 0 ]
