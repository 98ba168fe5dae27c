#!/usr/bin/env python3
"""Strom vs Apache Kafka on the same machine (method: docs/benchmarks.md).

Started by bench/run.sh, which installs the jars and builds the tools:

    run.py --mode quick|full --strom BIN --libs DIR --classes DIR --out DIR
    run.py --self-test          (parsers and target table on canned output; no JVM)

Each repetition starts a fresh Strom and a fresh single-node KRaft Kafka, each
with an empty data directory, and runs every workload against Strom, then the
same workload against Kafka, and so on, so that noise from the (shared)
machine falls on both. Results land in OUT/results.json and OUT/summary.md.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

MIB = 1024 * 1024

# --------------------------------------------------------------------------
# Modes: how much each workload does. Quick checks the harness in seconds per
# workload; full is what docs/benchmarks.md reports.

MODES = {
    "quick": dict(reps=1, records_1k=20_000, records_100=100_000, e2e_seconds=3, e2e_warmup=1,
                  kafka_e2e_messages=300, durable_records=5_000, many_partitions=300, fsync_samples=300),
    "full": dict(reps=3, records_1k=500_000, records_100=3_000_000, e2e_seconds=30, e2e_warmup=5,
                 kafka_e2e_messages=5_000, durable_records=200_000, many_partitions=10_000, fsync_samples=3_000),
}

# Kafka as its own start script runs it (kafka-run-class.sh defaults:
# KAFKA_HEAP_OPTS and KAFKA_JVM_PERFORMANCE_OPTS).
KAFKA_JVM = ["-Xmx1G", "-Xms1G", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
             "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
             "-Djava.awt.headless=true", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"]
# Kafka's perf scripts give the tools 512 MB.
TOOL_JVM = ["-Xmx512M", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"]


# --------------------------------------------------------------------------
# Parsing tool output.

PRODUCER_RE = re.compile(
    r"(?P<records>\d+) records sent, (?P<rps>[\d.]+) records/sec \((?P<mbps>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency, (?P<p50>[\d.]+) ms 50th, "
    r"(?P<p95>[\d.]+) ms 95th, (?P<p99>[\d.]+) ms 99th, (?P<p999>[\d.]+) ms 99.9th")


def parse_producer(text):
    """The last summary line of ProducerPerformance."""
    matches = list(PRODUCER_RE.finditer(text))
    if not matches:
        raise ValueError("no ProducerPerformance summary line in output")
    m = matches[-1]
    return {"records": int(m["records"]), "records_per_s": float(m["rps"]), "mb_per_s": float(m["mbps"]),
            "avg_ms": float(m["avg"]), "max_ms": float(m["max"]), "p50_ms": float(m["p50"]),
            "p99_ms": float(m["p99"]), "p999_ms": float(m["p999"])}


def parse_result(text):
    """The "RESULT key=value ..." line of bench/java/Bench.java."""
    for line in reversed(text.splitlines()):
        if line.startswith("RESULT "):
            out = {}
            for pair in line[len("RESULT "):].split():
                key, _, value = pair.partition("=")
                try:
                    out[key] = int(value)
                except ValueError:
                    try:
                        out[key] = float(value)
                    except ValueError:
                        out[key] = value
            return out
    raise ValueError("no RESULT line in output")


def parse_consumer_performance(text):
    """ConsumerPerformance's CSV line: MB/s and records/s while fetching (its
    fetch.* columns, which leave out the group's join), the rebalance time, and
    the whole run's MB/s."""
    for line in reversed(text.splitlines()):
        fields = [f.strip() for f in line.split(",")]
        if len(fields) == 10 and fields[0][:2].isdigit():
            try:
                values = [float(f) for f in fields[2:]]
            except ValueError:
                continue
            mb, mbps, n, _nps, rebalance, fetch_ms, fetch_mbps, fetch_nps = values
            return {"records": int(n), "mb": mb, "mb_per_s": fetch_mbps, "records_per_s": fetch_nps,
                    "rebalance_ms": int(rebalance), "fetch_ms": int(fetch_ms), "total_mb_per_s": mbps}
    raise ValueError("no ConsumerPerformance result line in output")


KAFKA_E2E_AVG_RE = re.compile(r"Avg latency: (?P<avg>[\d.]+) ms")
KAFKA_E2E_PCT_RE = re.compile(r"Percentiles: 50th = (?P<p50>\d+), 99th = (?P<p99>\d+), 99.9th = (?P<p999>\d+)")


def parse_kafka_e2e(text):
    """Kafka's EndToEndLatency: average in ms, percentiles in whole ms."""
    avg, pct = KAFKA_E2E_AVG_RE.search(text), KAFKA_E2E_PCT_RE.search(text)
    if not avg or not pct:
        raise ValueError("no EndToEndLatency summary in output")
    return {"avg_ms": float(avg["avg"]), "p50_ms": int(pct["p50"]), "p99_ms": int(pct["p99"]), "p999_ms": int(pct["p999"])}


# --------------------------------------------------------------------------
# Processes.

def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} for {pid}")


