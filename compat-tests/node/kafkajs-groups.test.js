// kafkajs 2.2.4 consumer groups against strom (kafkajs consumes only through
// groups): every record back in order, seed 004's experiments, a member
// killed with SIGKILL (a child node process), the admin client's group calls,
// and records and committed offsets across a broker crash (STROM_CONTROL).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { spawn } = require('node:child_process');
const { Kafka, logLevel } = require('kafkajs');

const bootstrap = process.env.STROM_BOOTSTRAP;
if (!bootstrap) throw new Error('STROM_BOOTSTRAP is not set: run through compat-tests/run.sh');

const SESSION_TIMEOUT_MS = 6000; // the broker's group.min.session.timeout.ms
const WAIT_MS = 30000;
const kafka = new Kafka({ clientId: 'strom-compat-node', brokers: [bootstrap], logLevel: logLevel.NOTHING });
const unique = (prefix) => `${prefix}-${Math.random().toString(16).slice(2, 10)}`;
const values = (n, prefix) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sorted = (list) => [...list].sort();

async function waitFor(condition, what, limitMs = WAIT_MS) {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

let admin;
before(async () => {
  admin = kafka.admin();
  await admin.connect();
});
after(async () => admin.disconnect());

async function createTopic(topic, numPartitions) {
  await admin.createTopics({ topics: [{ topic, numPartitions }] });
}

async function produce(topic, list, partition = () => 0, key = () => null) {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: list.map((value, i) => ({ value, partition: partition(i), key: key(i) })) });
  await producer.disconnect();
}

/** One group member: kafkajs runs its own fetch loop; received records and the assignment are kept. */
async function member(topic, groupId, extra = {}) {
  // A short long-poll: disconnect() waits for the Fetch in flight (kafkajs's default wait is 5 s).
  const consumer = kafka.consumer({ groupId, sessionTimeout: SESSION_TIMEOUT_MS, heartbeatInterval: 1000, maxWaitTimeInMs: 200, ...extra });
  const m = { consumer, records: [], partitions: [] };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    m.partitions = e.payload.memberAssignment[topic] || [];
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      m.records.push({ partition, offset: Number(message.offset), value: message.value.toString() });
    },
  });
  m.commit = async () => {
    const latest = {};
    for (const r of m.records) latest[r.partition] = Math.max(latest[r.partition] ?? -1, r.offset);
    const topics = [{ topic, partitions: Object.entries(latest).map(([p, o]) => ({ partition: Number(p), offset: String(o + 1) })) }];
    if (topics[0].partitions.length) await consumer.commitOffsets(topics.flatMap((t) => t.partitions.map((p) => ({ topic, ...p }))));
  };
  m.values = () => m.records.map((r) => r.value);
  m.close = () => consumer.disconnect();
  return m;
}

const allValues = (members) => sorted(members.flatMap((m) => m.values()));

test('every record comes back in order by partition, from the earliest offset', async () => {
  const topic = unique('kjs-consume');
  await createTopic(topic, 2);
  await produce(topic, values(100, 'r'), (i) => i % 2);
  const m = await member(topic, `${topic}-g`);
  await waitFor(() => m.records.length >= 100, '100 records');
  await m.close();
  for (const p of [0, 1]) {
    const offsets = m.records.filter((r) => r.partition === p).map((r) => r.offset);
    assert.deepEqual(offsets, Array.from({ length: 50 }, (_, i) => i));
  }
  assert.deepEqual(sorted(m.values()), sorted(values(100, 'r')));
});

test('records sent while the consumer is offline arrive when it returns', async () => {
  const topic = unique('kjs-offline');
  const group = `${topic}-g`;
  await produce(topic, values(5, 'before'));
  let m = await member(topic, group);
  await waitFor(() => m.records.length >= 5, '5 records');
  await m.commit();
  await m.close();
  await produce(topic, values(7, 'offline'));
  m = await member(topic, group);
  await waitFor(() => m.records.length >= 7, '7 records');
  await sleep(300);
  await m.close();
  assert.deepEqual(m.values(), values(7, 'offline'));
});

