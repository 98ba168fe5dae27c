// kafkajs 2.2.4 transactions against strom: a commit makes every record of
// the transaction visible at once, an abort hides them from read_committed
// consumers (read_uncommitted ones see them), a second producer with the same
// transactional id fences the first, and a consume-transform-produce loop
// (sendOffsets) delivers each input exactly once across a kill -9 of itself
// (a child node process) in the middle of a transaction.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { Kafka, logLevel } = require('kafkajs');

const bootstrap = process.env.STROM_BOOTSTRAP;
if (!bootstrap) throw new Error('STROM_BOOTSTRAP is not set: run through compat-tests/run.sh');

const SESSION_TIMEOUT_MS = 6000; // the broker's group.min.session.timeout.ms
const WAIT_MS = 40000;
const kafka = new Kafka({ clientId: 'strom-compat-node', brokers: [bootstrap], logLevel: logLevel.NOTHING });
const unique = (prefix) => `${prefix}-${Math.random().toString(16).slice(2, 10)}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sorted = (list) => [...list].sort();

let admin;
before(async () => {
  admin = kafka.admin();
  await admin.connect();
});
after(async () => admin.disconnect());

async function createTopic(topic, numPartitions) {
  await admin.createTopics({ topics: [{ topic, numPartitions }] });
}

async function txnProducer(transactionalId) {
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 10000 });
  await producer.connect();
  return producer;
}

/**
 * Every value of `topics` from the start (kafkajs reads only through groups:
 * a fresh one): until `expect` values arrived, then a second more to catch
 * extras; with expect 0, until nothing arrived for a second.
 */
async function readAll(topics, readUncommitted, expect) {
  const consumer = kafka.consumer({ groupId: unique('kjs-reader'), readUncommitted, maxWaitTimeInMs: 100, sessionTimeout: SESSION_TIMEOUT_MS });
  const values = [];
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; last = Date.now(); });
  await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value.toString()); last = Date.now(); } });
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline && !(joined && values.length >= expect && Date.now() - last > 1000)) await sleep(50);
  await consumer.disconnect();
  return values;
}

test('a commit makes every record of the transaction visible at once', async () => {
  const a = unique('kjs-txn-a');
  const b = unique('kjs-txn-b');
  await createTopic(a, 2);
  await createTopic(b, 1);
  const producer = await txnProducer(unique('kjs-txn'));
  const txn = await producer.transaction();
  const expected = [];
  for (let i = 0; i < 6; i++) {
    await txn.send({ topic: a, messages: [{ value: `a${i}`, partition: i % 2 }] });
    await txn.send({ topic: b, messages: [{ value: `b${i}` }] });
    expected.push(`a${i}`, `b${i}`);
  }
  assert.deepEqual(await readAll([a, b], false, 0), [], 'nothing before the commit');
  assert.equal((await readAll([a, b], true, 12)).length, 12);
  await txn.commit();
  assert.deepEqual(sorted(await readAll([a, b], false, 12)), sorted(expected));
  await producer.disconnect();
});

test('an abort hides the records from read_committed only', async () => {
  const topic = unique('kjs-txn-abort');
  await createTopic(topic, 1);
  const producer = await txnProducer(unique('kjs-txn'));
  let txn = await producer.transaction();
  await txn.send({ topic, messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
  await txn.abort();
  txn = await producer.transaction();
  await txn.send({ topic, messages: [{ value: 'committed' }] });
  await txn.commit();
  assert.deepEqual(await readAll([topic], false, 1), ['committed']);
  assert.deepEqual(await readAll([topic], true, 3), ['aborted-1', 'aborted-2', 'committed']);
  await producer.disconnect();
});

test('a second producer with the same transactional id fences the first', async () => {
  const topic = unique('kjs-txn-fence');
  await createTopic(topic, 1);
  const transactionalId = unique('kjs-txn');
  const first = await txnProducer(transactionalId);
  const txn = await first.transaction();
  await txn.send({ topic, messages: [{ value: 'zombie' }] });
  const second = await txnProducer(transactionalId);
  // kafkajs initializes the transactional id with its first transaction: that
  // InitProducerId bumps the epoch and aborts the first one's transaction.
  const winner = await second.transaction();
  // kafkajs sends EndTxn v1, where Kafka answers PRODUCER_FENCED as INVALID_PRODUCER_EPOCH.
  await assert.rejects(txn.commit(), (e) => e.type === 'INVALID_PRODUCER_EPOCH');
  await winner.send({ topic, messages: [{ value: 'winner' }] });
  await winner.commit();
  assert.deepEqual(await readAll([topic], false, 1), ['winner']);
  await second.disconnect();
  await first.disconnect();
});

// The consume-transform-produce application, run in a child node process so
// it can be killed: reads the input in its group, writes each value
// upper-cased to the output and sends the consumed offsets to the same
// transaction, five records per transaction, printing "txn N" after each
// commit; transaction STALL_AT, once its records are written, prints "open N"
// and stalls.
const APP = `
const { Kafka, logLevel } = require('kafkajs');
const [bootstrap, input, output, groupId, transactionalId, stallAt] = process.argv.slice(1);
const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 10000 });
const consumer = kafka.consumer({ groupId, sessionTimeout: ${SESSION_TIMEOUT_MS}, heartbeatInterval: 1000, maxWaitTimeInMs: 100 });
let committed = 0;
(async () => {
  await producer.connect(); // fences an earlier instance and aborts its open transaction
  await consumer.connect();
  await consumer.subscribe({ topics: [input], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      for (let i = 0; i < batch.messages.length; i += 5) {
        const chunk = batch.messages.slice(i, i + 5);
        const txn = await producer.transaction();
        await txn.send({ topic: output, messages: chunk.map((m) => ({ value: m.value.toString().toUpperCase(), partition: batch.partition })) });
        if (committed + 1 === Number(stallAt)) {
          console.log('open ' + stallAt);
          await new Promise((resolve) => setTimeout(resolve, 60000));
        }
        const next = String(Number(chunk[chunk.length - 1].offset) + 1);
        await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
        await txn.commit();
        resolveOffset(chunk[chunk.length - 1].offset);
        committed += 1;
        console.log('txn ' + committed);
        await heartbeat();
      }
    },
  });
})();
`;

test('consume-transform-produce is exactly once across a kill of the application', async () => {
  const input = unique('kjs-txn-in');
  const output = unique('kjs-txn-out');
  await createTopic(input, 2);
  await createTopic(output, 2);
  const inputs = Array.from({ length: 120 }, (_, i) => `record-${String(i).padStart(3, '0')}`);
  const plain = kafka.producer();
  await plain.connect();
  await plain.send({ topic: input, messages: inputs.map((value, i) => ({ value, partition: i % 2 })) });
  await plain.disconnect();
  const group = `${input}-g`;
  const transactionalId = `${input}-txn`;
  const start = (stallAt) => {
    const child = spawn(process.execPath, ['-e', APP, bootstrap, input, output, group, transactionalId, String(stallAt)], { cwd: __dirname, stdio: ['ignore', 'pipe', 'inherit'] });
    child.output = '';
    child.stdout.on('data', (d) => { child.output += d; });
    return child;
  };
  // Killed in its 5th transaction, after 4 committed ones, with that one's records written.
  let app = start(5);
  try {
    const deadline = Date.now() + WAIT_MS;
    while (!app.output.includes('open 5')) {
      assert.ok(Date.now() < deadline, `the application made no progress: ${app.output}`);
      await sleep(20);
    }
    app.kill('SIGKILL');
    assert.deepEqual(app.output.split('\n').filter((l) => l.startsWith('txn ')), ['txn 1', 'txn 2', 'txn 3', 'txn 4']);
    app = start(0);
    const values = await readAll([output], false, inputs.length);
    assert.deepEqual(sorted(values), sorted(inputs.map((v) => v.toUpperCase())), 'each input exactly once');
    const everything = await readAll([output], true, inputs.length + 1);
    assert.ok(everything.length > inputs.length, `the killed transaction's records are in the log, aborted: ${everything.length}`);
  } finally {
    app.kill('SIGKILL');
  }
});
