"""kafka-python produce and consume against strom (2.3.x and 3.0.x).

Records go in with each acks setting and every codec kafka-python supports
(gzip built in; snappy, lz4 and zstd with the optional packages the
requirements install), idempotent and not, and come back in order by
partition through assign/seek, with offsets by timestamp. (The seed
tutorials' scripts run in test_seeds.py.)
"""

import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

import kp

def produce(bootstrap, topic, values, **config):
    config.setdefault("enable_idempotence", False)
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="strom-compat",
                             request_timeout_ms=kp.REQUEST_TIMEOUT_MS, max_block_ms=kp.REQUEST_TIMEOUT_MS, **config)
    futures = [producer.send(topic, value=v, partition=0) for v in values]
    producer.flush()
    offsets = [f.get(timeout=10) for f in futures]
    producer.close()
    return offsets


def consume(bootstrap, topic, count, start=None, timeout_s=15):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="strom-compat", group_id=None,
                             enable_auto_commit=False, request_timeout_ms=kp.REQUEST_TIMEOUT_MS + 1000)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    if start is None:
        consumer.seek_to_beginning(tp)
    else:
        consumer.seek(tp, start)
    records = []
    deadline = time.monotonic() + timeout_s
    while len(records) < count and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
    consumer.close()
    return records


@pytest.mark.parametrize("acks", [1, "all"])
@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"])
def test_produce_and_consume_in_order(bootstrap, topic_name, acks, codec):
    values = [("value-%d" % i).encode() for i in range(50)]
    metadata = produce(bootstrap, topic_name, values, acks=acks, compression_type=codec)
    assert [m.offset for m in metadata] == list(range(50))
    records = consume(bootstrap, topic_name, 50)
    assert [(r.offset, r.value) for r in records] == list(enumerate(values))


@pytest.mark.skipif(not kp.IS_V3, reason="kafka-python 2.3 drops acks=0 produce requests before writing them; "
                    "the same test fails against Apache Kafka 4.1.2")
def test_acks_0_records_arrive(bootstrap, topic_name):
    values = [b"fire-and-forget-%d" % i for i in range(10)]
    produce(bootstrap, topic_name, values, acks=0)
    records = consume(bootstrap, topic_name, 10)
    assert [r.value for r in records] == values


@pytest.mark.skipif(not kp.IS_V3, reason="idempotence is the 3.x default; 2.3 sends InitProducerId v1 only")
def test_idempotent_producer(bootstrap, topic_name):
    values = [b"once-%d" % i for i in range(20)]
    produce(bootstrap, topic_name, values, acks="all", enable_idempotence=True)
    assert [r.value for r in consume(bootstrap, topic_name, 20)] == values


def test_seek_to_an_offset_and_to_the_end(bootstrap, topic_name):
    values = [b"v%d" % i for i in range(10)]
    produce(bootstrap, topic_name, values)
    assert [r.offset for r in consume(bootstrap, topic_name, 3, start=7)] == [7, 8, 9]
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    tp = TopicPartition(topic_name, 0)
    consumer.assign([tp])
    assert consumer.end_offsets([tp]) == {tp: 10}
    assert consumer.beginning_offsets([tp]) == {tp: 0}
    consumer.seek_to_end(tp)
    assert consumer.position(tp) == 10
    consumer.close()


def test_offsets_for_times(bootstrap, topic_name):
    producer = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=0)
    base = 1_700_000_000_000
    for i in range(5):
        producer.send(topic_name, value=b"t%d" % i, partition=0, timestamp_ms=base + i * 1000).get(timeout=10)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    tp = TopicPartition(topic_name, 0)
    found = consumer.offsets_for_times({tp: base + 2500})[tp]
    assert (found.offset, found.timestamp) == (3, base + 3000)
    assert consumer.offsets_for_times({tp: base + 99_000})[tp] is None
    consumer.close()
