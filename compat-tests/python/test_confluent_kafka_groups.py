"""confluent-kafka (librdkafka) consumer groups against strom: seed 004's
experiments, cooperative-sticky and static membership, the admin client's
group calls, and committed offsets across a broker crash.

Each member polls on its own thread, as each would in its own process.
"""

import json
import signal
import subprocess
import sys
import threading
import time

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from members import received, values, wait, wait_for_assignment, wait_for_records

TIMEOUT_S = 30
SESSION_TIMEOUT_MS = 6000


def produce(bootstrap, topic, values, key=None, partition=None):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i, v in enumerate(values):
        kwargs = {}
        if key is not None:
            kwargs["key"] = key(i)
        if partition is not None:
            kwargs["partition"] = partition(i)
        producer.produce(topic, value=v, **kwargs)
    assert producer.flush(TIMEOUT_S) == 0






class Member:
    def __init__(self, bootstrap, topic, group, **config):
        settings = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                    "enable.auto.commit": False, "session.timeout.ms": SESSION_TIMEOUT_MS,
                    "heartbeat.interval.ms": 1000}
        settings.update(config)
        self.consumer = Consumer(settings)
        self.consumer.subscribe([topic])
        self.lock = threading.Lock()
        self.records = []
        self.partitions = set()
        self._commits_wanted = 0
        self.commits = 0
        self._stop = False
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self._stop:
                msg = self.consumer.poll(0.1)
                with self.lock:
                    if msg is not None and not msg.error():
                        self.records.append((msg.partition(), msg.offset(), msg.value()))
                    self.partitions = {tp.partition for tp in self.consumer.assignment()}
                    commit = self.commits < self._commits_wanted
                if commit:
                    try:
                        self.consumer.commit(asynchronous=False)
                    except Exception as e:  # nothing to commit yet is fine
                        if "NO_OFFSET" not in str(e):
                            raise
                    with self.lock:
                        self.commits += 1
        except Exception as e:
            self.error = e
        finally:
            self.consumer.close()

    def commit(self):
        with self.lock:
            self._commits_wanted += 1
            target = self._commits_wanted
        wait(lambda: self.commits >= target, TIMEOUT_S, "commit")

    def close(self):
        self._stop = True
        self.thread.join(TIMEOUT_S)
        assert not self.thread.is_alive(), "consumer did not close"
        assert self.error is None, self.error

    def snapshot(self):
        with self.lock:
            return list(self.records), set(self.partitions)








@pytest.fixture(scope="module")
def admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def create_topic(admin, name, partitions):
    for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(TIMEOUT_S)
    wait(lambda: name in admin.list_topics(timeout=5).topics, 10, "topic in metadata")


def test_records_sent_while_the_consumer_is_offline_arrive_when_it_returns(bootstrap, topic_name):
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
    produce(bootstrap, topic_name, [b"%d" % i for i in range(120)], key=lambda i: b"user-%d" % (i % 6))
    m = Member(bootstrap, topic_name, topic_name + "-g")
    (got,) = wait_for_records([m], 120)
    m.close()
    assert len(got) == 120
    by_key = {}
    for _, _, value in got:
        by_key.setdefault(int(value) % 6, []).append(int(value))
    assert all(seq == sorted(seq) for seq in by_key.values()) and len(by_key) == 6


@pytest.mark.parametrize("strategy", ["range", "cooperative-sticky"])
def test_three_members_share_three_partitions_and_take_over_from_a_leaver(bootstrap, admin, topic_name, strategy):
    create_topic(admin, topic_name, 3)
    group = topic_name + "-g"
    config = {"partition.assignment.strategy": strategy}
    members = [Member(bootstrap, topic_name, group, **config) for _ in range(3)]
    wait_for_assignment(members, [1, 1, 1])
    owned = [m.snapshot()[1] for m in members]
    assert set().union(*owned) == {0, 1, 2}
    produce(bootstrap, topic_name, values(90, "a"), partition=lambda i: i % 3)
    got = wait_for_records(members, 90)
    for i, records in enumerate(got):
        assert {p for p, _, _ in records} == owned[i]
        assert len(records) == 30
    for m in members:
        m.commit()
    members[0].close()
    rest = members[1:]
    wait_for_assignment(rest, [1, 2])
    if strategy == "cooperative-sticky":
        # Sticky: the survivors keep what they had and split only the freed partition.
        for m, before in zip(rest, owned[1:]):
            assert before <= m.snapshot()[1]
    produce(bootstrap, topic_name, values(60, "b"), partition=lambda i: i % 3)
    wait(lambda: sorted(v for r in received(rest) for _, _, v in r if v.startswith(b"b-")) == sorted(values(60, "b")),
         TIMEOUT_S, "the 60 new records")
    for m in rest:
        m.close()


CHILD = r"""
import json, sys
from confluent_kafka import Consumer
bootstrap, topic, group = sys.argv[1:4]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
              "session.timeout.ms": %d, "heartbeat.interval.ms": 1000})
c.subscribe([topic])
while True:
    c.poll(0.2)
    print(json.dumps(sorted(tp.partition for tp in c.assignment())), flush=True)
""" % SESSION_TIMEOUT_MS


