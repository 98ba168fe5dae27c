# Java: kafka-clients AdminClient and kafka-topics (TopicCommand), Maven + JUnit 5,
# once per Kafka release. The first install fills ~/.m2; later runs are offline.

export JAVA_DIR="$COMPAT_DIR/java"
export MAVEN_REPO=${MAVEN_REPO:-$HOME/.m2/repository}

# mvn, batch mode, quiet, with the local repository above.
mvn_quiet() { mvn -B -q -Dmaven.repo.local="$MAVEN_REPO" "$@"; }

# java_stamp VERSION: marks a completed install of that version with this pom
# and this install recipe (this file).
java_stamp() {
  printf '%s/stamps/java-%s-%s\n' "$CACHE_DIR" "$1" \
    "$(files_hash "$JAVA_DIR/pom.xml" "$COMPAT_DIR/suites/java.sh")"
}

java_install() {
  local version=$1 stamp
  stamp=$(java_stamp "$version")
  if [ -f "$stamp" ] && [ -d "$MAVEN_REPO/org/apache/kafka/kafka-tools/$version" ]; then
    echo "Maven dependencies for Kafka $version are cached"
    return 0
  fi
  command -v mvn >/dev/null || apt_install maven || return 1
  # GroupTest runs a kafka-python consumer beside a Java one in one group.
  ensure_venv kafka-python-3 || return 1
  cd "$JAVA_DIR" || return 1
  # go-offline misses Surefire's JUnit provider, which Surefire resolves only
  # when a test runs: run the one test that needs no broker, online, once.
  mvn_quiet -Dkafka.version="$version" dependency:go-offline &&
    mvn_quiet -Dkafka.version="$version" -Dtest=ClientVersionTest test &&
    mkdir -p "$(dirname "$stamp")" && touch "$stamp"
}

# java_run VERSION RESULTS_DIR
java_run() {
  local version=$1 results=$2 reports rc
  reports="$JAVA_DIR/target/kafka-$version/surefire-reports"
  rm -rf "$reports"
  cd "$JAVA_DIR" || return 1
  COMPAT_KAFKA_PYTHON="$(venv_dir kafka-python-3)/bin/python"
  export COMPAT_KAFKA_PYTHON
  # with_strom runs a program, not a shell function: spell mvn_quiet out.
  with_strom "$results/../strom.log" mvn -B -q -Dmaven.repo.local="$MAVEN_REPO" -o -Dkafka.version="$version" test
  rc=$?
  cp "$reports"/TEST-*.xml "$results"/ 2>/dev/null
  return $rc
}

export JAVA_KAFKA_4=4.1.2
export JAVA_KAFKA_3=3.9.2
install_java_4() { java_install "$JAVA_KAFKA_4"; }
run_java_4() { java_run "$JAVA_KAFKA_4" "$1"; }
register_suite java-kafka-4 install_java_4 run_java_4 \
  "Java kafka-clients + kafka-topics $JAVA_KAFKA_4 (JUnit 5)"

install_java_3() { java_install "$JAVA_KAFKA_3"; }
run_java_3() { java_run "$JAVA_KAFKA_3" "$1"; }
register_suite java-kafka-3.9 install_java_3 run_java_3 \
  "Java kafka-clients + kafka-topics $JAVA_KAFKA_3 (JUnit 5)"
