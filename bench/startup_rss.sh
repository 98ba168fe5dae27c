#!/usr/bin/env bash
# Startup time and idle memory of a strom broker (method: docs/benchmarks.md).
#
#   bash bench/startup_rss.sh [path/to/strom]      (default target/release/strom)
#   RUNS=5 bash bench/startup_rss.sh
#
# Each run starts the broker on a free loopback port with an empty data
# directory and measures, with microsecond timers:
#   ready_ms        spawn -> first answered Metadata request (a client that
#                   connects and sends Metadata v12 in a tight loop)
#   rss_idle_kib    VmRSS from /proc/<pid>/status 1 s after it got ready
#   rss_after_kib   VmRSS 1 s after 100 more Metadata requests
# and prints each run and the median of the runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=${1:-target/release/strom}
runs=${RUNS:-5}
[[ -x $bin ]] || { echo "startup_rss: no strom binary at $bin (cargo build --release -p strom)" >&2; exit 1; }

exec python3 - "$bin" "$runs" <<'PY'
import os, socket, statistics, struct, subprocess, sys, tempfile, time

bin_path, runs = sys.argv[1], int(sys.argv[2])

def metadata_v12(correlation_id):
    # Request header v2: api key 3, version 12, correlation id, client id, no tags.
    client_id = b"bench"
    header = struct.pack(">hhih", 3, 12, correlation_id, len(client_id)) + client_id + b"\x00"
    # Body: topics = null (all), allow_auto_topic_creation = true,
    # include_topic_authorized_operations = false, no tagged fields.
    body = b"\x00\x01\x00\x00"
    payload = header + body
    return struct.pack(">i", len(payload)) + payload

def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data

def metadata(sock, correlation_id):
    sock.sendall(metadata_v12(correlation_id))
    size, = struct.unpack(">i", read_exact(sock, 4))
    response = read_exact(sock, size)
    got, = struct.unpack(">i", response[:4])
    if got != correlation_id:
        raise RuntimeError(f"correlation id {got}, expected {correlation_id}")

def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def one_run():
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="strom-bench-") as data_dir:
        args = [bin_path, "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("STROM_")}
        started = time.perf_counter_ns()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            deadline = started + 10_000_000_000
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"strom exited with {proc.returncode} during startup")
                if time.perf_counter_ns() > deadline:
                    raise RuntimeError("strom not ready within 10 s")
                try:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                except OSError:
                    continue
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    metadata(sock, 1)
                    break
                except (OSError, ConnectionError):
                    sock.close()
            ready_us = (time.perf_counter_ns() - started) / 1000
            time.sleep(1)
            rss_idle = vm_rss_kib(proc.pid)
            for i in range(100):
                metadata(sock, 2 + i)
            time.sleep(1)
            rss_after = vm_rss_kib(proc.pid)
            sock.close()
            return ready_us / 1000, rss_idle, rss_after
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

print(f"binary: {bin_path} ({os.path.getsize(bin_path) / 1e6:.1f} MB)")
print(f"{'run':>4} {'ready_ms':>9} {'rss_idle_kib':>13} {'rss_after_kib':>14}")
results = []
for run in range(1, runs + 1):
    ready_ms, rss_idle, rss_after = one_run()
    results.append((ready_ms, rss_idle, rss_after))
    print(f"{run:>4} {ready_ms:>9.2f} {rss_idle:>13} {rss_after:>14}")
median = [statistics.median(column) for column in zip(*results)]
print(f"{'med':>4} {median[0]:>9.2f} {median[1]:>13.0f} {median[2]:>14.0f}")
print(f"median: ready {median[0]:.2f} ms, idle RSS {median[1] / 1024:.1f} MiB, "
      f"RSS after 100 Metadata {median[2] / 1024:.1f} MiB")
PY
