# JavaScript: kafkajs under node's own test runner. npm installs the locked
# versions into compat-tests/node/node_modules (git-ignored) once.

export NODE_DIR="$COMPAT_DIR/node"

install_kafkajs() {
  command -v node >/dev/null || { echo "node is not installed"; return 1; }
  local stamp="$CACHE_DIR/stamps/kafkajs-$(files_hash "$NODE_DIR/package-lock.json")"
  if [ -f "$stamp" ] && [ -d "$NODE_DIR/node_modules/kafkajs" ]; then
    echo "kafkajs is installed"
    return 0
  fi
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) && mkdir -p "$(dirname "$stamp")" && touch "$stamp"
}

run_kafkajs() {
  local results=$1
  cd "$NODE_DIR" || return 1
  with_strom "$results/../strom.log" node --test \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=junit --test-reporter-destination="$results/node.xml" \
    kafkajs.test.js kafkajs-groups.test.js kafkajs-txn.test.js kafkajs-security.test.js
}

register_suite node-kafkajs install_kafkajs run_kafkajs "kafkajs 2.2.4 (node --test)"