def cpu_seconds(pid):
    """User + system CPU of a process and its reaped children (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def metadata_v12(correlation_id):
    client_id = b"bench"
    header = struct.pack(">hhih", 3, 12, correlation_id, len(client_id)) + client_id + b"\x00"
    body = b"\x00\x01\x00\x00"  # topics = null (all), auto-create, no authorized ops, no tags
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


def wait_metadata(port, proc, started_ns, timeout_s):
    """Milliseconds from `started_ns` to the first answered Metadata v12."""
    deadline = started_ns + int(timeout_s * 1e9)
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"broker exited with {proc.returncode} during startup")
        if time.perf_counter_ns() > deadline:
            raise RuntimeError(f"broker not ready within {timeout_s} s")
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            time.sleep(0.0005)
            continue
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(metadata_v12(1))
            size, = struct.unpack(">i", read_exact(sock, 4))
            read_exact(sock, size)
            return (time.perf_counter_ns() - started_ns) / 1e6
        except (OSError, ConnectionError):
            time.sleep(0.0005)
        finally:
            sock.close()


def pinned(cpus, argv):
    return (["taskset", "-c", cpus] if cpus else []) + argv


class MemoryCgroup:
    """A memory cgroup of one broker's own, `limit` bytes, its page cache
    filled from a file of that size before the broker starts (--memory-limit-gib).

    Why: this VM hands memory the guest frees back to the host (free page
    reporting), so a page-cache page written in memory nobody touched for a
    second or two faults in the host, about 30x a copy (docs/benchmarks.md,
    finding 8). With the broker's memory bounded and already full, as in a
    container with a memory limit on a host whose page cache is full, its new
    page-cache pages are pages it just reclaimed, as on a machine without
    such a balloon. Both brokers get the same limit and the same filling.
    """

    def __init__(self, name, limit, filler):
        self.filler = filler
        self.path = os.path.join(self.parent(), f"strom-bench-{name}-{os.getpid()}")
        os.makedirs(self.path, exist_ok=True)
        v1 = os.path.exists(os.path.join(self.path, "memory.limit_in_bytes"))
        with open(os.path.join(self.path, "memory.limit_in_bytes" if v1 else "memory.max"), "w") as f:
            f.write(str(limit))
        with open(filler, "wb") as f:
            os.posix_fallocate(f.fileno(), 0, limit)  # unwritten extents: reading them costs no disk I/O

    @staticmethod
    def parent():
        """This process's own memory cgroup (v1 `memory` hierarchy, else v2)."""
        with open("/proc/self/cgroup") as f:
            lines = [line.rstrip("\n").split(":", 2) for line in f]
        for _, controllers, path in lines:
            if "memory" in controllers.split(","):
                return "/sys/fs/cgroup/memory" + path
        for hierarchy, _, path in lines:
            if hierarchy == "0":
                return "/sys/fs/cgroup" + path
        raise OSError("no memory cgroup found in /proc/self/cgroup")

    def enter(self):
        """In the child before exec (Popen's preexec_fn)."""
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def fill(self):
        subprocess.run(["cat", self.filler], stdout=subprocess.DEVNULL, check=True, preexec_fn=self.enter, timeout=600)

    def remove(self):
        """The cgroup; the filler goes with the directory main() made for it."""
        try:
            os.rmdir(self.path)
        except OSError:
            pass  # still charged pages: the kernel frees it with them


