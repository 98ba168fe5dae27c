"""kafka-python consumer groups against strom (2.3.x and 3.0.x): seed 004's
experiments, committed offsets across consumer and broker restarts, and the
group admin calls.

Consumers of one group are polled in turn from the test's thread (their
heartbeats run on kafka-python's own thread); a consumer that must die with
kill -9 runs in a child process.
"""

import json
import signal
import subprocess
import sys
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

import kp
from members import received, values, wait, wait_for_assignment, wait_for_records

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


class Member:
    """One group member polling on its own thread, like one terminal of seed
    004's experiments. kafka-python's poll() blocks while the member rejoins,
    so members of one group cannot share a thread."""

    def __init__(self, bootstrap, topic, group, **config):
        import threading
        self.consumer = consumer(bootstrap, topic, group, **config)
        # kafka-python joins without waiting for the topic's metadata; a leader
        # that assigns before it arrives assigns nothing (and kafka-python 3.0
        # can stall rejoining after that). Load it first, as an application
        # that looks at its topic before consuming would.
        wait(lambda: self.consumer.partitions_for_topic(topic), 10, "metadata of " + topic)
        self.lock = threading.Lock()
        self.records = []  # (partition, offset, value)
        self.partitions = set()
        self.commits = 0
        self._commit_wanted = False
        self._stop = False
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self._stop:
                polled = self.consumer.poll(timeout_ms=100)
                with self.lock:
                    for tp, records in polled.items():
                        self.records.extend((tp.partition, r.offset, r.value) for r in records)
                    self.partitions = {tp.partition for tp in self.consumer.assignment()}
                    commit, self._commit_wanted = self._commit_wanted, False
                if commit:
                    self.consumer.commit()
                    with self.lock:
                        self.commits += 1
        except Exception as e:  # reported by the test thread
            self.error = e
        finally:
            self.consumer.close()

    def commit(self, timeout_s=10):
        with self.lock:
            self._commit_wanted, target = True, self.commits + 1
        wait(lambda: self.commits >= target, timeout_s, "commit")

    def close(self):
        self._stop = True
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "consumer did not close"
        assert self.error is None, self.error

    def snapshot(self):
        with self.lock:
            return list(self.records), set(self.partitions)












@pytest.fixture(scope="module")
def admin(bootstrap):
    client = kp.admin(bootstrap)
    yield client
    client.close()


def test_records_sent_while_the_consumer_is_offline_arrive_when_it_returns(bootstrap, admin, topic_name):
    group = topic_name + "-g"
    produce(bootstrap, topic_name, values(5, "before"))
    m = Member(bootstrap, topic_name, group)
    wait_for_records([m], 5)
    m.commit()
    m.close()
    produce(bootstrap, topic_name, values(7, "offline"))
    m = Member(bootstrap, topic_name, group)
    (got,) = wait_for_records([m], 7)
    m.close()
    assert [v for _, _, v in got] == values(7, "offline")


def test_records_of_one_key_arrive_in_order(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 3)
    keys = [b"user-%d" % k for k in range(6)]
    produce(bootstrap, topic_name, [b"%d" % i for i in range(120)], key=lambda i: keys[i % len(keys)])
    m = Member(bootstrap, topic_name, topic_name + "-g")
    (got,) = wait_for_records([m], 120)
    m.close()
    assert len(got) == 120
    by_key = {}
    for _, _, value in got:
        by_key.setdefault(int(value) % len(keys), []).append(int(value))
    assert sorted(by_key) == list(range(len(keys)))
    for sequence in by_key.values():
        assert sequence == sorted(sequence)


def test_three_consumers_share_three_partitions_and_take_over_from_a_leaver(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 3)
    group = topic_name + "-g"
    members = [Member(bootstrap, topic_name, group) for _ in range(3)]
    wait_for_assignment(members, [1, 1, 1])
    owned = [m.snapshot()[1] for m in members]
    assert set().union(*owned) == {0, 1, 2}
    produce(bootstrap, topic_name, values(90, "a"), partition=lambda i: i % 3)
    got = wait_for_records(members, 90)
    for i, records in enumerate(got):
        assert {p for p, _, _ in records} == owned[i], "records only from the member's own partition"
        assert len(records) == 30, "every record exactly once"
    for m in members:
        m.commit()
    # A clean leave: the other two take over its partition and nothing is lost.
    members[0].close()
    rest = members[1:]
    wait_for_assignment(rest, [1, 2])
    produce(bootstrap, topic_name, values(60, "b"), partition=lambda i: i % 3)
    wait(lambda: sorted(v for r in received(rest) for _, _, v in r if v.startswith(b"b-")) == sorted(values(60, "b")),
         30, "the 60 new records")
    for m in rest:
        m.close()


