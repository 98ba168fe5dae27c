#!/usr/bin/env bash
# Generates TEST-ONLY TLS material for docker-compose.security.yml into
# ./certs (or the directory given): a throwaway CA, a server certificate for
# localhost and the compose service name "kafka", and a client certificate.
# Never use these in production; they are regenerated, not committed.
set -euo pipefail
dir=${1:-certs}
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/O=Strom Test/CN=strom-test-ca" \
  -keyout ca-key.pem -out ca.pem -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
leaf() {
  local name=$1 subject=$2 ext=$3
  openssl req -newkey rsa:2048 -nodes -subj "$subject" -keyout "$name-key.pem" -out "$name.csr" 2>/dev/null
  printf '%b' "$ext" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
    -out "$name.pem" -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}
leaf server "/O=Strom Test/CN=kafka" "subjectAltName=DNS:localhost,DNS:kafka,DNS:strom,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
leaf client "/O=Strom Test/CN=client" "extendedKeyUsage=clientAuth\n"
# The broker runs as a non-root user in the image: let it read the key.
chmod 644 ./*.pem
echo "test certificates in $(pwd): ca.pem, server.pem, server-key.pem, client.pem, client-key.pem"
