"""confluent-kafka (librdkafka) transactions against strom: a commit makes
every record of the transaction visible at once, an abort hides them from
read_committed consumers (read_uncommitted ones see them), a second producer
with the same transactional id fences the first, and a
consume-transform-produce application delivers each input exactly once
across a kill -9 of itself.
"""

import os
import subprocess
import sys
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT_S = 30


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(TIMEOUT_S)


def txn_producer(bootstrap, transactional_id):
    return Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                     "transaction.timeout.ms": 10000, "linger.ms": 5})


def read_all(bootstrap, topics, isolation_level, quiet_s=1.0, timeout_s=15, expect=None):
    """Every value in `topics` from the start: until `expect` values are read
    (then `quiet_s` more to catch extras), or until nothing arrived for `quiet_s`."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader-" + uuid.uuid4().hex,
                         "isolation.level": isolation_level, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    try:
        partitions = []
        for topic in topics:
            metadata = consumer.list_topics(topic, timeout=TIMEOUT_S).topics[topic]
            partitions += [TopicPartition(topic, p, -2) for p in sorted(metadata.partitions)]
        consumer.assign(partitions)
        values = []
        deadline = time.monotonic() + timeout_s
        last = time.monotonic()
        while time.monotonic() < deadline:
            for r in consumer.consume(num_messages=100, timeout=0.1):
                if r.error() is None:
                    values.append(r.value())
                    last = time.monotonic()
            done = expect is not None and len(values) >= expect
            if (expect is None or done) and time.monotonic() - last >= quiet_s:
                break
        return values
    finally:
        consumer.close()


def test_a_commit_makes_every_record_visible_at_once(bootstrap, new_topic_name):
    a, b = new_topic_name("-a"), new_topic_name("-b")
    create_topic(bootstrap, a, 2)
    create_topic(bootstrap, b, 1)
    producer = txn_producer(bootstrap, new_topic_name("-txn"))
    producer.init_transactions(TIMEOUT_S)
    producer.begin_transaction()
    for i in range(6):
        producer.produce(a, value=b"a%d" % i, partition=i % 2)
        producer.produce(b, value=b"b%d" % i)
    assert producer.flush(TIMEOUT_S) == 0
    assert read_all(bootstrap, [a, b], "read_committed") == [], "nothing before the commit"
    assert len(read_all(bootstrap, [a, b], "read_uncommitted", expect=12)) == 12
    producer.commit_transaction(TIMEOUT_S)
    values = read_all(bootstrap, [a, b], "read_committed", expect=12)
    assert sorted(values) == sorted([b"a%d" % i for i in range(6)] + [b"b%d" % i for i in range(6)])


def test_an_abort_hides_the_records_from_read_committed_only(bootstrap, topic_name, new_topic_name):
    create_topic(bootstrap, topic_name, 1)
    producer = txn_producer(bootstrap, new_topic_name("-txn"))
    producer.init_transactions(TIMEOUT_S)
    producer.begin_transaction()
    producer.produce(topic_name, value=b"aborted-1")
    producer.produce(topic_name, value=b"aborted-2")
    assert producer.flush(TIMEOUT_S) == 0
    producer.abort_transaction(TIMEOUT_S)
    producer.begin_transaction()
    producer.produce(topic_name, value=b"committed")
    producer.commit_transaction(TIMEOUT_S)
    assert read_all(bootstrap, [topic_name], "read_committed", expect=1) == [b"committed"]
    assert read_all(bootstrap, [topic_name], "read_uncommitted", expect=3) == [b"aborted-1", b"aborted-2", b"committed"]


def test_a_second_producer_with_the_same_transactional_id_fences_the_first(bootstrap, topic_name, new_topic_name):
    create_topic(bootstrap, topic_name, 1)
    transactional_id = new_topic_name("-txn")
    first = txn_producer(bootstrap, transactional_id)
    first.init_transactions(TIMEOUT_S)
    first.begin_transaction()
    first.produce(topic_name, value=b"zombie")
    assert first.flush(TIMEOUT_S) == 0
    second = txn_producer(bootstrap, transactional_id)
    second.init_transactions(TIMEOUT_S)  # aborts the first one's transaction
    with pytest.raises(KafkaException) as fenced:
        first.commit_transaction(TIMEOUT_S)
    error = fenced.value.args[0]
    assert error.fatal() and error.code() == KafkaError._FENCED, error
    second.begin_transaction()
    second.produce(topic_name, value=b"winner")
    second.commit_transaction(TIMEOUT_S)
    assert read_all(bootstrap, [topic_name], "read_committed", expect=1) == [b"winner"]


def test_consume_transform_produce_is_exactly_once_across_a_kill(bootstrap, new_topic_name):
    source, sink = new_topic_name("-in"), new_topic_name("-out")
    create_topic(bootstrap, source, 2)
    create_topic(bootstrap, sink, 2)
    inputs = [b"record-%03d" % i for i in range(120)]
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i, value in enumerate(inputs):
        producer.produce(source, value=value, partition=i % 2)
    assert producer.flush(TIMEOUT_S) == 0
    args = [sys.executable, os.path.join(HERE, "txn_app_confluent.py"), bootstrap, source, sink,
            new_topic_name("-g"), new_topic_name("-txn")]

    def start(*extra):
        return subprocess.Popen(args + list(extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=HERE)

    # Killed in its 5th transaction, after 4 committed ones, with that one's records written.
    app = start("5")
    try:
        deadline = time.monotonic() + 30
        lines = []
        while not lines or not lines[-1].startswith("open "):
            line = app.stdout.readline()
            assert line, "the application exited: %s %s" % (app.poll(), lines)
            lines.append(line)
            assert time.monotonic() < deadline, "the application made no progress"
        app.kill()
        app.wait()
        assert [l.strip() for l in lines if l.startswith("txn ")] == ["txn %d" % i for i in range(1, 5)]
        app = start()
        values = read_all(bootstrap, [sink], "read_committed", expect=len(inputs), timeout_s=40)
        assert sorted(values) == sorted(v.upper() for v in inputs), "each input exactly once"
        everything = read_all(bootstrap, [sink], "read_uncommitted", expect=len(inputs) + 1)
        assert len(everything) > len(inputs), "the killed transaction's records are in the log, aborted"
    finally:
        app.kill()
        app.wait()
        app.stdout.close()
