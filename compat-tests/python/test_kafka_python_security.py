"""kafka-python over SSL, SASL_PLAINTEXT and SASL_SSL (2.3.x and 3.0.x).

Every mechanism on both SASL listeners and mutual TLS produce and consume;
wrong passwords, unknown users, untrusted client certificates and a server
certificate the client does not trust are refused before any data flows.
The broker's listeners, certificates and users come from lib/security.py.
"""

import os
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

import kp



@pytest.fixture(autouse=True)
def secured_listeners(broker):
    """The broker fixture exports the secured listeners; an outside broker may have none."""
    if not os.environ.get("STROM_SASL_SSL_BOOTSTRAP"):
        pytest.skip("broker without secured listeners")


def env(name):
    return os.environ[name]


def client_config(protocol, mechanism=None, user="strom", password=None, ca="STROM_CA_FILE", cert=None):
    config = {"security_protocol": protocol}
    if mechanism:
        config.update(sasl_mechanism=mechanism, sasl_plain_username=user,
                      sasl_plain_password=password or env("STROM_SASL_%s_PASSWORD" % user.upper()))
    if "SSL" in protocol:
        config["ssl_cafile"] = env(ca)
        if cert:
            config.update(ssl_certfile=env("STROM_%s_CERT_FILE" % cert), ssl_keyfile=env("STROM_%s_KEY_FILE" % cert))
    return config


def bootstrap_of(protocol):
    return env("STROM_%s_BOOTSTRAP" % protocol)


def produce_and_consume(protocol, topic, **config):
    bootstrap = bootstrap_of(protocol)
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="strom-compat", enable_idempotence=False,
                             request_timeout_ms=kp.REQUEST_TIMEOUT_MS, max_block_ms=kp.REQUEST_TIMEOUT_MS, **config)
    # The large record makes the broker send the fetched records from their
    # file (read and encrypted on TLS listeners, sendfile on plain ones).
    values = [b"secured-%d" % i for i in range(3)] + [b"large-" + os.urandom(100_000)]
    futures = [producer.send(topic, value=v, partition=0) for v in values]
    producer.flush()
    assert [f.get(timeout=10).offset for f in futures] == list(range(len(values)))
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="strom-compat", group_id=None,
                             enable_auto_commit=False, request_timeout_ms=kp.REQUEST_TIMEOUT_MS + 1000, **config)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    records = []
    deadline = time.monotonic() + 15
    while len(records) < len(values) and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
    consumer.close()
    assert [r.value for r in records] == values


@pytest.mark.parametrize("protocol,mechanism", [
    ("SASL_PLAINTEXT", "PLAIN"),
    ("SASL_PLAINTEXT", "SCRAM-SHA-256"),
    ("SASL_PLAINTEXT", "SCRAM-SHA-512"),
    ("SASL_SSL", "PLAIN"),
    ("SASL_SSL", "SCRAM-SHA-256"),
    ("SASL_SSL", "SCRAM-SHA-512"),
])
def test_sasl_produce_and_consume(topic_name, protocol, mechanism):
    produce_and_consume(protocol, topic_name, **client_config(protocol, mechanism))


def test_mutual_tls_produce_and_consume(topic_name):
    # The client certificate's subject is a super user in the test broker.
    produce_and_consume("SSL", topic_name, **client_config("SSL", cert="CLIENT"))


def refused(protocol, broker, error, log_reason, **config):
    """The client cannot connect at all, and strom's log says why."""
    with pytest.raises(error):
        kp.list_topics_quickly(bootstrap_of(protocol), **config)
    if broker is not None and not broker.is_reference and log_reason:
        assert broker.log_shows(log_reason), "broker log lacks %r" % log_reason


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_wrong_password_is_refused(broker, mechanism):
    refused("SASL_SSL", broker, kp.AUTH_REFUSED, 'listener=SASL_SSL reason="wrong password for user \\"alice\\""',
            **client_config("SASL_SSL", mechanism, user="alice", password="not-her-password"))


def test_unknown_user_is_refused(broker):
    refused("SASL_PLAINTEXT", broker, kp.AUTH_REFUSED, 'reason="unknown user \\"mallory\\""',
            **client_config("SASL_PLAINTEXT", "SCRAM-SHA-256", user="mallory", password="x"))


def test_untrusted_client_certificate_is_refused(broker):
    refused("SSL", broker, kp.TLS_REFUSED, "invalid peer certificate: UnknownIssuer", **client_config("SSL", cert="UNTRUSTED"))


def test_client_refuses_a_server_it_does_not_trust(broker):
    # The client hangs up; whether it sends a TLS alert first depends on its version.
    refused("SSL", broker, kp.TLS_REFUSED, None, **client_config("SSL", ca="STROM_UNTRUSTED_CA_FILE"))
