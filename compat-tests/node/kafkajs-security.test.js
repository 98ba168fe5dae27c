// kafkajs 2.2.4 over SASL_SSL with SCRAM-SHA-512 (its SaslAuthenticate v0-1
// path): produce, then read the offsets back; a wrong password is refused with
// Kafka's message. Listeners, certificates and users: compat-tests/lib/security.py.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { Kafka, logLevel } = require('kafkajs');

const address = process.env.STROM_SASL_SSL_BOOTSTRAP;
const skip = address ? false : 'broker without secured listeners';
const unique = (prefix) => `${prefix}-${Math.random().toString(16).slice(2, 10)}`;

function client(username, password) {
  return new Kafka({
    clientId: 'strom-compat-node',
    brokers: [address],
    ssl: { ca: [fs.readFileSync(process.env.STROM_CA_FILE, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username, password },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
}

test('SASL_SSL SCRAM-SHA-512: produce and read the offsets back', { skip }, async () => {
  const kafka = client('strom', process.env.STROM_SASL_STROM_PASSWORD);
  const topic = unique('kjs-sasl');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    const [meta] = await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();
    assert.equal(meta.baseOffset, '0');
    const [offsets] = await admin.fetchTopicOffsets(topic);
    assert.equal(offsets.high, '2');
  } finally {
    await admin.disconnect();
  }
});

test('SASL_SSL: a wrong password is refused', { skip }, async () => {
  const admin = client('alice', 'not-her-password').admin();
  await assert.rejects(admin.connect(), (e) => {
    assert.equal(e.name, 'KafkaJSSASLAuthenticationError');
    assert.match(e.message, /Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/);
    return true;
  });
});