CHILD_CONSUMER = r"""
import json, sys
from kafka import KafkaConsumer
bootstrap, topic, group = sys.argv[1:4]
c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                  enable_auto_commit=False, session_timeout_ms=%d, heartbeat_interval_ms=1000)
while True:
    c.poll(timeout_ms=200)
    print(json.dumps(["assigned", sorted(tp.partition for tp in c.assignment())]), flush=True)
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
        survivor = Member(bootstrap, topic_name, group)
        wait_for_assignment([survivor], [1])
        child.send_signal(signal.SIGKILL)
        child.wait()
        started = time.monotonic()
        # No LeaveGroup: only the session timeout frees the child's partition.
        wait_for_assignment([survivor], [2], timeout_s=SESSION_TIMEOUT_MS / 1000 + 20)
        assert time.monotonic() - started >= SESSION_TIMEOUT_MS / 1000 - 1.5
        produce(bootstrap, topic_name, values(40), partition=lambda i: i % 2)
        wait(lambda: sorted(v for _, _, v in received([survivor])[0]) == sorted(values(40)), 30, "40 records")
        survivor.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()


def test_a_restarted_consumer_continues_after_its_last_commit(bootstrap, admin, topic_name):
    group = topic_name + "-g"
    produce(bootstrap, topic_name, values(10, "old"))
    m = Member(bootstrap, topic_name, group)
    wait_for_records([m], 10)
    m.commit()
    assert m.consumer.committed(TopicPartition(topic_name, 0)) == 10
    m.close()
    produce(bootstrap, topic_name, values(3, "new"))
    m = Member(bootstrap, topic_name, group)
    (got,) = wait_for_records([m], 3)
    m.close()
    assert [v for _, _, v in got] == values(3, "new")


def test_two_groups_each_receive_every_record(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 2)
    produce(bootstrap, topic_name, values(50), partition=lambda i: i % 2)
    groups = [Member(bootstrap, topic_name, topic_name + suffix) for suffix in ("-fan-out-a", "-fan-out-b")]
    got = wait_for_records(groups, 100)
    for m in groups:
        m.close()
    for records in got:
        assert sorted(v for _, _, v in records) == sorted(values(50))


def test_committed_offsets_and_groups_are_visible_to_the_admin_client(bootstrap, admin, topic_name):
    group = topic_name + "-g"
    produce(bootstrap, topic_name, values(4))
    m = Member(bootstrap, topic_name, group, enable_auto_commit=True, auto_commit_interval_ms=200)
    wait_for_records([m], 4)
    tp = TopicPartition(topic_name, 0)
    wait(lambda: kp.group_offsets(admin, group).get(tp) == 4, 10, "auto-commit of offset 4")
    assert group in kp.list_groups(admin)
    described = kp.describe_group(admin, group)
    assert (described["state"], described["protocol_type"], described["protocol"]) == ("Stable", "consumer", "range")
    assert len(described["members"]) == 1
    m.close()
    assert kp.describe_group(admin, group)["state"] == "Empty"
    # A manual commit with metadata, from outside any generation (a simple consumer).
    simple = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    simple.assign([tp])
    simple.commit({tp: OffsetAndMetadata(2, "rewound", -1)})
    assert simple.committed(tp) == 2
    simple.close()
    assert kp.group_offsets(admin, group)[tp] == 2
    kp.delete_groups(admin, [group])
    assert group not in kp.list_groups(admin)


def test_records_and_committed_offsets_survive_a_broker_crash(broker, bootstrap, admin, topic_name):
    if broker is None:
        pytest.skip("needs the test's own broker to kill")
    group = topic_name + "-g"
    produce(bootstrap, topic_name, values(6))
    m = Member(bootstrap, topic_name, group)
    wait_for_records([m], 6)
    m.commit()
    m.close()
    broker.restart(hard=True)  # kill -9, start again on the same data
    produce(bootstrap, topic_name, values(2, "after"))
    m = Member(bootstrap, topic_name, group)
    (got,) = wait_for_records([m], 2, timeout_s=40)
    m.close()
    assert [v for _, _, v in got] == values(2, "after")
    # Nothing written before the crash was lost: a new group reads it all.
    fresh = Member(bootstrap, topic_name, group + "-fresh")
    (got,) = wait_for_records([fresh], 8)
    fresh.close()
    assert [v for _, _, v in got] == values(6) + values(2, "after")
