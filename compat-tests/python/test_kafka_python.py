"""kafka-python against strom: the same file runs with kafka-python 2.3.x and 3.0.x.

Every assertion is what a single-node Apache Kafka (node id 1, default
num.partitions=1) answers. Version differences live in kp.py.
"""

import time

import pytest
from kafka.errors import (
    InvalidConfigurationError,
    InvalidPartitionsError,
    InvalidReplicationFactorError,
    InvalidTopicError,
    TopicAlreadyExistsError,
)

import kp

ONE_HOUR_MS = "3600000"
UNKNOWN_TOPIC_OR_PARTITION = 3


def wait_until(condition, timeout_s=10.0, interval_s=0.1):
    """Kafka propagates topic changes to its metadata cache asynchronously."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval_s)


def create(admin, topics):
    """Create topics and wait until metadata lists them: Kafka answers
    CreateTopics before its metadata cache has the topic."""
    kp.create_topics(admin, topics)
    assert wait_until(lambda: set(topics) <= set(admin.list_topics())), "created topics not listed"


@pytest.fixture(scope="module")
def admin(bootstrap):
    # One client for the module: a broker that cannot be bootstrapped fails
    # every test at once instead of once per test.
    client = kp.admin(bootstrap)
    yield client
    client.close()


def test_connect_and_describe_cluster(admin, bootstrap):
    cluster = kp.describe_cluster(admin)
    host, port = bootstrap.rsplit(":", 1)
    assert cluster["brokers"] == [{"node_id": 1, "host": host, "port": int(port)}]
    assert cluster["controller_id"] == 1
    assert cluster["cluster_id"]


def test_list_topics(admin, topic_name):
    assert topic_name not in admin.list_topics()
    create(admin, {topic_name: (1, 1, {})})
    assert wait_until(lambda: topic_name in admin.list_topics())


def test_create_topic_with_partitions_and_config(admin, topic_name):
    create(admin, {topic_name: (3, 1, {"retention.ms": ONE_HOUR_MS})})
    assert wait_until(lambda: topic_name in admin.list_topics())
    topic = kp.describe_topic(admin, topic_name)
    assert topic["error_code"] == 0
    assert topic["partitions"] == [{"partition": i, "leader": 1, "error_code": 0} for i in range(3)]


def test_create_existing_topic_fails(admin, topic_name):
    create(admin, {topic_name: (1, 1, {})})
    with pytest.raises(TopicAlreadyExistsError):
        kp.create_topics(admin, {topic_name: (2, 1, {})})
    assert len(kp.describe_topic(admin, topic_name)["partitions"]) == 1


def test_create_topic_validate_only_creates_nothing(admin, topic_name):
    kp.create_topics(admin, {topic_name: (2, 1, {})}, validate_only=True)
    assert topic_name not in admin.list_topics()


def test_create_topic_with_invalid_arguments_fails(admin, new_topic_name):
    with pytest.raises(InvalidReplicationFactorError):
        kp.create_topics(admin, {new_topic_name("-rf"): (1, 3, {})})
    with pytest.raises(InvalidPartitionsError):
        kp.create_topics(admin, {new_topic_name("-partitions"): (0, 1, {})})
    with pytest.raises(InvalidConfigurationError):
        kp.create_topics(admin, {new_topic_name("-config"): (1, 1, {"no.such.config": "1"})})
    with pytest.raises(InvalidTopicError):
        kp.create_topics(admin, {"bad/name": (1, 1, {})})


def test_delete_topic(admin, topic_name):
    create(admin, {topic_name: (2, 1, {})})
    assert wait_until(lambda: topic_name in admin.list_topics())
    admin.delete_topics([topic_name])
    assert wait_until(lambda: topic_name not in admin.list_topics())
    assert kp.describe_topic(admin, topic_name)["error_code"] == UNKNOWN_TOPIC_OR_PARTITION


def test_auto_create_topic_through_metadata(admin, bootstrap, topic_name):
    producer = kp.producer(bootstrap)
    try:
        assert producer.partitions_for(topic_name) == {0}
    finally:
        producer.close()
    assert topic_name in admin.list_topics()
    assert kp.describe_topic(admin, topic_name)["partitions"] == [{"partition": 0, "leader": 1, "error_code": 0}]


def test_create_partitions(admin, topic_name):
    create(admin, {topic_name: (1, 1, {})})
    kp.create_partitions(admin, topic_name, 4)
    assert wait_until(lambda: len(kp.describe_topic(admin, topic_name)["partitions"]) == 4)
    assert [p["leader"] for p in kp.describe_topic(admin, topic_name)["partitions"]] == [1, 1, 1, 1]
    with pytest.raises(InvalidPartitionsError):
        kp.create_partitions(admin, topic_name, 2)


def test_describe_topic_configs(admin, topic_name):
    create(admin, {topic_name: (1, 1, {"retention.ms": ONE_HOUR_MS})})
    configs = kp.describe_configs(admin, "topic", topic_name)
    assert configs["retention.ms"]["value"] == ONE_HOUR_MS
    assert configs["retention.ms"]["source"] == kp.SOURCE_DYNAMIC_TOPIC_CONFIG
    assert configs["cleanup.policy"]["value"] == "delete"
    assert configs["cleanup.policy"]["source"] == kp.SOURCE_DEFAULT_CONFIG


def test_describe_broker_configs(admin):
    configs = kp.describe_configs(admin, "broker", "1")
    assert configs["num.partitions"]["value"] == "1"
    assert configs["auto.create.topics.enable"]["value"] == "true"