@dataclass
class Broker:
    name: str
    data_dir: str
    port: int
    cpus: str
    log_path: str
    proc: subprocess.Popen = None
    ready_ms: float = 0.0
    log: object = None
    cgroup: MemoryCgroup = None

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s=180):
        self.prepare()
        self.log = open(self.log_path, "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("STROM_")}
        started = time.perf_counter_ns()
        self.proc = subprocess.Popen(pinned(self.cpus, self.argv()), stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=self.cgroup.enter if self.cgroup else None)
        self.ready_ms = wait_metadata(self.port, self.proc, started, timeout_s)
        return self.ready_ms

    def stop(self, timeout_s=90):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None

    def rss_kib(self):
        return proc_status(self.proc.pid, "VmRSS")

    def hwm_kib(self):
        return proc_status(self.proc.pid, "VmHWM")

    def cpu(self):
        return cpu_seconds(self.proc.pid)


class Strom(Broker):
    binary = ""

    def prepare(self):
        os.makedirs(self.data_dir, exist_ok=True)
        # Defaults, except what the Kafka broker below also sets as Kafka's
        # own config/server.properties does: no initial rebalance delay.
        with open(self.config_path(), "w") as f:
            f.write("group_initial_rebalance_delay_ms: 0\n")

    def config_path(self):
        return os.path.join(os.path.dirname(self.data_dir), f"{self.name}.yaml")

    def argv(self):
        return [self.binary, "--config", self.config_path(), "--data-dir", self.data_dir, "--listen", self.bootstrap,
                "--advertise", self.bootstrap]


class Kafka(Broker):
    libs = ""

    def prepare(self):
        """server.properties and `kafka-storage format`, once per data directory (not timed)."""
        config = os.path.join(self.data_dir, "server.properties")
        if os.path.exists(config):
            return
        controller = free_port()
        os.makedirs(os.path.join(self.data_dir, "kafka-logs"), exist_ok=True)
        with open(config, "w") as f:
            f.write(f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller}
listeners=PLAINTEXT://{self.bootstrap},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=PLAINTEXT://{self.bootstrap}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={self.data_dir}/kafka-logs
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
""")
        java = ["java", "-Xmx256m", "-cp", f"{self.libs}/*", "kafka.tools.StorageTool"]
        cluster = subprocess.run(java + ["random-uuid"], check=True, capture_output=True, text=True, timeout=120).stdout.strip()
        subprocess.run(java + ["format", "-t", cluster, "-c", config], check=True, capture_output=True, timeout=120)

    def argv(self):
        return ["java"] + KAFKA_JVM + ["-cp", f"{self.libs}/*", "kafka.Kafka", os.path.join(self.data_dir, "server.properties")]


# --------------------------------------------------------------------------
# Running tools.

@dataclass
class Ctx:
    args: argparse.Namespace
    mode: dict
    out: str
    client_cpus: str
    runs: list = field(default_factory=list)
    seq: int = 0

    def tool(self, main_class, tool_args, timeout_s=900, background=False, check=True):
        cp = f"{self.args.classes}:{self.args.libs}/*"
        argv = ["java"] + TOOL_JVM + ["-cp", cp, main_class] + [str(a) for a in tool_args]
        return self.run(main_class.rsplit('.', 1)[-1], argv, timeout_s, background, check)

    def run(self, label, argv, timeout_s=900, background=False, check=True):
        """Runs a load generator on the client cores, its output kept in logs/."""
        argv = pinned(self.client_cpus, argv)
        self.seq += 1
        log_path = os.path.join(self.out, "logs", f"{self.seq:04d}-{label}.log")
        if background:
            log = open(log_path, "w")
            return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True), log_path
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
        with open(log_path, "w") as log:
            log.write(" ".join(argv) + "\n" + done.stdout + done.stderr)
        if done.returncode != 0 and check:
            raise RuntimeError(f"{label} exited {done.returncode}; see {log_path} (its command line is the first line)")
        return done.stdout

    def wanted(self, workload):
        return not self.args.only or re.search(self.args.only, workload) is not None

    def bench(self, *tool_args, timeout_s=900):
        return parse_result(self.tool("Bench", tool_args, timeout_s=timeout_s))

    def franz(self, *tool_args, timeout_s=900):
        """bench/go (franz-go): a client light enough that the broker is the limit."""
        argv = [self.args.franzbench] + [str(a) for a in tool_args]
        return parse_result(self.run(f"franzbench-{tool_args[0]}", argv, timeout_s))

    def record(self, rep, broker, workload, result, load, cpu_s=None):
        entry = {"rep": rep, "broker": broker.name, "workload": workload, "load_before": load, **result}
        if cpu_s is not None:
            entry["broker_cpu_s"] = round(cpu_s, 3)
        self.runs.append(entry)
        shown = {k: v for k, v in result.items() if k in
                 ("records_per_s", "mb_per_s", "p99_ms", "p50_us", "p99_us", "ack_p50_us",
                  "consume_mb_per_s", "ready_ms", "idle_rss_kib", "peak_rss_kib", "broker_cpu_s")}
        if cpu_s is not None:
            shown["broker_cpu_s"] = entry["broker_cpu_s"]
        print(f"  {time.strftime('%H:%M:%S')} rep {rep} {broker.name:<6} {workload:<34} load {load:>5}  {shown}", flush=True)


def produce(ctx, broker, topic, records, size, acks, extra_props=()):
    props = [f"bootstrap.servers={broker.bootstrap}", f"acks={acks}", *extra_props]
    out = ctx.tool("org.apache.kafka.tools.ProducerPerformance",
                   ["--topic", topic, "--num-records", records, "--record-size", size, "--throughput", -1,
                    "--producer-props", *props])
    return parse_producer(out)


def produce_consume(ctx, broker, topic, records, size):
    """A tailing consumer (ready before the producer starts) and an unthrottled producer at once."""
    consumer, log_path = ctx.tool("Bench", ["consume", broker.bootstrap, topic, records, 600, "from-end"], background=True)
    try:
        ready = consumer.stdout.readline()
        if "READY" not in ready:
            raise RuntimeError(f"tailing consumer did not get ready; see {log_path}")
        produced = produce(ctx, broker, topic, records, size, 1)
        out, _ = consumer.communicate(timeout=600)
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
    consumed = parse_result(out)
    return {"records_per_s": produced["records_per_s"], "mb_per_s": produced["mb_per_s"], "p99_ms": produced["p99_ms"],
            "consume_records_per_s": consumed["records_per_s"], "consume_mb_per_s": consumed["mb_per_s"],
            "consume_complete": consumed["complete"]}


def fsync_floor(directory, samples, gap_s=0.0):
    """p50/p99 of one 1 KiB append + fdatasync on the data directory's disk, in µs,
    back to back or one every `gap_s` (an idle disk and CPU answer slower: at
    200 writes/s the p50 here is about 2.5x the back-to-back one)."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        data, lat = b"x" * 1024, []
        for _ in range(samples):
            t = time.perf_counter_ns()
            os.write(fd, data)
            os.fdatasync(fd)
            lat.append((time.perf_counter_ns() - t) / 1000)
            if gap_s:
                time.sleep(gap_s)
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    return {"p50_us": round(lat[len(lat) // 2], 1), "p99_us": round(lat[int(len(lat) * 0.99)], 1)}


# --------------------------------------------------------------------------
# The workloads.

PRODUCE_MATRIX = [(size, acks, parts) for size in (1024, 100) for acks in ("1", "all") for parts in (1, 6)]
# Producers sharing the durable topic in the franz-go group-commit workload.
DURABLE_PRODUCERS = 4
# The raw workloads' batch: the Java producer's default batch.size.
RAW_BATCH_BYTES = 16384
# Raw consume reads its topic this many times per run (from the page cache):
# one pass takes a few tenths of a second, too short to measure.
RAW_CONSUME_PASSES = 5


def run_workloads(ctx, rep, brokers):
    m = ctx.mode

    def each(workload, fn, cpu=False):
        if not ctx.wanted(workload):
            return
        for broker in brokers:
            # Each run starts with no dirty pages: the kernel's writeback of
            # the last run's data (which makes page-cache writes several times
            # dearer here) is not charged to the next broker.
            os.sync()
            load = loadavg()
            before = broker.cpu() if cpu else None
            result = fn(broker)
            ctx.record(rep, broker, workload, result, load, broker.cpu() - before if cpu else None)

    def records_for(size):
        return m["records_1k"] if size == 1024 else m["records_100"]

    def produce_or_feed(name, fn, readers):
        """A produce workload, measured when wanted; else run unreported
        when one of `readers` (the workloads reading its topic) is wanted."""
        if ctx.wanted(name):
            each(name, fn, cpu=True)
        elif any(ctx.wanted(reader) for reader in readers):
            for broker in brokers:
                fn(broker)

    def topic(broker, name, partitions, *configs):
        ctx.bench("topic", broker.bootstrap, name, partitions, *configs, timeout_s=600)

    # 1. produce, unthrottled
    for size, acks, parts in PRODUCE_MATRIX:
        name = f"produce-{size}b-acks{acks}-{parts}p"

        def one(broker, name=name, size=size, acks=acks, parts=parts):
            topic(broker, name, parts)
            result = produce(ctx, broker, name, records_for(size), size, acks)
            result["bytes"] = result["records"] * size
            return result
        # Workload 2 reads the acks=1 topics.
        produce_or_feed(name, one, [f"consume-{size}b-{parts}p", f"consume-group-{size}b-{parts}p"] if acks == "1" else [])

    # 2. consume what workload 1 wrote (acks=1 topics), from a hot page cache
    for size in (1024, 100):
        for parts in (1, 6):
            name = f"produce-{size}b-acks1-{parts}p"
            each(f"consume-{size}b-{parts}p",
                 lambda b, name=name, size=size: ctx.bench("consume", b.bootstrap, name, records_for(size), 600), cpu=True)

    # 2b. the same with Kafka's ConsumerPerformance in a consumer group (join, then fetch)
    for size in (1024, 100):
        for parts in (1, 6):
            name = f"produce-{size}b-acks1-{parts}p"

            def group_consume(broker, name=name, size=size, parts=parts):
                records = records_for(size)
                out = ctx.tool("org.apache.kafka.tools.ConsumerPerformance",
                               ["--bootstrap-server", broker.bootstrap, "--topic", name, "--messages", records,
                                "--group", f"perf-{name}-{broker.name}", "--timeout", 60000])
                result = parse_consumer_performance(out)
                if result["records"] < records:
                    raise RuntimeError(f"ConsumerPerformance read {result['records']} of {records} records from {name}")
                return result
            each(f"consume-group-{size}b-{parts}p", group_consume, cpu=True)

    # 3. produce and consume at once
    def both(broker):
        topic(broker, "produce-consume", 6)
        return produce_consume(ctx, broker, "produce-consume", m["records_1k"], 1024)
    each("produce+consume-1024b-6p", both, cpu=True)

    # 4. end-to-end latency at fixed rates (µs resolution), and Kafka's own tool
    for rate in (1000, 10000):
        def e2e(broker, rate=rate):
            name = f"e2e-{rate}"
            topic(broker, name, 1)
            return ctx.bench("e2e", broker.bootstrap, name, rate, m["e2e_seconds"], m["e2e_warmup"], 1024, 1)
        each(f"e2e-{rate}rps-1024b", e2e)

    def kafka_e2e(broker):
        topic(broker, "e2e-kafka-tool", 1)
        out = ctx.tool("org.apache.kafka.tools.EndToEndLatency",
                       [broker.bootstrap, "e2e-kafka-tool", m["kafka_e2e_messages"], 1, 1024])
        return parse_kafka_e2e(out)
    each("e2e-kafka-tool-sync-1024b", kafka_e2e)

    # 5. durable produce: acks=all and an fsync per write (flush.messages=1)
    for parts in (1, 6):
        def durable(broker, parts=parts):
            name = f"durable-{parts}p"
            topic(broker, name, parts, "flush.messages=1")
            result = produce(ctx, broker, name, m["durable_records"], 1024, "all")
            result["bytes"] = result["records"] * 1024
            return result
        each(f"durable-produce-1024b-{parts}p", durable, cpu=True)

    def durable_latency(broker):
        topic(broker, "durable-latency", 1, "flush.messages=1")
        return ctx.bench("e2e", broker.bootstrap, "durable-latency", 200, m["e2e_seconds"], m["e2e_warmup"], 1024, "all")
    each("durable-latency-200rps-1024b", durable_latency)

    # ... and the same without the fsync: what the durable ack costs on top
    def acks_all_latency(broker):
        topic(broker, "acks-all-latency", 1)
        return ctx.bench("e2e", broker.bootstrap, "acks-all-latency", 200, m["e2e_seconds"], m["e2e_warmup"], 1024, "all")
    each("acks-all-latency-200rps-1024b", acks_all_latency)

    if ctx.args.franzbench:
        run_franz_workloads(ctx, each, produce_or_feed, records_for, topic)


def run_franz_workloads(ctx, each, produce_or_feed, records_for, topic):
    """Workloads 1, 2 and 5 again with franz-go (bench/go) as the client: the
    Java tools spend more CPU per MB than either broker, so on a small machine
    they measure themselves; franz-go leaves the broker as the limit."""
    for size, acks, parts in PRODUCE_MATRIX:
        name = f"franz-produce-{size}b-acks{acks}-{parts}p"

        def one(broker, name=name, size=size, acks=acks, parts=parts):
            topic(broker, name, parts)
            result = ctx.franz("produce", broker.bootstrap, name, records_for(size), size, acks, 1)
            result["bytes"] = result["records"] * size
            return result
        produce_or_feed(name, one, [f"franz-consume-{size}b-{parts}p"] if acks == "1" else [])
    for size in (1024, 100):
        for parts in (1, 6):
            name = f"franz-produce-{size}b-acks1-{parts}p"
            each(f"franz-consume-{size}b-{parts}p",
                 lambda b, name=name, size=size: ctx.franz("consume", b.bootstrap, name, records_for(size)), cpu=True)
    # The broker's own ceiling: pre-encoded batches of Java's default
    # batch.size (16 KiB), one per partition per request, four requests in
    # flight, and fetches counted from batch headers: no client-side record work.
    for size in (1024, 100):
        for parts in (1, 6):
            name = f"raw-produce-{size}b-{parts}p"

            def raw(broker, name=name, size=size, parts=parts):
                topic(broker, name, parts)
                result = ctx.franz("raw-produce", broker.bootstrap, name, records_for(size), size, "all", parts, RAW_BATCH_BYTES)
                result["bytes"] = result["records"] * size
                return result
            produce_or_feed(name, raw, [f"raw-consume-{size}b-{parts}p"])
    for size in (1024, 100):
        for parts in (1, 6):
            name = f"raw-produce-{size}b-{parts}p"
            each(f"raw-consume-{size}b-{parts}p",
                 lambda b, name=name, size=size: ctx.franz("raw-consume", b.bootstrap, name, records_for(size), RAW_CONSUME_PASSES), cpu=True)
    # Workload 4 without a JVM beside the broker: the same method as Bench's
    # e2e, whose p99 on a small machine is mostly the Java client's own pauses.
    m = ctx.mode
    for rate in (1000, 10000):
        def e2e(broker, rate=rate):
            name = f"franz-e2e-{rate}"
            topic(broker, name, 1)
            return ctx.franz("e2e", broker.bootstrap, name, rate, m["e2e_seconds"], m["e2e_warmup"], 1024, 1)
        each(f"franz-e2e-{rate}rps-1024b", e2e)
    # Group commit: four producers (four connections) on one partition, or
    # spread over six, every write fsynced before its ack.
    for parts in (1, 6):
        def durable(broker, parts=parts):
            name = f"franz-durable-{parts}p"
            topic(broker, name, parts, "flush.messages=1")
            return ctx.franz("produce", broker.bootstrap, name, ctx.mode["records_1k"], 1024, "all", DURABLE_PRODUCERS)
        each(f"franz-durable-1024b-{parts}p-{DURABLE_PRODUCERS}producers", durable, cpu=True)


def run_rep(ctx, rep, strom_bin, kafka_libs, broker_cpus, cgroups):
    root = tempfile.mkdtemp(prefix=f"strom-bench-{rep}-", dir=ctx.args.data_root)
    logs = os.path.join(ctx.out, "logs")
    try:
        brokers = [
            Strom("strom", os.path.join(root, "strom"), free_port(), broker_cpus, os.path.join(logs, f"strom-rep{rep}.log"),
                  cgroup=cgroups.get("strom")),
            Kafka("kafka", os.path.join(root, "kafka"), free_port(), broker_cpus, os.path.join(logs, f"kafka-rep{rep}.log"),
                  cgroup=cgroups.get("kafka")),
        ]
        for broker in brokers:
            if broker.cgroup:
                broker.cgroup.fill()
            load = loadavg()
            broker.start()
            time.sleep(1)
            ctx.record(rep, broker, "startup-empty", {"ready_ms": round(broker.ready_ms, 2), "idle_rss_kib": broker.rss_kib()}, load)
        floor = fsync_floor(root, ctx.mode["fsync_samples"])
        ctx.runs.append({"rep": rep, "broker": "disk", "workload": "fsync-floor-1024b", "load_before": loadavg(), **floor})
        # At the durable-latency workload's pace (200/s), over the same 30 s at most.
        paced = fsync_floor(root, min(ctx.mode["fsync_samples"], 200 * ctx.mode["e2e_seconds"]), gap_s=0.005)
        ctx.runs.append({"rep": rep, "broker": "disk", "workload": "fsync-floor-1024b-200rps", "load_before": loadavg(), **paced})
        print(f"  rep {rep} disk   fsync floor {floor}, at 200/s {paced}", flush=True)
        try:
            run_workloads(ctx, rep, brokers)
            for broker in brokers:
                ctx.record(rep, broker, "peak-rss", {"peak_rss_kib": broker.hwm_kib()}, loadavg())
        finally:
            for broker in brokers:
                broker.stop()
        # Startup with many partitions: create them, stop, time the restart.
        many = ctx.mode["many_partitions"]
        for broker in brokers if ctx.wanted(f"startup-{many}-partitions") else []:
            try:
                broker.start()
                ctx.bench("topic", broker.bootstrap, "many", many, timeout_s=900)
                broker.stop(timeout_s=300)
                load = loadavg()
                broker.start(timeout_s=600)
                time.sleep(1)
                ctx.record(rep, broker, f"startup-{many}-partitions",
                           {"ready_ms": round(broker.ready_ms, 2), "idle_rss_kib": broker.rss_kib()}, load)
            finally:
                broker.stop(timeout_s=300)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------
# Summary: medians per broker and workload, ratios, targets.

def medians(runs):
    groups = {}
    for r in runs:
        groups.setdefault((r["workload"], r["broker"]), []).append(r)
    out = {}
    for key, rows in groups.items():
        numeric = {k for row in rows for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        out[key] = {k: statistics.median([row[k] for row in rows if k in row]) for k in numeric - {"rep"}}
    return out


def cpu_per_gb(runs, broker):
    rows = [r for r in runs if r["broker"] == broker and r["workload"].startswith("produce-") and "broker_cpu_s" in r]
    by_rep = {}
    for r in rows:
        cpu, gb = by_rep.get(r["rep"], (0.0, 0.0))
        by_rep[r["rep"]] = (cpu + r["broker_cpu_s"], gb + r["bytes"] / 1e9)
    values = [cpu / gb for cpu, gb in by_rep.values() if gb > 0]
    return statistics.median(values) if values else None


def targets(runs):
    """(check, strom, kafka, ratio, target, met) rows."""
    med = medians(runs)
    rows = []

    def get(workload, broker, key):
        return med.get((workload, broker), {}).get(key)

    def ratio_row(label, workload, key, target, higher_is_better=True):
        s, k = get(workload, "strom", key), get(workload, "kafka", key)
        if s is None or k is None or k == 0:
            return
        ratio = s / k
        met = ratio >= target if higher_is_better else ratio <= target
        rows.append((label, s, k, ratio, (">= " if higher_is_better else "<= ") + f"{target}x", met))

    for size, acks, parts in PRODUCE_MATRIX:
        ratio_row(f"produce {size} B acks={acks} {parts}p records/s", f"produce-{size}b-acks{acks}-{parts}p",
                  "records_per_s", 2.0 if size == 100 else 1.5)
    for size, acks, parts in PRODUCE_MATRIX:
        ratio_row(f"produce {size} B acks={acks} {parts}p p99 ms", f"produce-{size}b-acks{acks}-{parts}p", "p99_ms", 1.0, False)
    for size in (1024, 100):
        for parts in (1, 6):
            ratio_row(f"consume {size} B {parts}p MB/s", f"consume-{size}b-{parts}p", "mb_per_s", 2.0 if size == 100 else 1.5)
    for size in (1024, 100):
        for parts in (1, 6):
            ratio_row(f"consume (group) {size} B {parts}p MB/s", f"consume-group-{size}b-{parts}p", "mb_per_s", 2.0 if size == 100 else 1.5)
    ratio_row("produce+consume: produce MB/s", "produce+consume-1024b-6p", "mb_per_s", 1.5)
    ratio_row("produce+consume: consume MB/s", "produce+consume-1024b-6p", "consume_mb_per_s", 1.5)
    for rate in (1000, 10000):
        ratio_row(f"e2e {rate}/s p99 µs", f"e2e-{rate}rps-1024b", "p99_us", 0.5, False)
    for parts in (1, 6):
        ratio_row(f"durable produce {parts}p MB/s (ratio)", f"durable-produce-1024b-{parts}p", "mb_per_s", 1.0)
        s = get(f"durable-produce-1024b-{parts}p", "strom", "mb_per_s")
        if s is not None:
            rows.append((f"durable produce {parts}p MB/s (absolute)", s, get(f"durable-produce-1024b-{parts}p", "kafka", "mb_per_s"),
                         None, ">= 150 MB/s", s >= 150))
    floor = get("fsync-floor-1024b", "disk", "p50_us")
    s_lat, k_lat = get("durable-latency-200rps-1024b", "strom", "ack_p50_us"), get("durable-latency-200rps-1024b", "kafka", "ack_p50_us")
    if floor and s_lat is not None:
        rows.append((f"durable ack p50 µs vs fsync floor {floor:.0f} µs", s_lat, k_lat, s_lat / floor, "<= 1.5x floor", s_lat <= 1.5 * floor))
    # The ack includes a client round trip the disk has no part in: the fsync's
    # own share is the durable ack less the same ack without a flush policy,
    # against the floor of fsyncs at the same pace.
    paced = get("fsync-floor-1024b-200rps", "disk", "p50_us")
    s_plain, k_plain = get("acks-all-latency-200rps-1024b", "strom", "ack_p50_us"), get("acks-all-latency-200rps-1024b", "kafka", "ack_p50_us")
    if paced and s_lat is not None and s_plain is not None:
        s_cost = s_lat - s_plain
        k_cost = k_lat - k_plain if k_lat is not None and k_plain is not None else None
        rows.append((f"durable ack p50 less acks=all ack p50, µs, vs fsync floor at 200/s {paced:.0f} µs", s_cost, k_cost,
                     s_cost / paced, "<= 1.5x floor", s_cost <= 1.5 * paced))
    for size, acks, parts in PRODUCE_MATRIX:
        ratio_row(f"franz-go produce {size} B acks={acks} {parts}p records/s", f"franz-produce-{size}b-acks{acks}-{parts}p",
                  "records_per_s", 2.0 if size == 100 else 1.5)
    for size in (1024, 100):
        for parts in (1, 6):
            ratio_row(f"franz-go consume {size} B {parts}p MB/s", f"franz-consume-{size}b-{parts}p", "mb_per_s", 2.0 if size == 100 else 1.5)
    for size in (1024, 100):
        for parts in (1, 6):
            ratio_row(f"raw produce {size} B {parts}p records/s", f"raw-produce-{size}b-{parts}p", "records_per_s",
                      2.0 if size == 100 else 1.5)
    for size in (1024, 100):
        for parts in (1, 6):
            ratio_row(f"raw consume {size} B {parts}p MB/s", f"raw-consume-{size}b-{parts}p", "mb_per_s", 2.0 if size == 100 else 1.5)
    for rate in (1000, 10000):
        ratio_row(f"franz-go e2e {rate}/s p99 µs", f"franz-e2e-{rate}rps-1024b", "p99_us", 0.5, False)
    for parts in (1, 6):
        workload = f"franz-durable-1024b-{parts}p-{DURABLE_PRODUCERS}producers"
        ratio_row(f"franz-go durable produce, {DURABLE_PRODUCERS} producers, {parts}p MB/s (ratio)", workload, "mb_per_s", 1.0)
        s = get(workload, "strom", "mb_per_s")
        if s is not None:
            rows.append((f"franz-go durable produce, {DURABLE_PRODUCERS} producers, {parts}p MB/s (absolute)", s,
                         get(workload, "kafka", "mb_per_s"), None, ">= 150 MB/s", s >= 150))
    s_idle, k_idle = get("startup-empty", "strom", "idle_rss_kib"), get("startup-empty", "kafka", "idle_rss_kib")
    if s_idle is not None:
        rows.append(("idle RSS MiB", s_idle / 1024, k_idle / 1024 if k_idle else None, None, "< 20 MB", s_idle * 1024 < 20e6))
    s_peak, k_peak = get("peak-rss", "strom", "peak_rss_kib"), get("peak-rss", "kafka", "peak_rss_kib")
    if s_peak is not None and k_peak:
        rows.append(("peak RSS MiB", s_peak / 1024, k_peak / 1024, s_peak / k_peak, "<= 0.1x", s_peak / k_peak <= 0.1))
    s_up, k_up = get("startup-empty", "strom", "ready_ms"), get("startup-empty", "kafka", "ready_ms")
    if s_up is not None:
        rows.append(("startup ms (empty)", s_up, k_up, None, "< 100 ms", s_up < 100))
    many = [w for (w, b) in med if w.startswith("startup-") and w.endswith("-partitions") and b == "strom"]
    for w in many:
        s, k = get(w, "strom", "ready_ms"), get(w, "kafka", "ready_ms")
        rows.append((f"startup ms ({w.split('-')[1]} partitions)", s, k, None, "< 2000 ms", s < 2000))
        s, k = get(w, "strom", "idle_rss_kib"), get(w, "kafka", "idle_rss_kib")
        rows.append((f"idle RSS MiB ({w.split('-')[1]} partitions)", s / 1024, k / 1024 if k else None, None, "(none)", None))
    s_cpu, k_cpu = cpu_per_gb(runs, "strom"), cpu_per_gb(runs, "kafka")
    if s_cpu is not None and k_cpu:
        rows.append(("broker CPU s per GB produced", s_cpu, k_cpu, s_cpu / k_cpu, "<= 0.5x", s_cpu / k_cpu <= 0.5))
    return rows


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    return f"{v:,}"


def summary(runs, header):
    lines = [header, "", "| check | strom | kafka | strom/kafka | target | met |", "|---|---|---|---|---|---|"]
    for label, s, k, ratio, target, met in targets(runs):
        lines.append(f"| {label} | {fmt(s)} | {fmt(k)} | {fmt(ratio) if ratio is not None else '-'} | {target} | "
                     f"{'-' if met is None else ('yes' if met else '**no**')} |")
    lines += ["", "Medians per workload:", "", "| workload | broker | median figures |", "|---|---|---|"]
    for (workload, broker), values in sorted(medians(runs).items()):
        shown = ", ".join(f"{k}={fmt(v)}" for k, v in sorted(values.items()))
        lines.append(f"| {workload} | {broker} | {shown} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------

SAMPLE_PRODUCER = """\
49983 records sent, 9994.6 records/sec (9.76 MB/sec), 2.3 ms avg latency, 211.0 ms max latency.
100000 records sent, 19833.4 records/sec (19.37 MB/sec), 1.69 ms avg latency, 211.00 ms max latency, 1 ms 50th, 3 ms 95th, 9 ms 99th, 25 ms 99.9th.
"""
SAMPLE_KAFKA_E2E = "0\t1.2\nAvg latency: 1.4270 ms\n\nPercentiles: 50th = 1, 99th = 3, 99.9th = 7\n"
SAMPLE_CONSUMER_PERFORMANCE = """\
start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
2026-12-01 20:14:20:097, 2026-12-01 20:14:24:785, 195.3125, 41.6622, 200000, 42662.1160, 3587, 1101, 177.3955, 181653.0427
"""
SAMPLE_RESULT = "READY\nRESULT records=100 bytes=102400 seconds=0.500 records_per_s=200.0 mb_per_s=0.20 complete=true\n"


def self_test():
    p = parse_producer(SAMPLE_PRODUCER)
    assert p == {"records": 100000, "records_per_s": 19833.4, "mb_per_s": 19.37, "avg_ms": 1.69, "max_ms": 211.0,
                 "p50_ms": 1.0, "p99_ms": 9.0, "p999_ms": 25.0}, p
    assert parse_kafka_e2e(SAMPLE_KAFKA_E2E) == {"avg_ms": 1.427, "p50_ms": 1, "p99_ms": 3, "p999_ms": 7}
    c = parse_consumer_performance(SAMPLE_CONSUMER_PERFORMANCE)
    assert c == {"records": 200000, "mb": 195.3125, "mb_per_s": 177.3955, "records_per_s": 181653.0427,
                 "rebalance_ms": 3587, "fetch_ms": 1101, "total_mb_per_s": 41.6622}, c
    r = parse_result(SAMPLE_RESULT)
    assert r["records"] == 100 and r["mb_per_s"] == 0.2 and r["complete"] == "true", r
    for bad in ("", "garbage"):
        for parser in (parse_producer, parse_kafka_e2e, parse_result, parse_consumer_performance):
            try:
                parser(bad)
            except ValueError:
                continue
            raise AssertionError(f"{parser.__name__} accepted {bad!r}")
    runs = []
    for rep in (1, 2, 3):
        for broker, factor in (("strom", 2.0), ("kafka", 1.0)):
            runs.append({"rep": rep, "broker": broker, "workload": "produce-1024b-acks1-1p", "records_per_s": 1000 * factor + rep,
                         "p99_ms": 10 / factor, "bytes": 10**9, "broker_cpu_s": 4 / factor})
            runs.append({"rep": rep, "broker": broker, "workload": "startup-empty", "ready_ms": 10 * (3 - factor), "idle_rss_kib": 5000})
    runs.append({"rep": 1, "broker": "disk", "workload": "fsync-floor-1024b-200rps", "p50_us": 400.0})
    for broker, durable, plain in (("strom", 1000.0, 450.0), ("kafka", 1300.0, 500.0)):
        runs.append({"rep": 1, "broker": broker, "workload": "durable-latency-200rps-1024b", "ack_p50_us": durable})
        runs.append({"rep": 1, "broker": broker, "workload": "acks-all-latency-200rps-1024b", "ack_p50_us": plain})
    runs.append({"rep": 1, "broker": "strom", "workload": "franz-durable-1024b-1p-4producers", "mb_per_s": 200.0})
    rows = {row[0]: row for row in targets(runs)}
    cost = rows["durable ack p50 less acks=all ack p50, µs, vs fsync floor at 200/s 400 µs"]
    assert cost[1:4] == (550.0, 800.0, 1.375) and cost[5] is True, cost
    assert rows["franz-go durable produce, 4 producers, 1p MB/s (absolute)"][5] is True
    assert rows["produce 1024 B acks=1 1p records/s"][1] == 2002.0 and rows["produce 1024 B acks=1 1p records/s"][5] is True
    assert rows["broker CPU s per GB produced"][3] == 0.5 and rows["broker CPU s per GB produced"][5] is True
    assert rows["startup ms (empty)"][5] is True
    assert "| produce 1024 B acks=1 1p records/s |" in summary(runs, "# t")
    print("bench-harness: 6 passed, 0 failed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--mode", choices=MODES, default="quick")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--strom")
    ap.add_argument("--libs")
    ap.add_argument("--classes")
    ap.add_argument("--franzbench", help="bench/go built (the franz-go workloads run only with it)")
    ap.add_argument("--out")
    ap.add_argument("--data-root", default=None, help="where the fresh data directories go (default: TMPDIR)")
    ap.add_argument("--only", help="run only the workloads whose name matches this regex (and what they need)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin brokers and tools to different cores")
    ap.add_argument("--memory-limit-gib", type=float,
                    help="run each broker in a memory cgroup of this size, filled before it starts (see MemoryCgroup)")
    args = ap.parse_args()
    if args.self_test:
        self_test()
        return
    # SIGTERM (timeout, kill) unwinds like an error: brokers are stopped, results saved.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    mode = dict(MODES[args.mode])
    if args.reps:
        mode["reps"] = args.reps
    cores = os.sched_getaffinity(0)
    broker_cpus = client_cpus = ""
    if not args.no_pin and len(cores) >= 2:
        ordered = sorted(cores)
        half = len(ordered) // 2
        broker_cpus = ",".join(map(str, ordered[:half]))
        client_cpus = ",".join(map(str, ordered[half:]))
    os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)
    Strom.binary, Kafka.libs = args.strom, args.libs
    ctx = Ctx(args, mode, args.out, client_cpus)
    cgroups, filler_dir = {}, None
    if args.memory_limit_gib:
        filler_dir = tempfile.mkdtemp(prefix="strom-bench-filler-", dir=args.data_root)
        limit = int(args.memory_limit_gib * 1024 * MIB)
        try:
            for name in ("strom", "kafka"):
                cgroups[name] = MemoryCgroup(name, limit, os.path.join(filler_dir, name))
        except OSError as e:
            for cgroup in cgroups.values():
                cgroup.remove()
            shutil.rmtree(filler_dir, ignore_errors=True)
            sys.exit(f"bench: --memory-limit-gib needs a writable memory cgroup (root, cgroup v1 or v2): {e}")
    memory = f"each broker in a {args.memory_limit_gib:g} GiB memory cgroup, filled first" if cgroups else "no memory limit"
    header = (f"# strom vs kafka, {args.mode} mode, {mode['reps']} rep(s), {time.strftime('%Y-%m-%d %H:%M %Z')}\n\n"
              f"Machine: {len(cores)} cores, broker on CPU {broker_cpus or 'any'}, tools on CPU {client_cpus or 'any'}, {memory}; "
              f"uptime at start: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(header, flush=True)
    def save():
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump({"mode": args.mode, "settings": mode, "broker_cpus": broker_cpus, "client_cpus": client_cpus,
                       "memory_limit_gib": args.memory_limit_gib, "runs": ctx.runs}, f, indent=1)

    try:
        for rep in range(1, mode["reps"] + 1):
            run_rep(ctx, rep, args.strom, args.libs, broker_cpus, cgroups)
            save()  # a run cut short keeps its finished repetitions
    finally:
        for cgroup in cgroups.values():
            cgroup.remove()
        if filler_dir:
            shutil.rmtree(filler_dir, ignore_errors=True)
        save()
        text = summary(ctx.runs, header + f"; uptime at end: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
        with open(os.path.join(args.out, "summary.md"), "w") as f:
            f.write(text)
        print("\n" + text)
        print(f"results: {args.out}/results.json, {args.out}/summary.md")


if __name__ == "__main__":
    main()
