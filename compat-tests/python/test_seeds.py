"""The Python scripts of the tutorials this project was created from
(../shared/seeds/), run exactly as written, against a strom on
localhost:9092, the address they use. The scripts are committed verbatim in
seeds/ (the tutorials may be absent where the tests run); when the tutorials
are present, a test checks the copies still match them.

The consumer scripts loop forever, so each runs as a child process whose
output is read until the expected lines arrive, then it is killed, as a user
would press Ctrl+C. Seed 002's consumer calls `process_event`, which the
tutorial leaves for the reader to write ("Your processing logic here"); the
harness defines it as a no-op before running the script. Seed 002's
exactly-once snippet uses `KafkaProducer` without importing it (the tutorial
shows it after other scripts that do); the harness imports it first.
"""

import os
import re
import socket
import subprocess
import sys
import time

import pytest
from kafka import KafkaAdminClient, TopicPartition

import kp

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "seeds")
TUTORIALS = os.path.join(HERE, "..", "..", "..", "shared", "seeds")
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from strom import StromProcess  # noqa: E402

SEED_PORT = 9092


def port_is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def seed_broker(broker):
    """A broker on localhost:9092 of its own, so the scripts run unchanged."""
    if os.environ.get("STROM_BOOTSTRAP"):
        pytest.skip("seed scripts need the harness's own broker on port %d" % SEED_PORT)
    if not port_is_free(SEED_PORT):
        pytest.skip("port %d is taken; the seed scripts hardcode localhost:%d" % (SEED_PORT, SEED_PORT))
    log = os.environ.get("STROM_LOG_FILE")
    process = StromProcess(port=SEED_PORT, log_path=log + ".seeds" if log else None, with_security=False,
                           extra_args=["--advertise", "localhost:%d" % SEED_PORT])
    process.start()
    yield process
    process.stop()


def script(name):
    with open(os.path.join(SCRIPTS, name)) as f:
        return f.read()


class Child:
    """A script running in a child Python; its output read on a thread."""

    def __init__(self, code, prelude=""):
        import queue
        import threading
        self.process = subprocess.Popen([sys.executable, "-u", "-c", prelude + code], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, cwd=HERE)
        self.lines = []
        self._queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern, count=1, timeout_s=30):
        """Reads lines until `count` lines match `pattern`; returns them."""
        import queue
        deadline = time.monotonic() + timeout_s
        while True:
            matched = [line for line in self.lines if re.search(pattern, line)]
            if len(matched) >= count:
                return matched[:count]
            left = deadline - time.monotonic()
            assert left > 0, "waiting for %r; output so far:\n%s" % (pattern, "".join(self.lines))
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            assert line is not None, "script exited (%s); output:\n%s" % (self.process.poll(), "".join(self.lines))
            self.lines.append(line)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def run_to_end(code, timeout_s=30, prelude=""):
    out = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=timeout_s, cwd=HERE)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def admin():
    return KafkaAdminClient(bootstrap_servers="localhost:%d" % SEED_PORT, request_timeout_ms=kp.REQUEST_TIMEOUT_MS)


def wait_for_committed(group, topic, timeout_s=20):
    """Until `group` has committed an offset of topic-0 (the consumer's
    position is then known, so records produced from now on reach it)."""
    client = admin()
    try:
        deadline = time.monotonic() + timeout_s
        while TopicPartition(topic, 0) not in kp.group_offsets(client, group):
            assert time.monotonic() < deadline, "group %s never committed" % group
            time.sleep(0.2)
    finally:
        client.close()


def test_committed_scripts_match_the_tutorials():
    if not os.path.isdir(TUTORIALS):
        pytest.skip("the tutorials are not beside the repository")
    text = ""
    for name in sorted(os.listdir(TUTORIALS)):
        with open(os.path.join(TUTORIALS, name)) as f:
            text += f.read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    for name in sorted(os.listdir(SCRIPTS)):
        # Seed 002 keeps its producer and consumer in one block, split by a comment line.
        assert any(script(name) in block for block in blocks), "%s is no longer a script of the tutorials" % name


