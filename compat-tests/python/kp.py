"""The few places where kafka-python 2.3.x and 3.0.x differ, behind one face.

test_kafka_python.py runs unchanged in both venvs; everything version-specific
lives here. Each helper returns plain Python data in one shape:

  topic metadata:  {"name", "error_code", "partitions": [{"partition", "leader", "error_code"}]}
  config entries:  {config_name: {"value": str|None, "source": int, "read_only": bool}}
  cluster:         {"cluster_id", "controller_id", "brokers": [{"node_id", "host", "port"}]}

Config sources are Kafka's ConfigSource codes (DescribeConfigs v1+).
"""

import ssl

import kafka
import kafka.errors
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic

VERSION = tuple(int(p) for p in kafka.__version__.split(".")[:2])
IS_V3 = VERSION >= (3, 0)

# org.apache.kafka.common.requests.DescribeConfigsResponse.ConfigSource
SOURCE_DYNAMIC_TOPIC_CONFIG = 1
SOURCE_DEFAULT_CONFIG = 5

# Generous for a local broker, short enough that a hang fails quickly.
REQUEST_TIMEOUT_MS = 10000


def admin(bootstrap, **config):
    if IS_V3:
        config.setdefault("bootstrap_timeout_ms", REQUEST_TIMEOUT_MS)
    return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="strom-compat",
                            request_timeout_ms=REQUEST_TIMEOUT_MS, **config)


def producer(bootstrap, **config):
    # Idempotence (kafka-python 3.x default) needs InitProducerId, which the
    # metadata scenarios do not exercise; the produce suites turn it on.
    return kafka.KafkaProducer(bootstrap_servers=bootstrap, client_id="strom-compat",
                               enable_idempotence=False, max_block_ms=REQUEST_TIMEOUT_MS,
                               request_timeout_ms=REQUEST_TIMEOUT_MS, **config)


def create_topics(client, topics, validate_only=False):
    """topics: {name: (num_partitions, replication_factor, {config: value})}."""
    new_topics = [NewTopic(name, partitions, replication, topic_configs=configs)
                  for name, (partitions, replication, configs) in topics.items()]
    return client.create_topics(new_topics, validate_only=validate_only)


def create_partitions(client, topic, total_count):
    return client.create_partitions({topic: NewPartitions(total_count=total_count)})


def describe_topics(client, names):
    """Metadata of the named topics (no auto-creation), normalised."""
    out = []
    for t in client.describe_topics(names):
        partitions = [{
            "partition": p["partition_index"] if IS_V3 else p["partition"],
            "leader": p["leader_id"] if IS_V3 else p["leader"],
            "error_code": p["error_code"],
        } for p in t["partitions"]]
        out.append({
            "name": t["name"] if IS_V3 else t["topic"],
            "error_code": t["error_code"],
            "partitions": sorted(partitions, key=lambda p: p["partition"]),
        })
    return out


def describe_topic(client, name):
    (topic,) = describe_topics(client, [name])
    assert topic["name"] == name
    return topic


def describe_cluster(client):
    c = client.describe_cluster()
    brokers = [{"node_id": b.get("broker_id", b.get("node_id")), "host": b["host"], "port": b["port"]}
               for b in c["brokers"]]
    return {"cluster_id": c["cluster_id"], "controller_id": c["controller_id"], "brokers": brokers}


def describe_configs(client, resource_type, name):
    """Every config entry of one topic ("topic") or broker ("broker")."""
    if IS_V3:
        kind = ConfigResourceType.TOPIC if resource_type == "topic" else ConfigResourceType.BROKER
        result = client.describe_configs([ConfigResource(kind, name)], config_filter="all")
        entries = result[resource_type][name]
        from kafka.admin import ConfigSourceType
        return {key: {"value": e["value"], "read_only": e["read_only"],
                      "source": ConfigSourceType[e["config_source"]].value}
                for key, e in entries.items()}
    kind = ConfigResourceType.TOPIC if resource_type == "topic" else ConfigResourceType.BROKER
    (response,) = client.describe_configs([ConfigResource(kind, name)])
    (resource,) = response.resources
    error_code, error_message, _type, resource_name, entries = resource[:5]
    if error_code != 0:
        raise kafka.errors.for_code(error_code)(error_message)
    assert resource_name == name
    return {e[0]: {"value": e[1], "read_only": e[2], "source": e[3]} for e in entries}


