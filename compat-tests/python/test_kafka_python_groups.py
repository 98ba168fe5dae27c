"""kafka-python consumer groups against strom (2.3.x and 3.0.x): seed 004's
experiments, committed offsets across consumer and broker restarts, and the
group admin calls.

Consumers of one group are polled in turn from the test's thread (their
heartbeats run on kafka-python's own thread); a consumer that must die with
kill -9 runs in a child process.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

import kp

# The broker's minimum (group.min.session.timeout.ms): a killed member is noticed quickly.
SESSION_TIMEOUT_MS = 6000


def create_topic(admin, name, partitions):
    kp.create_topics(admin, {name: (partitions, 1, {})})
    deadline = time.monotonic() + 10
    while name not in admin.list_topics():
        assert time.monotonic() < deadline, "created topic not listed"
        time.sleep(0.1)


def produce(bootstrap, topic, values, key=None, partition=None):
    producer = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=5,
                             request_timeout_ms=kp.REQUEST_TIMEOUT_MS, max_block_ms=kp.REQUEST_TIMEOUT_MS)
    futures = []
    for i, v in enumerate(values):
        k = key(i) if callable(key) else key
        p = partition(i) if callable(partition) else partition
        futures.append(producer.send(topic, value=v, key=k, partition=p))
    producer.flush()
    for f in futures:
        f.get(timeout=10)
    producer.close()


def consumer(bootstrap, topic, group, **config):
    config.setdefault("auto_offset_reset", "earliest")
    config.setdefault("enable_auto_commit", False)
    config.setdefault("session_timeout_ms", SESSION_TIMEOUT_MS)
    config.setdefault("heartbeat_interval_ms", 1000)
    config.setdefault("request_timeout_ms", kp.REQUEST_TIMEOUT_MS + 5000)
    return KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, client_id="strom-compat", **config)


def poll_all(consumers, until, timeout_s=30):
    """Polls every consumer in turn until `until(received)` holds; received[i]
    lists (partition, offset, value) of what consumer i got."""
    received = [[] for _ in consumers]
    deadline = time.monotonic() + timeout_s
    while not until(received):
        assert time.monotonic() < deadline, "timed out; received so far: %r" % [len(r) for r in received]
        for i, c in enumerate(consumers):
            for tp, records in c.poll(timeout_ms=100).items():
                received[i].extend((tp.partition, r.offset, r.value) for r in records)
    return received


def wait_for_assignment(consumers, expected_sizes, timeout_s=30):
    """Polls until each consumer owns as many partitions as given (sorted sizes)."""
    deadline = time.monotonic() + timeout_s
    while sorted(len(c.assignment()) for c in consumers) != sorted(expected_sizes):
        assert time.monotonic() < deadline, "assignment: %r" % [c.assignment() for c in consumers]
        for c in consumers:
            c.poll(timeout_ms=100)


def values(n, prefix="v"):
    return [("%s-%d" % (prefix, i)).encode() for i in range(n)]


@pytest.fixture(scope="module")
def admin(bootstrap):
    client = kp.admin(bootstrap)
    yield client
    client.close()


def test_records_sent_while_the_consumer_is_offline_arrive_when_it_returns(bootstrap, admin, topic_name):
    group = topic_name + "-g"
    produce(bootstrap, topic_name, values(5, "before"))
    c = consumer(bootstrap, topic_name, group)
    got = poll_all([c], lambda r: len(r[0]) >= 5)[0]
    c.commit()
    c.close()
    produce(bootstrap, topic_name, values(7, "offline"))
    c = consumer(bootstrap, topic_name, group)
    got = poll_all([c], lambda r: len(r[0]) >= 7)[0]
    c.close()
    assert [v for _, _, v in got] == values(7, "offline")


def test_records_of_one_key_arrive_in_order(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 3)
    keys = [b"user-%d" % k for k in range(6)]
    produce(bootstrap, topic_name, [b"%d" % i for i in range(120)], key=lambda i: keys[i % len(keys)])
    c = consumer(bootstrap, topic_name, topic_name + "-g")
    got = poll_all([c], lambda r: len(r[0]) >= 120)[0]
    c.close()
    by_key = {}
    for partition, offset, value in got:
        by_key.setdefault(int(value) % len(keys), []).append(int(value))
    assert sorted(by_key) == list(range(len(keys)))
    for sequence in by_key.values():
        assert sequence == sorted(sequence)


def test_three_consumers_share_three_partitions_and_take_over_from_a_leaver(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 3)
    group = topic_name + "-g"
    members = [consumer(bootstrap, topic_name, group) for _ in range(3)]
    wait_for_assignment(members, [1, 1, 1])
    owned = [set(tp.partition for tp in c.assignment()) for c in members]
    assert set().union(*owned) == {0, 1, 2}
    produce(bootstrap, topic_name, values(90, "a"), partition=lambda i: i % 3)
    got = poll_all(members, lambda r: sum(map(len, r)) >= 90)
    for i, records in enumerate(got):
        assert {p for p, _, _ in records} == owned[i], "records only from the member's own partition"
        assert len(records) == 30
    for c in members:
        c.commit()
    # A clean leave: the other two take over its partition.
    members[0].close()
    rest = members[1:]
    wait_for_assignment(rest, [1, 2])
    produce(bootstrap, topic_name, values(60, "b"), partition=lambda i: i % 3)
    got = poll_all(rest, lambda r: sum(map(len, r)) >= 60)
    delivered = sorted(v for records in got for _, _, v in records)
    assert delivered == sorted(values(60, "b")), "every record exactly once"
    for c in rest:
        c.close()


CHILD_CONSUMER = r"""
import json, sys
from kafka import KafkaConsumer
bootstrap, topic, group = sys.argv[1:4]
c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                  enable_auto_commit=False, session_timeout_ms=%d, heartbeat_interval_ms=1000)
while True:
    for tp, records in c.poll(timeout_ms=200).items():
        for r in records:
            print(json.dumps([tp.partition, r.offset, r.value.decode()]), flush=True)
    print(json.dumps(["assigned", sorted(tp.partition for tp in c.assignment())]), flush=True)
    c.commit()
