#!/usr/bin/env python3
"""Broker CPU with many idle long-polling fetches while one producer writes.

Starts STROM_BIN (pinned to CPU 0 when taskset exists) on a free loopback
port and an empty data directory, creates topic `idle` with N+1 partitions,
then keeps N long-poll Fetch requests (v4, max_wait 500 ms, min_bytes 1) in
flight, one connection per partition 0..N-1, which never receive data, while
a kafka-python producer writes 1 KiB records to partition N at a fixed rate.
Reports the broker's user+system CPU over the window, the fetch responses
the idle consumers got (about N x window / 0.5 s when nothing wakes them) and
the records produced.

    PY=~/.cache/strom-compat/venvs/kafka-python-3-*/bin/python
    taskset -c 1 $PY bench/idle_fetch_wakeups.py --strom target/release/strom --fetchers 200 --rate 2000 --seconds 20
"""

import argparse
import os
import selectors
import shutil
import socket
import struct
import subprocess
import tempfile
import time

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

TOPIC = "idle"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fetch_request(correlation_id, partition):
    """Fetch v4 (header v1): one partition from offset 0, 500 ms long poll."""
    client = b"idle-fetch"
    topic = TOPIC.encode()
    body = struct.pack(">hhih", 1, 4, correlation_id, len(client)) + client
    body += struct.pack(">iiiib", -1, 500, 1, 1 << 20, 0)
    body += struct.pack(">ih", 1, len(topic)) + topic
    body += struct.pack(">iiqi", 1, partition, 0, 1 << 20)
    return struct.pack(">i", len(body)) + body


class Fetcher:
    def __init__(self, port, partition):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.partition = partition
        self.correlation = 0
        self.buf = b""
        self.responses = 0

    def send(self):
        self.correlation += 1
        self.sock.setblocking(True)
        self.sock.sendall(fetch_request(self.correlation, self.partition))
        self.sock.setblocking(False)

    def on_readable(self):
        data = self.sock.recv(65536)
        if not data:
            raise RuntimeError("broker closed a fetch connection")
        self.buf += data
        while len(self.buf) >= 4:
            size = struct.unpack(">i", self.buf[:4])[0]
            if len(self.buf) < 4 + size:
                break
            self.buf = self.buf[4 + size:]
            self.responses += 1
            self.send()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strom", required=True)
    ap.add_argument("--fetchers", type=int, default=200)
    ap.add_argument("--rate", type=int, default=2000, help="records/s to the written partition")
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    port = free_port()
    data = tempfile.mkdtemp(prefix="idle-fetch-")
    argv = [os.path.abspath(args.strom), "--data-dir", data, "--listen", f"127.0.0.1:{port}", "--advertise", f"127.0.0.1:{port}"]
    if shutil.which("taskset"):
        argv = ["taskset", "-c", "0"] + argv
    broker = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bootstrap = f"127.0.0.1:{port}"
        deadline = time.time() + 20
        while True:
            try:
                admin = KafkaAdminClient(bootstrap_servers=bootstrap)
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        admin.create_topics([NewTopic(TOPIC, args.fetchers + 1, 1)])
        admin.close()
        time.sleep(1)
        sel = selectors.DefaultSelector()
        fetchers = [Fetcher(port, p) for p in range(args.fetchers)]
        for f in fetchers:
            sel.register(f.sock, selectors.EVENT_READ, f)
            f.send()
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
        value = b"x" * 1024
        # Warm up: every fetcher has a poll in flight, the producer is connected.
        producer.send(TOPIC, value, partition=args.fetchers).get(timeout=10)
        start_cpu, start = cpu_seconds(broker.pid), time.time()
        sent = 0
        for f in fetchers:
            f.responses = 0
        while (now := time.time()) < start + args.seconds:
            due = int((now - start) * args.rate)
            while sent < due:
                producer.send(TOPIC, value, partition=args.fetchers)
                sent += 1
            for key, _ in sel.select(timeout=0.001):
                key.data.on_readable()
        producer.flush()
        elapsed = time.time() - start
        cpu = cpu_seconds(broker.pid) - start_cpu
        responses = sum(f.responses for f in fetchers)
        print(f"fetchers={args.fetchers} rate={args.rate}/s seconds={elapsed:.1f} records={sent} "
              f"broker_cpu_s={cpu:.2f} broker_cpu_pct={100 * cpu / elapsed:.1f} "
              f"idle_fetch_responses={responses} ({responses / elapsed:.0f}/s) "
              f"loadavg={open('/proc/loadavg').read().split()[0]}")
        producer.close()
    finally:
        broker.terminate()
        try:
            broker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            broker.kill()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
