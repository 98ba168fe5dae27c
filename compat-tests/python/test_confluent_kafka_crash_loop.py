"""A real idempotent producer through a crash loop: confluent-kafka (librdkafka)
with enable.idempotence=true and acks=all writes numbered messages to a
flush.messages=1 topic while its broker is killed with SIGKILL at random
moments (COMPAT_CRASH_LOOP_KILLS times, default 10) and restarted on the same
port and data. Every message must be delivered without error, and a fresh
consumer after one more crash must read each exactly once, in order. The
topic rolls a segment every 50 ms, so most kills find rolled segments not
yet fsynced.

This complements tests/tests/crash_loop.rs (20 kills, the in-repo wire client,
both flush policies and a committing consumer): here librdkafka's own retry,
sequence and reconnect logic meets the recovered producer state.

Runs its own broker (the session's must not die); skipped against an outside
broker (STROM_BOOTSTRAP), which the test cannot kill.
"""

import os
import random
import threading
import time

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from strom import StromProcess

KILLS = int(os.environ.get("COMPAT_CRASH_LOOP_KILLS", "10"))
# Bounds the messages produced, so the final read stays short.
MAX_MESSAGES = 20000


def create_topic(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    # A roll every 50 ms: kills land between rolls and their background
    # fsync, so recovery checks several segments and the producer state may
    # come from a roll's unsynced snapshot.
    futures = admin.create_topics([NewTopic(topic, 1, 1, config={"flush.messages": "1", "segment.ms": "50"})])
    futures[topic].result(10)


def read_all(bootstrap, topic, expected, timeout_s=30):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "crash-loop-reader-%d" % random.randrange(1 << 30),
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    values = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(values) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            values.append(int(msg.value()))
    finally:
        consumer.close()
    return values


def test_idempotent_producer_loses_and_duplicates_nothing_across_kill_9(broker, topic_name):
    if broker is None:
        pytest.skip("needs a broker it can kill; STROM_BOOTSTRAP points at an outside one")
    own = StromProcess(log_path=broker.log_path + ".crash-loop" if broker.log_path else None)
    own.start()
    try:
        create_topic(own.bootstrap, topic_name)
        delivered, failed = [], []

        def on_delivery(err, msg):
            if err is None:
                delivered.append(int(msg.value()))
            else:
                failed.append((int(msg.value()), str(err)))

        producer = Producer({
            "bootstrap.servers": own.bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": 45000,
            "retry.backoff.ms": 50,
            "reconnect.backoff.ms": 20,
            "reconnect.backoff.max.ms": 200,
        })
        stop = threading.Event()
        produced = [0]

        def produce_loop():
            n = 0
            while not stop.is_set() and n < MAX_MESSAGES:
                try:
                    producer.produce(topic_name, value=str(n).encode(), on_delivery=on_delivery)
                    n += 1
                except BufferError:
                    producer.poll(0.05)
                    continue
                producer.poll(0)
                if n % 50 == 0:
                    time.sleep(0.01)  # about 5,000 messages a second
            produced[0] = n

        thread = threading.Thread(target=produce_loop, daemon=True)
        thread.start()
        for _ in range(KILLS):
            time.sleep(random.uniform(0.2, 0.6))
            own.restart(hard=True)
        time.sleep(0.5)
        stop.set()
        thread.join(10)
        assert producer.flush(40) == 0, "every message delivered or failed"
        assert not failed, "delivery failures: %s" % failed[:5]
        assert sorted(delivered) == list(range(produced[0]))

        own.restart(hard=True)  # one more crash before reading
        values = read_all(own.bootstrap, topic_name, produced[0])
        assert len(values) == produced[0], "%d of %d messages read" % (len(values), produced[0])
        assert values == list(range(produced[0])), "each message once, in order"
        assert produced[0] > 1000, "load was running (%d messages)" % produced[0]
    finally:
        own.stop()