# -- consumer groups ----------------------------------------------------------
# 2.3: list/describe/delete_consumer_groups, list_consumer_group_offsets;
# 3.0: list/describe/delete_groups, list_group_offsets.

def list_groups(client):
    """Names of every group the broker coordinates."""
    if IS_V3:
        return {g["group_id"] for g in client.list_groups()}
    return {g[0] for g in client.list_consumer_groups()}


def describe_group(client, group):
    """{"state", "protocol_type", "protocol", "members": [member_id]}"""
    if IS_V3:
        d = client.describe_groups([group])[group]
        return {"state": d["group_state"], "protocol_type": d["protocol_type"], "protocol": d["protocol_data"],
                "members": [m["member_id"] for m in d["members"]]}
    (d,) = client.describe_consumer_groups([group])
    return {"state": d.state, "protocol_type": d.protocol_type, "protocol": d.protocol,
            "members": [m.member_id for m in d.members]}


def group_offsets(client, group):
    """{TopicPartition: committed offset} of a group."""
    if IS_V3:
        offsets = client.list_group_offsets(group)[group]
    else:
        offsets = client.list_consumer_group_offsets(group)
    return {tp: o.offset for tp, o in offsets.items()}


def delete_groups(client, groups):
    if IS_V3:
        return client.delete_groups(groups)
    return client.delete_consumer_groups(groups)


# -- transactions ---------------------------------------------------------------
# 2.3: send_offsets_to_transaction(offsets, group_id); 3.0 takes the consumer's
# group metadata (KIP-447: generation and member id go to the coordinator).

# What a fenced producer's EndTxn raises: 2.3 sends EndTxn v1, where Kafka
# answers INVALID_PRODUCER_EPOCH instead of PRODUCER_FENCED (KIP-588).
FENCED_ERROR = kafka.errors.ProducerFencedError if IS_V3 else kafka.errors.InvalidProducerEpochError


def send_offsets_to_transaction(producer, offsets, consumer, group_id):
    if IS_V3:
        return producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
    return producer.send_offsets_to_transaction(offsets, group_id)

# What a client that never gets past authentication raises: kafka-python 3
# times out bootstrapping; 2.x's version probe gives up on a refused SASL
# login with IncompatibleBrokerVersion, and raises the ssl module's error
# for a refused TLS handshake.
AUTH_REFUSED = kafka.errors.KafkaTimeoutError if IS_V3 else kafka.errors.IncompatibleBrokerVersion
TLS_REFUSED = kafka.errors.KafkaTimeoutError if IS_V3 else ssl.SSLError
# A connection closed right after its TLS handshake (no principal for the
# client certificate): 2.x gives up finding a broker.
CLOSED_AFTER_TLS = kafka.errors.KafkaTimeoutError if IS_V3 else kafka.errors.NoBrokersAvailable
# Short: a refused login never succeeds later.
REFUSED_TIMEOUT_MS = 3000


def list_topics_quickly(bootstrap, **config):
    """Topic names through an admin client that gives up after REFUSED_TIMEOUT_MS."""
    if IS_V3:
        config.setdefault("bootstrap_timeout_ms", REFUSED_TIMEOUT_MS)
    else:
        config.setdefault("api_version_auto_timeout_ms", REFUSED_TIMEOUT_MS)
    client = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="strom-compat",
                              request_timeout_ms=REFUSED_TIMEOUT_MS, **config)
    try:
        return client.list_topics()
    finally:
        client.close()
