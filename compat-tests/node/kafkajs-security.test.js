// kafkajs 2.2.4 on the harness broker's SSL, SASL_PLAINTEXT and SASL_SSL
// listeners (compat-tests/lib/security.py): produce and consume with every
// mechanism and with and without a client certificate; bad credentials, a
// server the client does not trust and an untrusted client certificate are
// refused; a principal without ACLs (alice) is refused each operation until
// admin.createAcls grants it. Users: strom (a super user), alice, bob.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const {
  Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes, ConfigResourceTypes,
} = require('kafkajs');

const env = process.env;
const skip = env.STROM_SASL_SSL_BOOTSTRAP ? false : 'broker without secured listeners';
const unique = (prefix) => `${prefix}-${Math.random().toString(16).slice(2, 10)}`;
const read = (name) => fs.readFileSync(env[name], 'utf8');
const WAIT_MS = 15000;

/**
 * A client of one listener; cert names the client certificate (CLIENT or
 * UNTRUSTED). With logs (an array), kafkajs's debug log entries land there.
 * Retries (kafkajs's own backoff) cover what a real Kafka does
 * asynchronously, such as a new topic's leader; refusals are not retried.
 */
function client({ protocol, mechanism, user = 'strom', password, ca = 'STROM_CA_FILE', cert, logs, retries = 3 }) {
  const config = {
    clientId: 'strom-compat-node',
    brokers: [env[`STROM_${protocol}_BOOTSTRAP`]],
    logLevel: logs ? logLevel.DEBUG : logLevel.NOTHING,
    logCreator: () => ({ log }) => logs && logs.push(log),
    retry: { retries },
    connectionTimeout: 5000,
  };
  if (protocol.endsWith('SSL')) {
    config.ssl = { ca: [read(ca)] };
    if (cert) Object.assign(config.ssl, { cert: read(`STROM_${cert}_CERT_FILE`), key: read(`STROM_${cert}_KEY_FILE`) });
  }
  if (mechanism) {
    config.sasl = {
      mechanism: mechanism.toLowerCase(), username: user,
      password: password || env[`STROM_SASL_${user.toUpperCase()}_PASSWORD`],
    };
  }
  return new Kafka(config);
}

// kafkajs's retrier wraps what failed (KafkaJSNonRetriableError,
// KafkaJSNumberOfRetriesExceeded, even with retries: 0) and keeps it as cause.
const rootCause = (e) => (e.cause && e.cause !== e ? rootCause(e.cause) : e);

/** Connects, runs body and disconnects, also when connect() fails (an idempotent producer's fails on InitProducerId). */
async function using(resource, body) {
  try {
    await resource.connect();
    return await body(resource);
  } finally {
    await resource.disconnect();
  }
}

const produce = (kafka, topic, value, options = {}) =>
  using(kafka.producer(options), (p) => p.send({ topic, messages: [{ value, partition: 0 }] }));

/** Values the group's consumer receives (count of them, then it stops); rejects with the error it crashes with. */
async function consume(kafka, topic, groupId, count) {
  // A short long-poll: disconnect() waits for the Fetch in flight.
  // A crash is final: no restart after a refusal.
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, retry: { restartOnFailure: async () => false } });
  const received = [];
  return using(consumer, async () => {
    const crashed = new Promise((_, reject) => consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error)));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let done;
    const finished = new Promise((resolve) => { done = resolve; });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push(message.value.toString());
        if (received.length === count) done(received);
      },
    });
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`no ${count} records in ${WAIT_MS} ms`)), WAIT_MS).unref());
    return Promise.race([finished, crashed, timeout]);
  });
}

const LISTENERS = [
  { protocol: 'SSL' }, { protocol: 'SSL', cert: 'CLIENT' },
  ...['SASL_PLAINTEXT', 'SASL_SSL'].flatMap((protocol) =>
    ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'].map((mechanism) => ({ protocol, mechanism }))),
];

for (const listener of LISTENERS) {
  const name = [listener.protocol, listener.mechanism, listener.cert && 'client certificate'].filter(Boolean).join(' ');
  // SSL without a certificate is User:ANONYMOUS, with the trusted one its
  // subject: super users in the harness, as is strom.
  test(`${name}: produce and consume`, { skip }, async () => {
    const kafka = client(listener);
    const topic = unique('kjs-secured');
    await using(kafka.admin(), (admin) => admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true }));
    const [meta] = await produce(kafka, topic, `over ${listener.protocol}`);
    assert.equal(meta.baseOffset, '0');
    assert.deepEqual(await consume(kafka, topic, unique('kjs-secured-group'), 1), [`over ${listener.protocol}`]);
  });
}

