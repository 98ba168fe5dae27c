# Python clients, one venv per client version (python/requirements/<name>.txt).
# The pytest conftest starts the broker itself (one per pytest session), so
# these suites are not wrapped in with_strom.

# venv_dir NAME: cache path keyed by the requirements and the Python version.
venv_dir() {
  local req="$COMPAT_DIR/python/requirements/$1.txt" key
  key=$( { cat "$req"; python3 -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-12)
  printf '%s/venvs/%s-%s\n' "$CACHE_DIR" "$1" "$key"
}

# ensure_venv NAME: create and fill the venv once; a stamp marks success.
ensure_venv() {
  local dir
  dir=$(venv_dir "$1")
  if [ -f "$dir/.installed" ]; then
    echo "venv $dir is ready"
    return 0
  fi
  rm -rf "$dir"
  python3 -m venv "$dir" &&
    "$dir/bin/pip" install -q -r "$COMPAT_DIR/python/requirements/$1.txt" &&
    touch "$dir/.installed"
}

# run_pytest NAME RESULTS_DIR TEST_FILE...
run_pytest() {
  local dir
  dir=$(venv_dir "$1")
  cd "$COMPAT_DIR/python" &&
    STROM_LOG_FILE="$2/../strom.log" "$dir/bin/python" -m pytest -p no:cacheprovider -rfEs \
      --junitxml="$2/pytest.xml" -o junit_suite_name="$1" "${@:3}"
}

install_kafka_python_3() { ensure_venv kafka-python-3; }
run_kafka_python_3() { run_pytest kafka-python-3 "$1" test_kafka_python.py test_kafka_python_data.py test_kafka_python_groups.py \
  test_kafka_python_txn.py test_seeds.py test_kafka_python_security.py test_kafka_python_acl.py; }
register_suite python-kafka-python-3 install_kafka_python_3 run_kafka_python_3 \
  "kafka-python 3.0.x (pytest)"

install_kafka_python_2() { ensure_venv kafka-python-2; }
run_kafka_python_2() { run_pytest kafka-python-2 "$1" test_kafka_python.py test_kafka_python_data.py test_kafka_python_groups.py \
  test_kafka_python_txn.py test_seeds.py test_kafka_python_security.py test_kafka_python_acl.py; }
register_suite python-kafka-python-2 install_kafka_python_2 run_kafka_python_2 \
  "kafka-python 2.3.x (pytest, same tests as 3.0.x)"

install_confluent_kafka() { ensure_venv confluent-kafka; }
run_confluent_kafka() { run_pytest confluent-kafka "$1" test_confluent_kafka.py test_confluent_kafka_data.py \
  test_confluent_kafka_groups.py test_confluent_kafka_compaction.py test_confluent_kafka_txn.py test_confluent_kafka_security.py \
  test_confluent_kafka_crash_loop.py; }

register_suite python-confluent-kafka install_confluent_kafka run_confluent_kafka \
  "confluent-kafka with its bundled librdkafka (pytest)"
