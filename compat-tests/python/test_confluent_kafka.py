"""confluent-kafka (librdkafka bundled in the wheel) against strom.

Every assertion is what a single-node Apache Kafka (node id 1, default
num.partitions=1) answers.
"""

import time

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer, TopicCollection
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewPartitions, NewTopic, ResourceType

ONE_HOUR_MS = "3600000"
TIMEOUT_S = 10


def wait_until(condition, timeout_s=10.0, interval_s=0.1):
    """Kafka propagates topic changes to its metadata cache asynchronously."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval_s)


def client_config(bootstrap):
    return {"bootstrap.servers": bootstrap, "client.id": "strom-compat", "socket.timeout.ms": TIMEOUT_S * 1000}


@pytest.fixture(scope="module")
def admin(bootstrap):
    return AdminClient(client_config(bootstrap))


def topic_names(admin):
    return set(admin.list_topics(timeout=TIMEOUT_S).topics)


def create(admin, topic, validate_only=False):
    """Create one NewTopic and wait for the result (raises KafkaException), then
    until metadata lists it: Kafka answers CreateTopics before its metadata
    cache has the topic."""
    futures = admin.create_topics([topic], validate_only=validate_only, request_timeout=TIMEOUT_S)
    result = futures[topic.topic].result(timeout=TIMEOUT_S)
    if not validate_only:
        assert wait_until(lambda: topic.topic in topic_names(admin)), "created topic not listed"
    return result


def error_code_of(excinfo):
    return excinfo.value.args[0].code()


def describe(admin, name):
    futures = admin.describe_topics(TopicCollection([name]), request_timeout=TIMEOUT_S)
    return futures[name].result(timeout=TIMEOUT_S)


def describe_configs(admin, resource_type, name):
    futures = admin.describe_configs([ConfigResource(resource_type, name)], request_timeout=TIMEOUT_S)
    (future,) = futures.values()
    return future.result(timeout=TIMEOUT_S)


def test_connect_and_list_topics(admin, bootstrap):
    metadata = admin.list_topics(timeout=TIMEOUT_S)
    host, port = bootstrap.rsplit(":", 1)
    assert list(metadata.brokers) == [1]
    broker = metadata.brokers[1]
    assert (broker.id, broker.host, broker.port) == (1, host, int(port))
    assert metadata.controller_id == 1
    assert metadata.cluster_id


def test_describe_cluster(admin):
    cluster = admin.describe_cluster(request_timeout=TIMEOUT_S).result(timeout=TIMEOUT_S)
    assert [node.id for node in cluster.nodes] == [1]
    assert cluster.controller.id == 1
    assert cluster.cluster_id


def test_create_topic_with_partitions_and_config(admin, topic_name):
    create(admin, NewTopic(topic_name, num_partitions=3, replication_factor=1,
                           config={"retention.ms": ONE_HOUR_MS}))
    assert wait_until(lambda: topic_name in topic_names(admin))
    topic = admin.list_topics(topic=topic_name, timeout=TIMEOUT_S).topics[topic_name]
    assert topic.error is None
    assert sorted(topic.partitions) == [0, 1, 2]
    assert [topic.partitions[p].leader for p in range(3)] == [1, 1, 1]
    description = describe(admin, topic_name)
    assert description.name == topic_name
    assert [(p.id, p.leader.id, [r.id for r in p.replicas]) for p in description.partitions] == \
        [(0, 1, [1]), (1, 1, [1]), (2, 1, [1])]


def test_create_existing_topic_fails(admin, topic_name):
    create(admin, NewTopic(topic_name, num_partitions=1, replication_factor=1))
    with pytest.raises(KafkaException) as excinfo:
        create(admin, NewTopic(topic_name, num_partitions=2, replication_factor=1))
    assert error_code_of(excinfo) == KafkaError.TOPIC_ALREADY_EXISTS


def test_create_topic_validate_only_creates_nothing(admin, topic_name):
    create(admin, NewTopic(topic_name, num_partitions=2, replication_factor=1), validate_only=True)
    assert topic_name not in topic_names(admin)


# librdkafka rejects a partition count of 0 itself, so that case is left to the
# other clients.
@pytest.mark.parametrize("partitions, replication, config, expected", [
    (1, 3, {}, KafkaError.INVALID_REPLICATION_FACTOR),
    (1, 1, {"no.such.config": "1"}, KafkaError.INVALID_CONFIG),
])
def test_create_topic_with_invalid_arguments_fails(admin, topic_name, partitions, replication, config, expected):
    with pytest.raises(KafkaException) as excinfo:
        create(admin, NewTopic(topic_name, num_partitions=partitions, replication_factor=replication, config=config))
    assert error_code_of(excinfo) == expected


def test_delete_topic(admin, topic_name):
    create(admin, NewTopic(topic_name, num_partitions=2, replication_factor=1))
    assert wait_until(lambda: topic_name in topic_names(admin))
    admin.delete_topics([topic_name], request_timeout=TIMEOUT_S)[topic_name].result(timeout=TIMEOUT_S)
    assert wait_until(lambda: topic_name not in topic_names(admin))
    with pytest.raises(KafkaException) as excinfo:
        describe(admin, topic_name)
    assert error_code_of(excinfo) == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_auto_create_topic_through_producer_metadata(admin, bootstrap, topic_name):
    producer = Producer(client_config(bootstrap))

    def partitions():
        topic = producer.list_topics(topic=topic_name, timeout=TIMEOUT_S).topics.get(topic_name)
        return sorted(topic.partitions) if topic is not None and topic.error is None else None

    # Kafka answers the first request with LEADER_NOT_AVAILABLE while it creates the topic.
    assert wait_until(partitions) == [0]
    assert topic_name in topic_names(admin)


def test_create_partitions(admin, topic_name):
    create(admin, NewTopic(topic_name, num_partitions=1, replication_factor=1))
    futures = admin.create_partitions([NewPartitions(topic_name, 4)], request_timeout=TIMEOUT_S)
    futures[topic_name].result(timeout=TIMEOUT_S)
    assert wait_until(lambda: len(describe(admin, topic_name).partitions) == 4)
    with pytest.raises(KafkaException) as excinfo:
        admin.create_partitions([NewPartitions(topic_name, 2)], request_timeout=TIMEOUT_S)[topic_name].result()
    assert error_code_of(excinfo) == KafkaError.INVALID_PARTITIONS


def test_describe_topic_configs(admin, topic_name):
    create(admin, NewTopic(topic_name, num_partitions=1, replication_factor=1,
                           config={"retention.ms": ONE_HOUR_MS}))
    configs = describe_configs(admin, ResourceType.TOPIC, topic_name)
    assert configs["retention.ms"].value == ONE_HOUR_MS
    assert ConfigSource(configs["retention.ms"].source) == ConfigSource.DYNAMIC_TOPIC_CONFIG
    assert not configs["retention.ms"].is_default
    assert configs["cleanup.policy"].value == "delete"
    assert ConfigSource(configs["cleanup.policy"].source) == ConfigSource.DEFAULT_CONFIG
    assert configs["cleanup.policy"].is_default


def test_describe_broker_configs(admin):
    configs = describe_configs(admin, ResourceType.BROKER, "1")
    assert configs["num.partitions"].value == "1"
    assert configs["auto.create.topics.enable"].value == "true"