test('records of one key arrive in order', async () => {
  const topic = unique('kjs-keys');
  await createTopic(topic, 3);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 120 }, (_, i) => ({ key: `user-${i % 6}`, value: String(i) })) });
  await producer.disconnect();
  const m = await member(topic, `${topic}-g`);
  await waitFor(() => m.records.length >= 120, '120 records');
  await m.close();
  const last = {};
  for (const v of m.values().map(Number)) {
    assert.ok((last[v % 6] ?? -1) < v, `key ${v % 6}: ${v} after ${last[v % 6]}`);
    last[v % 6] = v;
  }
  assert.equal(Object.keys(last).length, 6);
});

test('three members share three partitions and take over from a leaver', async () => {
  const topic = unique('kjs-share');
  const group = `${topic}-g`;
  await createTopic(topic, 3);
  const members = [];
  for (let i = 0; i < 3; i++) members.push(await member(topic, group));
  await waitFor(() => sorted(members.map((m) => m.partitions.length)).join() === '1,1,1', 'one partition each');
  await produce(topic, values(90, 'a'), (i) => i % 3);
  await waitFor(() => allValues(members).length >= 90, '90 records');
  await sleep(300);
  for (const m of members) {
    assert.equal(m.records.length, 30, 'every record exactly once');
    assert.deepEqual([...new Set(m.records.map((r) => r.partition))], m.partitions);
    await m.commit();
  }
  await members[0].close();
  const rest = members.slice(1);
  await waitFor(() => sorted(rest.map((m) => m.partitions.length)).join() === '1,2', 'the survivors sharing three partitions');
  const before = rest.flatMap((m) => m.values());
  await produce(topic, values(60, 'b'), (i) => i % 3);
  const want = sorted([...before, ...values(60, 'b')]);
  await waitFor(() => allValues(rest).join() === want.join(), 'the 60 new records, each once');
  for (const m of rest) await m.close();
});

const CHILD = `
const { Kafka, logLevel } = require('kafkajs');
const [bootstrap, topic, groupId] = process.argv.slice(1);
const consumer = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING })
  .consumer({ groupId, sessionTimeout: ${SESSION_TIMEOUT_MS}, heartbeatInterval: 1000 });
consumer.on(consumer.events.GROUP_JOIN, (e) => console.log('assigned ' + (e.payload.memberAssignment[topic] || []).length));
(async () => {
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ eachMessage: async () => {} });
})();
`;

test('a killed member is replaced after its session timeout', async () => {
  const topic = unique('kjs-kill');
  const group = `${topic}-g`;
  await createTopic(topic, 2);
  const child = spawn(process.execPath, ['-e', CHILD, bootstrap, topic, group], { cwd: __dirname, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    await waitFor(() => output.includes('assigned 2'), 'the child owning both partitions');
    const survivor = await member(topic, group);
    await waitFor(() => survivor.partitions.length === 1, 'the survivor joining');
    child.kill('SIGKILL'); // no LeaveGroup
    const killed = Date.now();
    await waitFor(() => survivor.partitions.length === 2, 'the survivor taking over', SESSION_TIMEOUT_MS + 20000);
    assert.ok(Date.now() - killed >= SESSION_TIMEOUT_MS - 1500, 'taken over only after the session timeout');
    await produce(topic, values(40, 'v'), (i) => i % 2);
    await waitFor(() => allValues([survivor]).join() === sorted(values(40, 'v')).join(), 'all 40 records');
    await survivor.close();
  } finally {
    child.kill('SIGKILL');
  }
});

test('a restarted consumer continues after its last commit', async () => {
  const topic = unique('kjs-resume');
  const group = `${topic}-g`;
  await produce(topic, values(10, 'old'));
  let m = await member(topic, group);
  await waitFor(() => m.records.length >= 10, '10 records');
  await m.commit();
  await m.close();
  await produce(topic, values(3, 'new'));
  m = await member(topic, group);
  await waitFor(() => m.records.length >= 3, '3 records');
  await sleep(300);
  await m.close();
  assert.deepEqual(m.values(), values(3, 'new'));
});

test('two groups each receive every record', async () => {
  const topic = unique('kjs-fanout');
  await createTopic(topic, 2);
  await produce(topic, values(50, 'f'), (i) => i % 2);
  const a = await member(topic, `${topic}-a`);
  const b = await member(topic, `${topic}-b`);
  await waitFor(() => a.records.length >= 50 && b.records.length >= 50, 'both groups');
  await a.close();
  await b.close();
  assert.deepEqual(allValues([a]), sorted(values(50, 'f')));
  assert.deepEqual(allValues([b]), sorted(values(50, 'f')));
});

test('the admin client lists, describes, resets and deletes groups', async () => {
  const topic = unique('kjs-admin-groups');
  const group = `${topic}-g`;
  await produce(topic, values(4, 'x'));
  const m = await member(topic, group);
  await waitFor(() => m.records.length >= 4, '4 records');
  await m.commit();
  const { groups } = await admin.listGroups();
  assert.ok(groups.some((g) => g.groupId === group && g.protocolType === 'consumer'));
  const { groups: [described] } = await admin.describeGroups([group]);
  assert.equal(described.state, 'Stable');
  assert.equal(described.members.length, 1);
  await m.close();
  const [fetched] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  assert.deepEqual(fetched.partitions.map((p) => [p.partition, p.offset]), [[0, '4']]);
  await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '1' }] });
  const [reset] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  assert.equal(reset.partitions[0].offset, '1');
  await admin.deleteGroups([group]);
  assert.ok(!(await admin.listGroups()).groups.some((g) => g.groupId === group));
});