""" % SESSION_TIMEOUT_MS


def test_a_killed_member_is_replaced_after_its_session_timeout(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 2)
    group = topic_name + "-g"
    child = subprocess.Popen([sys.executable, "-c", CHILD_CONSUMER, bootstrap, topic_name, group],
                             stdout=subprocess.PIPE, text=True)
    try:
        # The child joins first and owns both partitions; then a second member joins.
        deadline = time.monotonic() + 30
        while True:
            line = child.stdout.readline()
            assert line and time.monotonic() < deadline, "child consumer never got its partitions"
            if json.loads(line) == ["assigned", [0, 1]]:
                break
        survivor = consumer(bootstrap, topic_name, group)
        wait_for_assignment([survivor], [1])
        child.send_signal(signal.SIGKILL)
        child.wait()
        started = time.monotonic()
        # No LeaveGroup: only the session timeout frees the child's partition.
        wait_for_assignment([survivor], [2], timeout_s=SESSION_TIMEOUT_MS / 1000 + 20)
        assert time.monotonic() - started >= SESSION_TIMEOUT_MS / 1000 - 1.5
        produce(bootstrap, topic_name, values(40), partition=lambda i: i % 2)
        got = poll_all([survivor], lambda r: len(r[0]) >= 40)[0]
        assert sorted(v for _, _, v in got) == sorted(values(40))
        survivor.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()


def test_a_restarted_consumer_continues_after_its_last_commit(bootstrap, admin, topic_name):
    group = topic_name + "-g"
    produce(bootstrap, topic_name, values(10, "old"))
    c = consumer(bootstrap, topic_name, group)
    poll_all([c], lambda r: len(r[0]) >= 10)
    c.commit()
    tp = TopicPartition(topic_name, 0)
    assert c.committed(tp) == 10
    c.close()
    produce(bootstrap, topic_name, values(3, "new"))
    c = consumer(bootstrap, topic_name, group)
    got = poll_all([c], lambda r: len(r[0]) >= 3)[0]
    time.sleep(0.5)
    got += [(tp.partition, r.offset, r.value) for records in c.poll(timeout_ms=500).values() for r in records]
    c.close()
    assert [v for _, _, v in got] == values(3, "new")


def test_two_groups_each_receive_every_record(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 2)
    produce(bootstrap, topic_name, values(50), partition=lambda i: i % 2)
    for group in ("fan-out-a", "fan-out-b"):
        c = consumer(bootstrap, topic_name, topic_name + group)
        got = poll_all([c], lambda r: len(r[0]) >= 50)[0]
        c.close()
        assert sorted(v for _, _, v in got) == sorted(values(50))


def test_auto_commit_and_manual_offsets_are_visible_to_the_admin_client(bootstrap, admin, topic_name):
    group = topic_name + "-g"
    produce(bootstrap, topic_name, values(4))
    c = consumer(bootstrap, topic_name, group, enable_auto_commit=True, auto_commit_interval_ms=200)
    poll_all([c], lambda r: len(r[0]) >= 4)
    tp = TopicPartition(topic_name, 0)
    deadline = time.monotonic() + 10
    while c.committed(tp) != 4:
        assert time.monotonic() < deadline, "auto-commit never committed offset 4"
        c.poll(timeout_ms=200)
    c.commit({tp: OffsetAndMetadata(2, "rewound", -1)})
    assert c.committed(tp) == 2
    listed = {g[0] for g in admin.list_consumer_groups()}
    assert group in listed
    offsets = admin.list_consumer_group_offsets(group)
    assert offsets[tp].offset == 2
    (described,) = admin.describe_consumer_groups([group])
    assert described.state == "Stable"
    assert described.protocol_type == "consumer"
    assert len(described.members) == 1
    c.close()
    (described,) = admin.describe_consumer_groups([group])
    assert described.state == "Empty"
    admin.delete_consumer_groups([group])
    assert group not in {g[0] for g in admin.list_consumer_groups()}


def test_committed_offsets_survive_a_broker_crash(broker, bootstrap, admin, topic_name):
    if broker is None:
        pytest.skip("needs the test's own broker to kill")
    group = topic_name + "-g"
    produce(bootstrap, topic_name, values(6))
    c = consumer(bootstrap, topic_name, group)
    poll_all([c], lambda r: len(r[0]) >= 6)
    c.commit()
    c.close()
    broker.restart(hard=True)  # kill -9, start again on the same data
    produce(bootstrap, topic_name, values(2, "after"))
    c = consumer(bootstrap, topic_name, group)
    got = poll_all([c], lambda r: len(r[0]) >= 2, timeout_s=40)[0]
    c.close()
    assert [v for _, _, v in got] == values(2, "after")
