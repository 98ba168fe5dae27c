#!/usr/bin/env python3
"""Restart and shutdown time of a strom broker holding many partitions
(method and results: docs/benchmarks.md, "Optimisation 3").

    python3 bench/restart_partitions.py [--bin target/release/strom]
        [--partitions 10000] [--runs 5] [--produce N]

One broker on a free loopback port and a fresh data directory:
  1. CreateTopics v4: one topic of --partitions partitions (timed);
     with --produce N, one Produce v3 (acks=1) then puts one record in each
     of the first N partitions, so those logs have an append to snapshot at
     the next shutdown (it fails when any partition answers an error: with
     a `ulimit -n` below 3 x N, that was "Too many open files" until
     optimisation 11);
  2. --runs times: SIGTERM (clean shutdown, timed from the signal to the
     process's exit), then a start, timed from just before the spawn to the
     first answered Metadata v12 (all topics, as bench/run.py asks);
  3. --runs times: SIGKILL (an unclean stop), then a timed start: every log
     is recovered from its recovery point.
Prints each figure, the 1-minute load average before it, the broker's RSS
half a second after each clean start, and the medians.
Only the standard library: the requests are built by hand.
"""

import argparse
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

CLIENT_ID = b"bench"


def request(api_key, version, correlation_id, body):
    header = struct.pack(">hhih", api_key, version, correlation_id, len(CLIENT_ID)) + CLIENT_ID
    if version >= 9 and api_key == 3:  # Metadata v9+: flexible header with empty tags
        header += b"\x00"
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def read_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(min(n - len(data), 1 << 20))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return bytes(data)


def call(sock, data):
    sock.sendall(data)
    size, = struct.unpack(">i", read_exact(sock, 4))
    return read_exact(sock, size)


def string(s):
    raw = s.encode()
    return struct.pack(">h", len(raw)) + raw


def metadata_v12():
    # topics = null (all), allow_auto_topic_creation, no authorized operations, no tags.
    return request(3, 12, 1, b"\x00\x01\x00\x00")


def create_topics_v4(topic, partitions, timeout_ms):
    # One topic, no assignments, no configs; timeout; validate_only = false.
    body = struct.pack(">i", 1) + string(topic) + struct.pack(">ihii", partitions, 1, 0, 0)
    return request(19, 4, 2, body + struct.pack(">ib", timeout_ms, 0))


def create_topics_error(response):
    # Response header: correlation id; v4 body: throttle, topics [name, error code, error message].
    at = 8
    count, = struct.unpack_from(">i", response, at)
    at += 4
    errors = []
    for _ in range(count):
        name_len, = struct.unpack_from(">h", response, at)
        at += 2 + name_len
        code, message_len = struct.unpack_from(">hh", response, at)
        at += 4
        message = response[at:at + message_len].decode() if message_len > 0 else ""
        at += max(message_len, 0)
        if code != 0:
            errors.append(f"error {code} {message}")
    return errors


