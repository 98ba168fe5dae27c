// kafkajs 2.2.4 against strom, through node's own test runner. kafkajs only
// speaks non-flexible API versions (Metadata v6, Produce v7, CreateTopics v3...),
// so this suite checks that those old versions keep working. Its consumer
// needs consumer groups, so records are checked through ListOffsets here.
// Every expectation is what a single-node Apache Kafka (node id 1) answers.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes } = require('kafkajs');

const bootstrap = process.env.STROM_BOOTSTRAP;
if (!bootstrap) throw new Error('STROM_BOOTSTRAP is not set: run through compat-tests/run.sh');

const kafka = new Kafka({
  clientId: 'strom-compat-node',
  brokers: [bootstrap],
  logLevel: logLevel.NOTHING,
  retry: { retries: 3 },
});
const unique = (prefix) => `${prefix}-${Math.random().toString(16).slice(2, 10)}`;

let admin;
before(async () => {
  admin = kafka.admin();
  await admin.connect();
});
after(async () => admin.disconnect());

test('describe cluster: one broker, which is the controller', async () => {
  const cluster = await admin.describeCluster();
  assert.equal(cluster.brokers.length, 1);
  assert.equal(cluster.controller, 1);
  assert.equal(cluster.brokers[0].nodeId, 1);
  assert.ok(cluster.clusterId.length > 0);
});

test('create, list, describe and delete a topic', async () => {
  const topic = unique('kjs-admin');
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
  });
  assert.equal(created, true);
  assert.ok((await admin.listTopics()).includes(topic));
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  assert.deepEqual(topics[0].partitions.map((p) => p.partitionId).sort(), [0, 1, 2]);
  assert.ok(topics[0].partitions.every((p) => p.leader === 1));
  const configs = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
    includeSynonyms: false,
  });
  const retention = configs.resources[0].configEntries.find((e) => e.configName === 'retention.ms');
  assert.equal(retention.configValue, '3600000');
  await admin.deleteTopics({ topics: [topic] });
  assert.ok(!(await admin.listTopics()).includes(topic));
});

test('creating an existing topic answers false, as against Kafka', async () => {
  const topic = unique('kjs-exists');
  assert.equal(await admin.createTopics({ topics: [{ topic }] }), true);
  assert.equal(await admin.createTopics({ topics: [{ topic }] }), false);
});

test('create partitions grows a topic', async () => {
  const topic = unique('kjs-grow');
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  assert.equal(topics[0].partitions.length, 4);
});

for (const [name, acks, compression] of [
  ['acks all, uncompressed', -1, CompressionTypes.None],
  ['acks 1, gzip', 1, CompressionTypes.GZIP],
]) {
  test(`produce (${name}) and read the offsets back`, async () => {
    const topic = unique('kjs-produce');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    const base = 1_700_000_000_000;
    const messages = Array.from({ length: 20 }, (_, i) => ({ value: `v${i}`, partition: 0, timestamp: String(base + i * 1000) }));
    const [result] = await producer.send({ topic, acks, compression, messages });
    assert.equal(result.errorCode, 0);
    assert.equal(result.baseOffset, '0');
    await producer.disconnect();
    const [offsets] = await admin.fetchTopicOffsets(topic);
    assert.deepEqual([offsets.low, offsets.high], ['0', '20']);
    const [byTime] = await admin.fetchTopicOffsetsByTimestamp(topic, base + 5500);
    assert.equal(byTime.offset, '6');
  });
}

test('an idempotent producer writes once', async () => {
  const topic = unique('kjs-idempotent');
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < 5; i++) {
    await producer.send({ topic, messages: [{ value: `once-${i}`, partition: 0 }] });
  }
  await producer.disconnect();
  const [offsets] = await admin.fetchTopicOffsets(topic);
  assert.equal(offsets.high, '5');
});