def test_a_killed_member_is_replaced_after_its_session_timeout(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 2)
    group = topic_name + "-g"
    child = subprocess.Popen([sys.executable, "-c", CHILD, bootstrap, topic_name, group], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while json.loads(child.stdout.readline() or "null") != [0, 1]:
            assert time.monotonic() < deadline and child.poll() is None, "child never owned both partitions"
        survivor = Member(bootstrap, topic_name, group)
        wait_for_assignment([survivor], [1])
        child.send_signal(signal.SIGKILL)
        child.wait()
        started = time.monotonic()
        wait_for_assignment([survivor], [2], timeout_s=SESSION_TIMEOUT_MS / 1000 + 20)
        assert time.monotonic() - started >= SESSION_TIMEOUT_MS / 1000 - 1.5
        produce(bootstrap, topic_name, values(40), partition=lambda i: i % 2)
        wait(lambda: sorted(v for _, _, v in received([survivor])[0]) == sorted(values(40)), TIMEOUT_S, "40 records")
        survivor.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()


def test_a_static_member_restarts_without_a_rebalance(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 2)
    group = topic_name + "-g"
    a = Member(bootstrap, topic_name, group, **{"group.instance.id": "static-a"})
    b = Member(bootstrap, topic_name, group, **{"group.instance.id": "static-b"})
    wait_for_assignment([a, b], [1, 1])
    owned_by_a = a.snapshot()[1]
    generation = describe(admin, group)
    # A static member's close sends no LeaveGroup: a restart within the session keeps its partitions.
    a.close()
    a = Member(bootstrap, topic_name, group, **{"group.instance.id": "static-a"})
    wait_for_assignment([a], [1])
    assert a.snapshot()[1] == owned_by_a
    assert describe(admin, group)["members"] == generation["members"], "same two instances"
    produce(bootstrap, topic_name, values(20), partition=lambda i: i % 2)
    wait(lambda: sorted(v for r in received([a, b]) for _, _, v in r) == sorted(values(20)), TIMEOUT_S, "20 records")
    a.close()
    b.close()


def describe(admin, group):
    (future,) = admin.describe_consumer_groups([group]).values()
    d = future.result(TIMEOUT_S)
    return {"state": str(d.state), "members": sorted((m.group_instance_id or "") for m in d.members),
            "is_simple": d.is_simple_consumer_group, "assignor": d.partition_assignor}


def test_a_restarted_consumer_continues_after_its_last_commit(bootstrap, topic_name):
    group = topic_name + "-g"
    produce(bootstrap, topic_name, values(10, "old"))
    m = Member(bootstrap, topic_name, group)
    wait_for_records([m], 10)
    m.commit()
    m.close()
    produce(bootstrap, topic_name, values(3, "new"))
    m = Member(bootstrap, topic_name, group)
    (got,) = wait_for_records([m], 3)
    m.close()
    assert [v for _, _, v in got] == values(3, "new")


def test_two_groups_each_receive_every_record(bootstrap, admin, topic_name):
    create_topic(admin, topic_name, 2)
    produce(bootstrap, topic_name, values(50), partition=lambda i: i % 2)
    groups = [Member(bootstrap, topic_name, topic_name + s) for s in ("-a", "-b")]
    got = wait_for_records(groups, 100)
    for m in groups:
        m.close()
    for records in got:
        assert sorted(v for _, _, v in records) == sorted(values(50))


def test_the_admin_client_lists_describes_alters_and_deletes_groups(bootstrap, admin, topic_name):
    group = topic_name + "-g"
    produce(bootstrap, topic_name, values(4))
    m = Member(bootstrap, topic_name, group)
    wait_for_records([m], 4)
    m.commit()
    listed = admin.list_consumer_groups().result(TIMEOUT_S)
    assert group in {g.group_id for g in listed.valid}
    d = describe(admin, group)
    assert (d["state"], d["is_simple"], d["assignor"], len(d["members"])) == ("ConsumerGroupState.STABLE", False, "range", 1)
    m.close()
    assert describe(admin, group)["state"] == "ConsumerGroupState.EMPTY"
    (future,) = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)]).values()
    offsets = {(tp.topic, tp.partition): tp.offset for tp in future.result(TIMEOUT_S).topic_partitions}
    assert offsets == {(topic_name, 0): 4}
    tp = TopicPartition(topic_name, 0, 1)
    (future,) = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, [tp])]).values()
    future.result(TIMEOUT_S)
    (future,) = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)]).values()
    assert [t.offset for t in future.result(TIMEOUT_S).topic_partitions] == [1]
    for future in admin.delete_consumer_groups([group]).values():
        future.result(TIMEOUT_S)
    listed = admin.list_consumer_groups().result(TIMEOUT_S)
    assert group not in {g.group_id for g in listed.valid}


def test_records_and_committed_offsets_survive_a_broker_crash(broker, bootstrap, topic_name):
    if broker is None:
        pytest.skip("needs the test's own broker to kill")
    group = topic_name + "-g"
    produce(bootstrap, topic_name, values(6))
    m = Member(bootstrap, topic_name, group)
    wait_for_records([m], 6)
    m.commit()
    m.close()
    broker.restart(hard=True)
    produce(bootstrap, topic_name, values(2, "after"))
    m = Member(bootstrap, topic_name, group)
    (got,) = wait_for_records([m], 2)
    m.close()
    assert [v for _, _, v in got] == values(2, "after")
    fresh = Member(bootstrap, topic_name, group + "-fresh")
    (got,) = wait_for_records([fresh], 8)
    fresh.close()
    assert [v for _, _, v in got] == values(6) + values(2, "after")