/** Asks the harness to kill -9 the broker and start it again on the same data. */
function restartBroker() {
  const [host, port] = (process.env.STROM_CONTROL || '').split(':');
  if (!port) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), host, () => socket.write('kill\n'));
    let answer = '';
    socket.on('data', (d) => { answer += d; });
    socket.on('end', () => (answer.trim() === 'ok' ? resolve(true) : reject(new Error(`restart: ${answer}`))));
    socket.on('error', reject);
  });
}

test('records and committed offsets survive a broker crash', async (t) => {
  const topic = unique('kjs-crash');
  const group = `${topic}-g`;
  await produce(topic, values(6, 'c'));
  let m = await member(topic, group);
  await waitFor(() => m.records.length >= 6, '6 records');
  await m.commit();
  await m.close();
  if (!(await restartBroker())) return t.skip('STROM_CONTROL is not set');
  await produce(topic, values(2, 'after'));
  m = await member(topic, group);
  await waitFor(() => m.records.length >= 2, 'the 2 new records', 40000);
  await sleep(300);
  await m.close();
  assert.deepEqual(m.values(), values(2, 'after'));
  const fresh = await member(topic, `${topic}-fresh`);
  await waitFor(() => fresh.records.length >= 8, 'all 8 records from the start');
  await fresh.close();
  assert.deepEqual(fresh.values(), [...values(6, 'c'), ...values(2, 'after')]);
});

test('acks 0: records arrive though the producer waits for no answer', async () => {
  const topic = unique('kjs-acks0');
  await createTopic(topic, 1);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: 0, messages: values(10, 'z').map((value) => ({ value, partition: 0 })) });
  await producer.disconnect();
  await waitFor(async () => (await admin.fetchTopicOffsets(topic))[0].high === '10', 'the 10 records in the log');
  const m = await member(topic, `${topic}-g`);
  await waitFor(() => m.records.length >= 10, '10 records');
  await m.close();
  assert.deepEqual(m.values(), values(10, 'z'));
});

test('a new group that does not start from the beginning reads only new records', async () => {
  const topic = unique('kjs-latest');
  await createTopic(topic, 1);
  await produce(topic, values(5, 'old'));
  const consumer = kafka.consumer({ groupId: `${topic}-g`, maxWaitTimeInMs: 200 });
  const got = [];
  let assigned = false;
  consumer.on(consumer.events.GROUP_JOIN, () => { assigned = true; });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  await consumer.run({ eachMessage: async ({ message }) => { got.push(`${message.offset}:${message.value}`); } });
  await waitFor(() => assigned, 'the consumer joining');
  await sleep(1000); // it resolves the latest offset before anything new is written
  await produce(topic, values(2, 'new'));
  await waitFor(() => got.length >= 2, 'the 2 new records');
  await consumer.disconnect();
  assert.deepEqual(got, ['5:new-0', '6:new-1']);
});
