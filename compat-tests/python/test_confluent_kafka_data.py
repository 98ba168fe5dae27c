"""confluent-kafka (librdkafka) produce and consume against strom.

Every codec librdkafka has, acks 0/1/all, idempotent and not; records come back
in order through assign with explicit offsets, and offsets_for_times finds
records by timestamp, before and after a clean broker restart.
"""

import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

TIMEOUT_S = 15


def produce(bootstrap, topic, values, **config):
    producer = Producer({"bootstrap.servers": bootstrap, "client.id": "strom-compat", "linger.ms": 5, **config})
    delivered = []
    for v in values:
        producer.produce(topic, value=v, partition=0, on_delivery=lambda err, msg: delivered.append((err, msg)))
    assert producer.flush(TIMEOUT_S) == 0, "undelivered records"
    assert all(err is None for err, _ in delivered), [err for err, _ in delivered if err]
    return [msg.offset() for _, msg in delivered]


def consume(bootstrap, topic, count, offset=OFFSET_BEGINNING):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "strom-compat-unused",
                         "enable.auto.commit": False, "isolation.level": "read_committed"})
    consumer.assign([TopicPartition(topic, 0, offset)])
    records = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(records) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            records.append(msg)
    consumer.close()
    return records


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
@pytest.mark.parametrize("acks", ["1", "all"])
def test_produce_and_consume_in_order(bootstrap, topic_name, codec, acks):
    values = [("record-%d" % i).encode() * (i % 7 + 1) for i in range(200)]
    offsets = produce(bootstrap, topic_name, values, **{"compression.type": codec, "acks": acks})
    assert offsets == list(range(200))
    records = consume(bootstrap, topic_name, 200)
    assert [(r.offset(), r.value()) for r in records] == list(enumerate(values))


def test_acks_0(bootstrap, topic_name):
    values = [b"fire-%d" % i for i in range(20)]
    produce(bootstrap, topic_name, values, acks="0")
    assert [r.value() for r in consume(bootstrap, topic_name, 20)] == values


def test_idempotent_producer(bootstrap, topic_name):
    values = [b"once-%d" % i for i in range(100)]
    offsets = produce(bootstrap, topic_name, values, **{"enable.idempotence": True, "compression.type": "lz4"})
    assert offsets == list(range(100))
    assert [r.value() for r in consume(bootstrap, topic_name, 100)] == values