CRC32C_TABLE = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    CRC32C_TABLE.append(c)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = CRC32C_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def varint(n):
    n = (n << 1) ^ (n >> 63)  # zigzag
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def record_batch(value, timestamp_ms):
    """A v2 batch of one record (no key, no headers), offsets from 0."""
    body = b"\x00" + varint(0) + varint(0) + varint(-1) + varint(len(value)) + value + varint(0)
    record = varint(len(body)) + body
    # attributes, last offset delta, timestamps, producer id/epoch, base sequence, count
    after_crc = struct.pack(">hiqqqhii", 0, 0, timestamp_ms, timestamp_ms, -1, -1, -1, 1) + record
    # partition leader epoch, magic, crc
    after_length = struct.pack(">ibI", -1, 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


def produce_v3(topic, partitions, batch):
    # transactional id null, acks = 1, timeout, one topic with every partition.
    body = struct.pack(">hhi", -1, 1, 30_000) + struct.pack(">i", 1) + string(topic) + struct.pack(">i", partitions)
    one = struct.pack(">i", len(batch)) + batch
    body += b"".join(struct.pack(">i", p) + one for p in range(partitions))
    return request(0, 3, 3, body)


def produce_errors(response):
    # Response header; v3 body: topics [name, partitions [index, error, base offset, append time]], throttle.
    at = 4
    topics, = struct.unpack_from(">i", response, at)
    at += 4
    errors = 0
    for _ in range(topics):
        name_len, = struct.unpack_from(">h", response, at)
        at += 2 + name_len
        count, = struct.unpack_from(">i", response, at)
        at += 4
        for _ in range(count):
            _, code, _, _ = struct.unpack_from(">ihqq", response, at)
            at += 22
            errors += code != 0
    return errors


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


class Broker:
    def __init__(self, bin_path, data_dir, log_path):
        self.args = [bin_path, "--data-dir", data_dir, "--listen", f"127.0.0.1:{free_port()}"]
        self.port = int(self.args[-1].rsplit(":", 1)[1])
        self.log_path = log_path
        self.proc = None

    def start(self, timeout_s=600):
        """Spawns the broker; milliseconds until it answered a Metadata request."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("STROM_")}
        with open(self.log_path, "ab") as log:
            started = time.perf_counter_ns()
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = started + int(timeout_s * 1e9)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"strom exited with {self.proc.returncode} during startup (log: {self.log_path})")
            if time.perf_counter_ns() > deadline:
                raise RuntimeError(f"strom not ready within {timeout_s} s")
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            except OSError:
                time.sleep(0.0005)
                continue
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                call(sock, metadata_v12())
                return (time.perf_counter_ns() - started) / 1e6
            except (OSError, ConnectionError):
                time.sleep(0.0005)
            finally:
                sock.close()

    def stop(self, sig, timeout_s=600):
        """Sends `sig`; milliseconds until the process exited."""
        started = time.perf_counter_ns()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout_s)
        elapsed = (time.perf_counter_ns() - started) / 1e6
        if sig == signal.SIGTERM and code != 0:
            raise RuntimeError(f"strom exited with {code} after SIGTERM (log: {self.log_path})")
        return elapsed

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def failed_opens(self):
        """Lines of the broker's log so far saying a partition log did not open."""
        with open(self.log_path, errors="replace") as log:
            return sum("cannot open partition log" in line for line in log)

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=900)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default="target/release/strom")
    parser.add_argument("--partitions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--produce", type=int, default=0, metavar="N", help="one record into each of the first N partitions")
    args = parser.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"restart_partitions: no strom binary at {args.bin} (cargo build --release -p strom)")
    print(f"binary: {args.bin}, {args.partitions} partitions, {args.runs} runs, produce={args.produce}")
    with tempfile.TemporaryDirectory(prefix="strom-restart-") as root:
        broker = Broker(args.bin, os.path.join(root, "data"), os.path.join(root, "strom.log"))
        try:
            run(broker, args)
        except Exception:
            sys.stdout.write(open(broker.log_path, errors="replace").read()[-4000:])
            raise
        finally:
            if broker.proc and broker.proc.poll() is None:
                broker.proc.kill()
                broker.proc.wait()


def failed_note(broker):
    """A warning when partition logs failed to open so far (e.g. too many open files)."""
    time.sleep(0.5)  # the log lines of a start that answered already
    failed = broker.failed_opens()
    return f"  [{failed} 'cannot open partition log' lines in the log so far]" if failed else ""


def run(broker, args):
    broker.start()
    with broker.connect() as sock:
        load, started = load1(), time.perf_counter()
        errors = create_topics_error(call(sock, create_topics_v4("many", args.partitions, 600_000)))
        if errors:
            raise RuntimeError(f"CreateTopics: {errors}")
        print(f"create {args.partitions} partitions: {(time.perf_counter() - started) * 1000:.0f} ms (load {load:.1f})"
              f"{failed_note(broker)}")
        if args.produce:
            load, started = load1(), time.perf_counter()
            batch = record_batch(b"x" * 100, int(time.time() * 1000))
            failed = produce_errors(call(sock, produce_v3("many", min(args.produce, args.partitions), batch)))
            if failed:
                raise RuntimeError(f"Produce: {failed} partitions failed")
            print(f"produce 1 record to {args.produce} partitions: {(time.perf_counter() - started) * 1000:.0f} ms (load {load:.1f})")
    figures = {"shutdown_ms": [], "clean_start_ms": [], "unclean_start_ms": [], "rss_mib": []}
    for run_no in range(1, args.runs + 1):
        load = load1()
        stop_ms = broker.stop(signal.SIGTERM)
        start_ms = broker.start()
        figures["shutdown_ms"].append(stop_ms)
        figures["clean_start_ms"].append(start_ms)
        note = failed_note(broker)
        figures["rss_mib"].append(broker.rss_mib())
        print(f"run {run_no}: SIGTERM shutdown {stop_ms:8.0f} ms, clean start {start_ms:8.0f} ms (load {load:.1f}),"
              f" RSS {figures['rss_mib'][-1]:.1f} MiB{note}", flush=True)
    for run_no in range(1, args.runs + 1):
        time.sleep(1)  # past the startup: the logs are open and the marker is gone
        load = load1()
        broker.stop(signal.SIGKILL)
        start_ms = broker.start()
        figures["unclean_start_ms"].append(start_ms)
        print(f"run {run_no}: SIGKILL, unclean start {start_ms:8.0f} ms (load {load:.1f}){failed_note(broker)}", flush=True)
    broker.stop(signal.SIGTERM)
    print("medians: " + ", ".join(f"{name} {statistics.median(values):.0f}" for name, values in figures.items()))


if __name__ == "__main__":
    main()
