# kcat (librdkafka's command-line client) from Debian's packages.
# The scenarios are shell functions in kcat/tests.sh.

install_kcat() {
  command -v kcat >/dev/null && { echo "kcat is installed: $(command -v kcat)"; return 0; }
  apt_install kcat
}

run_kcat() {
  with_strom "$1/../strom.log" bash "$COMPAT_DIR/kcat/tests.sh" "$1/kcat.tsv"
}

register_suite kcat install_kcat run_kcat "kcat from Debian (librdkafka)"
