"""confluent-kafka (librdkafka) against a compacted topic (cleanup.policy=compact).

Many updates to few keys and a tombstone; once the broker has compacted the
topic, a consumer reading from the beginning sees only the latest value of
each key, at the offset it was produced at, and no tombstone once
delete.retention.ms (0 here) has passed. The harness runs strom with
log.cleaner.backoff.ms = 500 (lib/strom.py).
"""

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

TIMEOUT_S = 15
COMPACTED_WITHIN_S = 40
SENTINEL = b"sentinel"


def create_compacted_topic(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    config = {"cleanup.policy": "compact", "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01",
              "delete.retention.ms": "0"}
    (future,) = admin.create_topics([NewTopic(topic, 1, 1, config=config)]).values()
    future.result(timeout=TIMEOUT_S)


def produce(producer, topic, records):
    delivered = []
    for key, value in records:
        producer.produce(topic, key=key, value=value, partition=0,
                         on_delivery=lambda err, msg: delivered.append((err, msg)))
    assert producer.flush(TIMEOUT_S) == 0, "undelivered records"
    assert all(err is None for err, _ in delivered), [err for err, _ in delivered if err]
    return {(msg.key(), msg.value()): msg.offset() for _, msg in delivered}


def read_all(bootstrap, topic):
    """(offset, key, value) of every record from the beginning to the high watermark."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "strom-compat-unused", "enable.auto.commit": False})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S)
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        records = []
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline and (not records or records[-1][0] < high - 1):
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                records.append((msg.offset(), msg.key(), msg.value()))
        assert records and records[-1][0] == high - 1, "read to the high watermark %d: %s" % (high, records[-3:])
        return low, records
    finally:
        consumer.close()


def test_compaction_keeps_the_latest_value_per_key_and_drops_tombstones(bootstrap, topic_name):
    create_compacted_topic(bootstrap, topic_name)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "compression.type": "lz4"})
    keys = [b"k%d" % i for i in range(5)]
    offsets = {}
    for round_ in range(10):
        offsets.update(produce(producer, topic_name, [(k, b"%s-%d" % (k, round_)) for k in keys]))
        time.sleep(0.12)  # past segment.ms: the next batch starts a new segment
    offsets.update(produce(producer, topic_name, [(b"k4", None)]))
    expected = [(offsets[(k, b"%s-9" % k)], k, b"%s-9" % k) for k in keys[:4]]

    deadline = time.monotonic() + COMPACTED_WITHIN_S
    rounds = 0
    while True:
        # Compaction never touches the active segment: each new record rolls
        # the last one out of it and gives the cleaner a dirty section.
        time.sleep(0.3)
        produce(producer, topic_name, [(SENTINEL, b"%d" % rounds)])
        rounds += 1
        low, records = read_all(bootstrap, topic_name)
        data = [r for r in records if r[1] != SENTINEL]
        if data == expected:
            break
        assert time.monotonic() < deadline, "not compacted after %ds: %s" % (COMPACTED_WITHIN_S, data)
    assert low == 0, "compaction leaves the log start offset"
    assert [v for _, k, v in records if k == SENTINEL][-1] == b"%d" % (rounds - 1)