def test_idempotent_producer_on_a_topic_fsyncing_every_write(bootstrap, topic_name):
    """Five requests in flight on one connection, each acknowledged only once
    fsynced (`flush.messages=1`): strom appends the next requests while one
    waits for its fsync, and answers them in order. Every record is
    acknowledged once, in order, and reads back exactly once."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic_name, 1, 1, config={"flush.messages": "1"})])[topic_name].result(TIMEOUT_S)
    values = [b"durable-%06d-" % i + b"x" * 200 for i in range(20_000)]
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                         "max.in.flight.requests.per.connection": 5, "batch.size": 16384, "linger.ms": 5})
    delivered = []
    for v in values:
        while True:
            try:
                producer.produce(topic_name, value=v, partition=0, on_delivery=lambda err, msg: delivered.append((err, msg)))
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.1)
    assert producer.flush(60) == 0, "undelivered records"
    assert all(err is None for err, _ in delivered), [err for err, _ in delivered if err][:3]
    assert [msg.offset() for _, msg in delivered] == list(range(len(values))), "acknowledged in order, once each"
    assert [msg.value() for _, msg in delivered] == values
    records = consume(bootstrap, topic_name, len(values))
    assert [(r.offset(), r.value()) for r in records] == list(enumerate(values))


def test_consume_from_an_offset(bootstrap, topic_name):
    produce(bootstrap, topic_name, [b"v%d" % i for i in range(10)])
    assert [r.offset() for r in consume(bootstrap, topic_name, 4, offset=6)] == [6, 7, 8, 9]


def test_watermarks_and_offsets_for_times(bootstrap, topic_name):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    base = 1_700_000_000_000
    for i in range(5):
        producer.produce(topic_name, value=b"t%d" % i, partition=0, timestamp=base + i * 1000)
        producer.flush(TIMEOUT_S)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "strom-compat-unused"})
    assert consumer.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=TIMEOUT_S) == (0, 5)
    (found,) = consumer.offsets_for_times([TopicPartition(topic_name, 0, base + 2500)], timeout=TIMEOUT_S)
    assert found.offset == 3
    consumer.close()


def test_a_clean_restart_keeps_offsets_and_timestamps(broker, bootstrap, topic_name):
    """A clean start learns a segment's end and largest timestamp from its
    indexes and the batches after the last index entry: what clients see
    must be what they saw before the restart."""
    if broker is None:
        pytest.skip("needs the test's own broker to restart")
    # Recent timestamps: retention (7 days by record timestamp) keeps them.
    base = int(time.time() * 1000) - 600_000
    stamps = [base + i * 1000 for i in range(40)]
    stamps[12] = base + 500_000  # the largest, several index entries before the end
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for i, ts in enumerate(stamps):
        # A batch of about 1 KiB each: an index entry every four (index.interval.bytes 4096).
        producer.produce(topic_name, value=b"r%02d" % i + b"x" * 1000, partition=0, timestamp=ts)
        producer.flush(TIMEOUT_S)
    tp = TopicPartition(topic_name, 0)

    def seen():
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "strom-compat-unused"})
        marks = consumer.get_watermark_offsets(tp, timeout=TIMEOUT_S)
        # One lookup per request: librdkafka keeps one timestamp per partition.
        found = [consumer.offsets_for_times([TopicPartition(topic_name, 0, t)], timeout=TIMEOUT_S)[0]
                 for t in (base + 2500, base + 13_500)]
        consumer.close()
        admin = AdminClient({"bootstrap.servers": bootstrap})
        (largest,) = admin.list_offsets({tp: OffsetSpec.max_timestamp()}).values()
        largest = largest.result(timeout=TIMEOUT_S)
        return marks, [f.offset for f in found], (largest.offset, largest.timestamp)

    assert seen() == ((0, 40), [3, 12], (12, base + 500_000))
    broker.restart()
    assert seen() == ((0, 40), [3, 12], (12, base + 500_000))
    assert produce(bootstrap, topic_name, [b"after"]) == [40]
    got = consume(bootstrap, topic_name, 41)
    assert [r.value()[:3] for r in got[:40]] == [b"r%02d" % i for i in range(40)]
    assert [r.timestamp()[1] for r in got[:40]] == stamps
    assert (got[40].offset(), got[40].value()) == (40, b"after")


def test_delete_records(bootstrap, topic_name):
    produce(bootstrap, topic_name, [b"d%d" % i for i in range(5)], **{"linger.ms": 0})
    admin = AdminClient({"bootstrap.servers": bootstrap})
    (future,) = admin.delete_records([TopicPartition(topic_name, 0, 3)]).values()
    assert future.result(timeout=TIMEOUT_S).low_watermark == 3
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "strom-compat-unused"})
    assert consumer.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=TIMEOUT_S) == (3, 5)
    consumer.close()
    assert [r.value() for r in consume(bootstrap, topic_name, 2)] == [b"d3", b"d4"]


def test_consume_from_the_latest_offset(bootstrap, topic_name):
    produce(bootstrap, topic_name, [b"old-0", b"old-1"])
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "strom-compat-unused", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic_name, 0, OFFSET_END)])
    consumer.poll(1.0)  # resolves the end offset before anything new is written
    produce(bootstrap, topic_name, [b"new-0"])
    got = []
    deadline = time.monotonic() + TIMEOUT_S
    while not got and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.append((msg.offset(), msg.value()))
    consumer.close()
    assert got == [(2, b"new-0")]
