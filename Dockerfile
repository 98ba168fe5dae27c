# Strom: a Kafka-compatible broker in one small image.
#
#   docker build -t strom .
#   docker run -p 9092:9092 -v strom-data:/var/lib/strom strom
#
# Needs BuildKit (the default builder since Docker 23) for the heredoc below.

# ---- build -------------------------------------------------------------------
FROM rust:1-slim-bookworm AS build
WORKDIR /src

# Dependency layer: build every dependency against stub sources, so that a
# change to Strom's own code does not rebuild (or re-download) them. Only the
# manifests and the lock file decide this layer.
COPY Cargo.toml Cargo.lock ./
COPY crates/protocol/Cargo.toml crates/protocol/
COPY crates/storage/Cargo.toml crates/storage/
COPY crates/broker/Cargo.toml crates/broker/
COPY tests/Cargo.toml tests/
RUN mkdir -p crates/protocol/src crates/storage/src crates/broker/src tests/src \
 && touch crates/protocol/src/lib.rs crates/storage/src/lib.rs tests/src/lib.rs \
 && echo 'fn main() {}' > crates/broker/src/main.rs \
 && cargo build --release --locked -p strom \
 && rm -rf crates tests/src

# Real sources. COPY keeps the files' old modification times, which can be
# older than the stub build above: touch them so cargo rebuilds Strom's crates.
COPY crates crates
COPY tests tests
RUN find crates tests -name '*.rs' -exec touch {} + \
 && cargo build --release --locked -p strom \
 && cp target/release/strom /usr/local/bin/strom

# ---- runtime -----------------------------------------------------------------
# glibc-based like the build stage (same Debian release, so the same glibc);
# bash and coreutils are there for the health check.
FROM debian:bookworm-slim

RUN groupadd --system --gid 10001 strom \
 && useradd --system --uid 10001 --gid strom --home-dir /var/lib/strom --shell /usr/sbin/nologin strom \
 && mkdir -p /var/lib/strom \
 && chown strom:strom /var/lib/strom

COPY --from=build /usr/local/bin/strom /usr/local/bin/strom

# Healthy when the broker's /health endpoint answers 200 (serving, every
# partition log online) if STROM_METRICS_LISTEN is set, else when it answers a
# Kafka ApiVersions v0 request: real round trips, with nothing but bash and
# coreutils. The Kafka port is the first listener's unless given as the argument.
COPY --chmod=0755 <<'EOF' /usr/local/bin/strom-healthcheck
#!/usr/bin/env bash
set -eu
if [ -n "${STROM_METRICS_LISTEN:-}" ] && [ -z "${1:-}" ]; then
  exec 3<>"/dev/tcp/127.0.0.1/${STROM_METRICS_LISTEN##*:}"
  printf 'GET /health HTTP/1.0\r\n\r\n' >&3
  head -n 1 <&3 | grep -q ' 200 '
  exit
fi
first_listener=${STROM_LISTENERS:-PLAINTEXT://0.0.0.0:9092}
first_listener=${first_listener%%,*}
port=${1:-${first_listener##*:}}
exec 3<>"/dev/tcp/127.0.0.1/${port}"
# size 10 | api key 18 (ApiVersions) | version 0 | correlation id 1 | client id null
printf '\000\000\000\012\000\022\000\000\000\000\000\001\377\377' >&3
[ "$(head -c 4 <&3 | wc -c)" -eq 4 ]
EOF

USER strom
# Declared after the chown, so a new named volume starts out owned by strom.
VOLUME ["/var/lib/strom"]
# Listen on every interface; advertised as localhost:9092 unless
# STROM_ADVERTISED_LISTENERS says otherwise (see docker-compose.yml).
ENV STROM_LISTENERS="PLAINTEXT://0.0.0.0:9092" \
    STROM_METRICS_LISTEN="0.0.0.0:9404" \
    STROM_LOG="info"
EXPOSE 9092 9404
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["strom-healthcheck"]
STOPSIGNAL SIGTERM
# No --listen flag here: flags override the environment, and the listeners
# must stay configurable through STROM_LISTENERS.
ENTRYPOINT ["strom", "--data-dir", "/var/lib/strom"]