/** The error connecting an admin client fails with. */
async function refusal(listener) {
  const admin = client({ ...listener, retries: 0 }).admin();
  try {
    await admin.connect();
  } catch (e) {
    return rootCause(e);
  } finally {
    await admin.disconnect();
  }
  assert.fail('the connection was not refused');
}

for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']) {
  // Kafka's PLAIN server says what failed; every SCRAM failure gets one
  // message that does not tell an unknown user from a wrong password.
  const message = mechanism === 'PLAIN' ? 'Authentication failed: Invalid username or password'
    : `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`;
  for (const [protocol, user, password] of [['SASL_SSL', 'alice', 'not-her-password'], ['SASL_PLAINTEXT', 'mallory', 'whatever']]) {
    test(`${protocol} ${mechanism}: ${user} with a bad password is refused`, { skip }, async () => {
      const e = await refusal({ protocol, mechanism, user, password });
      assert.equal(e.name, 'KafkaJSSASLAuthenticationError');
      assert.ok(e.message.includes(message), e.message);
    });
  }
}

for (const [protocol, mechanism] of [['SSL'], ['SASL_SSL', 'SCRAM-SHA-256']]) {
  test(`${protocol}: the client refuses a server it does not trust`, { skip }, async () => {
    const e = await refusal({ protocol, mechanism, ca: 'STROM_UNTRUSTED_CA_FILE' });
    assert.equal(e.name, 'KafkaJSConnectionError');
    assert.equal(e.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
}

test('SSL: an untrusted client certificate is refused', { skip }, async () => {
  // Kafka's TLS stack (the JDK's) rejects it with a certificate_unknown alert.
  const e = await refusal({ protocol: 'SSL', cert: 'UNTRUSTED' });
  assert.equal(e.name, 'KafkaJSConnectionError');
  assert.match(e.message, /alert certificate unknown/);
});

const allow = (resourceType, resourceName, operation) => ({
  resourceType, resourceName, operation, resourcePatternType: ResourcePatternTypes.LITERAL,
  principal: 'User:alice', host: '*', permissionType: AclPermissionTypes.ALLOW,
});

test('ACLs: alice is refused each operation until they allow it', { skip }, async () => {
  const strom = client({ protocol: 'SASL_SSL', mechanism: 'SCRAM-SHA-512' });
  const alice = client({ protocol: 'SASL_PLAINTEXT', mechanism: 'SCRAM-SHA-256', user: 'alice' });
  const topic = unique('kjs-acl');
  const created = unique('kjs-acl-created');
  const groupId = unique('kjs-acl-group');
  await using(strom.admin(), async (admin) => {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await produce(strom, topic, 'first');
    // Kafka's broker applies ACLs from the metadata log shortly after
    // CreateAcls returns; DescribeAcls answers from the same authorizer.
    const described = async (acl) => (await admin.describeAcls(acl)).resources.length === 1;
    const grant = async (...acl) => {
      await admin.createAcls({ acl });
      const deadline = Date.now() + WAIT_MS;
      while (!(await Promise.all(acl.map(described))).every(Boolean)) {
        assert.ok(Date.now() < deadline, 'ACLs created but not described');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    // CreateTopics errors come as a KafkaJSAggregateError, one per topic.
    const refusedWith = async (type, action) => assert.rejects(action, (wrapped) => {
      const e = rootCause(wrapped);
      assert.deepEqual(e.errors ? e.errors.map((x) => x.type) : [e.type], [type], `${e.name}: ${e.message}`);
      return true;
    });
    const aliceAdmin = (body) => using(alice.admin(), body);

    // No ACLs: Metadata hides the topic, FindCoordinator refuses the group,
    // CreateTopics refuses the topic. (kafkajs subscribes through Metadata
    // before it looks for the coordinator: the group is asked about alone.)
    await refusedWith('TOPIC_AUTHORIZATION_FAILED', produce(alice, topic, 'x'));
    await refusedWith('TOPIC_AUTHORIZATION_FAILED', consume(alice, topic, groupId, 1));
    // kafkajs reports any FindCoordinator error as "coordinator not found"
    // and only logs the broker's answer. One retry: its first lookup after
    // connecting always fails, before it has fetched metadata.
    const logs = [];
    const logged = client({ protocol: 'SASL_PLAINTEXT', mechanism: 'SCRAM-SHA-256', user: 'alice', logs, retries: 1 });
    await assert.rejects(using(logged.admin(), (a) => a.describeGroups([groupId])),
      (e) => rootCause(e).name === 'KafkaJSGroupCoordinatorNotFound');
    const lookups = logs.filter((l) => l.message === 'Tried to find group coordinator' && l.groupId === groupId);
    assert.deepEqual(lookups.map((l) => l.error.type), ['GROUP_AUTHORIZATION_FAILED']);
    await refusedWith('TOPIC_AUTHORIZATION_FAILED', aliceAdmin((a) => a.createTopics({ topics: [{ topic: created }] })));

    // DESCRIBE only: Produce and JoinGroup themselves refuse. An idempotent
    // producer is refused its producer id first: that needs IDEMPOTENT_WRITE
    // on the cluster or WRITE on some topic (KIP-679).
    await grant(allow(AclResourceTypes.TOPIC, topic, AclOperationTypes.DESCRIBE),
      allow(AclResourceTypes.GROUP, groupId, AclOperationTypes.DESCRIBE));
    await refusedWith('TOPIC_AUTHORIZATION_FAILED', produce(alice, topic, 'x'));
    await refusedWith('CLUSTER_AUTHORIZATION_FAILED', produce(alice, topic, 'x', { idempotent: true, maxInFlightRequests: 1 }));
    await refusedWith('GROUP_AUTHORIZATION_FAILED', consume(alice, topic, groupId, 1));
    // READ on the group but not the topic: Fetch refuses.
    await grant(allow(AclResourceTypes.GROUP, groupId, AclOperationTypes.READ));
    await refusedWith('TOPIC_AUTHORIZATION_FAILED', consume(alice, topic, groupId, 1));

    await grant(allow(AclResourceTypes.TOPIC, topic, AclOperationTypes.WRITE),
      allow(AclResourceTypes.TOPIC, topic, AclOperationTypes.READ),
      allow(AclResourceTypes.TOPIC, created, AclOperationTypes.CREATE));
    const [meta] = await produce(alice, topic, 'granted');
    assert.equal(meta.baseOffset, '1');
    assert.deepEqual(await consume(alice, topic, groupId, 2), ['first', 'granted']);
    // CREATE does not imply DESCRIBE: kafkajs's wait for the new topic's
    // leaders (a Metadata request) would be refused.
    assert.equal(await aliceAdmin((a) => a.createTopics({ topics: [{ topic: created }], waitForLeaders: false })), true);
    assert.ok((await admin.listTopics()).includes(created));
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.deepEqual(offsets.partitions.map((p) => p.offset), ['2']);

    // The cluster: alice may neither list nor manage ACLs, nor read the
    // broker's configs (kafkajs has no SCRAM credential calls); strom
    // removes her ACLs.
    await refusedWith('CLUSTER_AUTHORIZATION_FAILED',
      aliceAdmin((a) => a.createAcls({ acl: [allow(AclResourceTypes.TOPIC, '*', AclOperationTypes.ALL)] })));
    await refusedWith('CLUSTER_AUTHORIZATION_FAILED', aliceAdmin((a) => a.describeAcls({
      resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY,
      operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
    })));
    await refusedWith('CLUSTER_AUTHORIZATION_FAILED', aliceAdmin((a) => a.describeConfigs({
      resources: [{ type: ConfigResourceTypes.BROKER, name: '1' }], includeSynonyms: false,
    })));
    const filter = (resourceType, resourceName) => ({
      resourceType, resourceName, resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:alice',
      host: '*', operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
    });
    const { filterResponses } = await admin.deleteAcls({
      filters: [filter(AclResourceTypes.TOPIC, topic), filter(AclResourceTypes.TOPIC, created), filter(AclResourceTypes.GROUP, groupId)],
    });
    assert.deepEqual(filterResponses.map((r) => [r.errorCode, r.matchingAcls.length]), [[0, 3], [0, 1], [0, 2]]);
  });
});
