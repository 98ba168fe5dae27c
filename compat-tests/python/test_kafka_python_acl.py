"""kafka-python and ACLs (2.3.x and 3.0.x).

A SASL user without ACLs is refused what it lacks and allowed what it is
granted, step by step, with the grants made through kafka-python's own
admin API (CreateAcls) by a super user; and `ssl_principal_mapping_rules`
turns a client certificate's subject into the principal the ACLs name.
"""

import os
import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern,
                         ResourcePatternFilter, ResourceType)
from kafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError

import kp
from strom import StromError, StromProcess
from test_kafka_python_security import client_config


@pytest.fixture(autouse=True)
def secured_listeners(broker):
    if not os.environ.get("STROM_SASL_PLAINTEXT_BOOTSTRAP"):
        pytest.skip("broker without secured listeners")


def grant(bootstrap, principal, operation, resource_type, name):
    """An ALLOW ACL, created by the PLAINTEXT client (a super user in the test brokers)."""
    client = kp.admin(bootstrap)
    try:
        acl = ACL(principal=principal, host="*", operation=operation, permission_type=ACLPermissionType.ALLOW,
                  resource_pattern=ResourcePattern(resource_type, name))
        result = client.create_acls([acl])
        assert not result["failed"], result
        # Kafka applies ACLs a moment after answering (strom at once): wait
        # until they are listed.
        wanted = ACLFilter(principal=principal, host="*", operation=operation, permission_type=ACLPermissionType.ALLOW,
                           resource_pattern=ResourcePatternFilter(resource_type, name, ACLResourcePatternType.LITERAL))
        deadline = time.monotonic() + 10
        while not client.describe_acls(wanted)[0]:
            assert time.monotonic() < deadline, "the ACL was never listed"
            time.sleep(0.1)
    finally:
        client.close()


def send(bootstrap, topic, values, **config):
    """Offsets of the values, or the client's error."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="strom-compat", enable_idempotence=False,
                             request_timeout_ms=kp.REQUEST_TIMEOUT_MS, max_block_ms=5000, retries=0, **config)
    try:
        futures = [producer.send(topic, value=v, partition=0) for v in values]
        producer.flush()
        return [f.get(timeout=10).offset for f in futures]
    finally:
        producer.close(timeout=2)


def consume_in_group(bootstrap, topic, group, count, **config):
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, client_id="strom-compat", group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             request_timeout_ms=kp.REQUEST_TIMEOUT_MS + 1000, **config)
    try:
        values = []
        deadline = time.monotonic() + 20
        while len(values) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                values.extend(r.value for r in batch)
        consumer.commit()
        return values
    finally:
        consumer.close()


def test_a_user_gets_exactly_what_its_acls_allow(bootstrap, topic_name):
    alice = client_config("SASL_PLAINTEXT", "SCRAM-SHA-256", user="alice")
    sasl = os.environ["STROM_SASL_PLAINTEXT_BOOTSTRAP"]
    admin = kp.admin(bootstrap)
    try:
        kp.create_topics(admin, {topic_name: (1, 1, {})})
    finally:
        admin.close()
    values = [b"granted-%d" % i for i in range(3)]
    # No ACL: the topic is not even described to alice.
    with pytest.raises(TopicAuthorizationFailedError):
        send(sasl, topic_name, values, **alice)
    grant(bootstrap, "User:alice", ACLOperation.WRITE, ResourceType.TOPIC, topic_name)
    assert send(sasl, topic_name, values, **alice) == [0, 1, 2]
    # Reading in a group needs READ on the topic and on the group.
    group = "acl-group-" + uuid.uuid4().hex[:8]
    grant(bootstrap, "User:alice", ACLOperation.READ, ResourceType.TOPIC, topic_name)
    with pytest.raises(GroupAuthorizationFailedError):
        consume_in_group(sasl, topic_name, group, len(values), **alice)
    grant(bootstrap, "User:alice", ACLOperation.READ, ResourceType.GROUP, group)
    assert consume_in_group(sasl, topic_name, group, len(values), **alice) == values
    # bob has none of this.
    with pytest.raises(TopicAuthorizationFailedError):
        send(sasl, topic_name, values, **client_config("SASL_PLAINTEXT", "SCRAM-SHA-512", user="bob"))


@pytest.fixture
def mapped_broker(broker):
    """A second broker whose rules name the test client certificate
    (CN=strom-client,O=Strom Test) by its CN alone; `rules` is set by the test."""
    started = []

    def start(rules):
        process = StromProcess(env={"STROM_SSL_PRINCIPAL_MAPPING_RULES": rules})
        try:
            process.start()
        except StromError as e:
            pytest.fail("cannot start strom: %s" % e)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def test_principal_mapping_rules_name_certificate_clients(mapped_broker, topic_name):
    # Lower-cased CN: "User:strom-client" is no super user (the subject as a
    # whole is), so only the ACLs granted below let it write.
    process = mapped_broker("RULE:^CN=([^,]+),O=Strom Test$/$1/L,DEFAULT")
    env = process.client_environment()
    ssl = dict(security_protocol="SSL", ssl_cafile=env["STROM_CA_FILE"], ssl_certfile=env["STROM_CLIENT_CERT_FILE"],
               ssl_keyfile=env["STROM_CLIENT_KEY_FILE"])
    admin = kp.admin(process.bootstrap)
    try:
        kp.create_topics(admin, {topic_name: (1, 1, {})})
    finally:
        admin.close()
    with pytest.raises(TopicAuthorizationFailedError):
        send(env["STROM_SSL_BOOTSTRAP"], topic_name, [b"x"], **ssl)
    grant(process.bootstrap, "User:strom-client", ACLOperation.WRITE, ResourceType.TOPIC, topic_name)
    assert send(env["STROM_SSL_BOOTSTRAP"], topic_name, [b"x", b"y"], **ssl) == [0, 1]


def test_a_subject_no_rule_matches_is_refused(mapped_broker):
    process = mapped_broker("RULE:^CN=nobody$/nobody/")
    env = process.client_environment()
    ssl = dict(security_protocol="SSL", ssl_cafile=env["STROM_CA_FILE"], ssl_certfile=env["STROM_CLIENT_CERT_FILE"],
               ssl_keyfile=env["STROM_CLIENT_KEY_FILE"])
    with pytest.raises(kp.CLOSED_AFTER_TLS):
        kp.list_topics_quickly(env["STROM_SSL_BOOTSTRAP"], **ssl)
    assert process.log_shows("no ssl_principal_mapping_rules rule applies to the certificate subject")