def test_seed_000_log_aggregation(seed_broker):
    """Seed 000: the consumer (group log-aggregator, latest offsets) is
    running when the producer sends two logs; it prints both."""
    consumer = Child(script("000_consumer.py"))
    try:
        wait_for_committed("log-aggregator", "logs-topic")
        run_to_end(script("000_producer.py"))
        lines = consumer.wait_for(r"^\{'log'", count=2)
        assert [line.strip() for line in lines] == ["{'log': 'Error in service A'}", "{'log': 'Service B is healthy'}"]
    finally:
        consumer.stop()


def test_seed_001_producer_and_consumer(seed_broker):
    """Seed 001: keyed records to my-topic, read back by group my-group from the earliest offset."""
    run_to_end(script("001_producer.py"))
    consumer = Child(script("001_consumer.py"))
    try:
        lines = consumer.wait_for(r"^Key: ", count=2)
        assert [line.strip() for line in lines] == ["Key: key1, Value: Hello Kafka!", "Key: key2, Value: Kafka is great!"]
    finally:
        consumer.stop()


def test_seed_002_at_least_once_producer_and_consumer(seed_broker):
    """Seed 002: ten events with acks=all, consumed by my-consumer-group with a
    manual commit after each; the committed offset then covers all ten."""
    consumer = Child(script("002_consumer.py"), prelude="def process_event(event):\n    pass\n\n")
    try:
        # The consumer starts at the latest offset (the tutorial sets no
        # auto_offset_reset): run the producer, as the tutorial's readers
        # would, until the consumer shows one whole run's ten events in order
        # (it may join in the middle of a run and see only its tail).
        expected = ["Processing: {'event_id': %d, 'data': 'Event %d'}" % (i, i) for i in range(10)]
        deadline = time.monotonic() + 45
        runs = 0
        while True:
            nines = len([line for line in consumer.lines if re.search(r"'Event 9'\}$", line)])
            out = run_to_end(script("002_producer.py"))
            runs += 1
            assert len(re.findall(r"^Sent: \{'event_id': \d+, 'data': 'Event \d+'\} to partition 0$", out, re.M)) == 10
            try:
                consumer.wait_for(r"'Event 9'\}$", count=nines + 1, timeout_s=3)
            except AssertionError:
                assert time.monotonic() < deadline, "the consumer never received events"
                continue
            processed = [line.strip() for line in consumer.lines if line.startswith("Processing: ")]
            if processed[-10:] == expected:
                break
            assert time.monotonic() < deadline, "no run arrived whole: %r" % processed
        client = admin()
        try:
            deadline = time.monotonic() + 10
            while kp.group_offsets(client, "my-consumer-group").get(TopicPartition("events", 0)) != 10 * runs:
                assert time.monotonic() < deadline, "the consumer's commits never reached offset 10"
                time.sleep(0.2)
        finally:
            client.close()
        assert not [line for line in consumer.lines if "Error processing" in line]
    finally:
        consumer.stop()


def read_committed(topic, timeout_s=10):
    """The values a read_committed consumer reads from topic-0, from the start."""
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(bootstrap_servers="localhost:%d" % SEED_PORT, isolation_level="read_committed",
                             enable_auto_commit=False, request_timeout_ms=kp.REQUEST_TIMEOUT_MS + 5000)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        values = []
        deadline = time.monotonic() + timeout_s
        while not values and time.monotonic() < deadline:
            values = [r.value for records in consumer.poll(timeout_ms=200).values() for r in records]
        return values
    finally:
        consumer.close()


def test_seed_002_exactly_once_producer(seed_broker):
    """Seed 002's transactional producer: init, begin, a send to topic1 and one
    to topic2, commit; both records are visible to a read_committed consumer
    (the script aborts, and so shows nothing, if any step fails)."""
    run_to_end(script("002_transactional_producer.py"), prelude="from kafka import KafkaProducer\n")
    assert read_committed("topic1") == [b"message1"]
    assert read_committed("topic2") == [b"message2"]
