"""confluent-kafka (librdkafka) over SASL_SSL and SSL.

SCRAM-SHA-512 and PLAIN over SASL_SSL, SCRAM-SHA-256 over SASL_PLAINTEXT and
mutual TLS produce and consume; a wrong password is refused with librdkafka's
authentication error carrying Kafka's message. Listeners, certificates and
users come from lib/security.py.
"""

import os
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

TIMEOUT_S = 15


@pytest.fixture(autouse=True)
def secured_listeners(broker):
    if not os.environ.get("STROM_SASL_SSL_BOOTSTRAP"):
        pytest.skip("broker without secured listeners")


def config(protocol, mechanism=None, user="strom", password=None, cert=False):
    conf = {"bootstrap.servers": os.environ["STROM_%s_BOOTSTRAP" % protocol], "security.protocol": protocol,
            "client.id": "strom-compat"}
    if mechanism:
        conf.update({"sasl.mechanism": mechanism, "sasl.username": user,
                     "sasl.password": password or os.environ["STROM_SASL_%s_PASSWORD" % user.upper()]})
    if "SSL" in protocol:
        conf["ssl.ca.location"] = os.environ["STROM_CA_FILE"]
        if cert:
            conf.update({"ssl.certificate.location": os.environ["STROM_CLIENT_CERT_FILE"],
                         "ssl.key.location": os.environ["STROM_CLIENT_KEY_FILE"]})
    return conf


def produce_and_consume(topic, conf):
    producer = Producer({**conf, "linger.ms": 5})
    delivered = []
    values = [b"secured-%d" % i for i in range(3)]
    for v in values:
        producer.produce(topic, value=v, partition=0, on_delivery=lambda err, msg: delivered.append((err, msg)))
    assert producer.flush(TIMEOUT_S) == 0, "undelivered records"
    assert [(err, msg.offset()) for err, msg in delivered] == [(None, 0), (None, 1), (None, 2)]
    consumer = Consumer({**conf, "group.id": "strom-compat-unused", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    records = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(records) < len(values) and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            records.append(msg.value())
    consumer.close()
    assert records == values


@pytest.mark.parametrize("protocol,mechanism", [
    ("SASL_SSL", "SCRAM-SHA-512"),
    ("SASL_SSL", "PLAIN"),
    ("SASL_PLAINTEXT", "SCRAM-SHA-256"),
])
def test_sasl_produce_and_consume(topic_name, protocol, mechanism):
    produce_and_consume(topic_name, config(protocol, mechanism))


def test_mutual_tls_produce_and_consume(topic_name):
    produce_and_consume(topic_name, config("SSL", cert=True))


def test_wrong_password_is_refused():
    errors = []
    conf = config("SASL_SSL", "SCRAM-SHA-512", user="alice", password="not-her-password")
    admin = AdminClient({**conf, "error_cb": errors.append})
    with pytest.raises(Exception):
        admin.list_topics(timeout=5)
    admin.poll(1)  # error_cb runs from poll
    auth = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
    assert auth, errors
    assert ("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
            in auth[0].str()), auth[0].str()
