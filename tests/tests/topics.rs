//! Metadata, CreateTopics and DeleteTopics against a real broker, at the
//! versions real clients send, and topics surviving a restart.

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::time::{Duration, Instant};

use strom_tests::{KafkaConnection, StromProcess};

// Kafka error codes these tests expect.
const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const TOPIC_ALREADY_EXISTS: i16 = 36;
const INVALID_PARTITIONS: i16 = 37;
const INVALID_REPLICATION_FACTOR: i16 = 38;

/// Request versions one client family sends for these three APIs.
#[derive(Debug, Clone, Copy)]
struct Versions {
    client: &'static str,
    metadata: i16,
    create_topics: i16,
    delete_topics: i16,
}

/// kafkajs (no flexible versions) and Java 3.9 (the newest of each).
const CLIENT_VERSIONS: [Versions; 2] = [
    Versions {
        client: "kafkajs",
        metadata: 6,
        create_topics: 3,
        delete_topics: 3,
    },
    Versions {
        client: "java-3.9",
        metadata: 12,
        create_topics: 7,
        delete_topics: 6,
    },
];

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

fn create_topic(
    conn: &mut KafkaConnection,
    version: i16,
    name: &str,
    partitions: i32,
    replication_factor: i16,
) -> CreateTopicsResponse {
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(topic_name(name))
            .with_num_partitions(partitions)
            .with_replication_factor(replication_factor)]);
    let response = conn
        .send(&request, version)
        .unwrap_or_else(|e| panic!("CreateTopics v{version} {name}: {e:#}"));
    assert_eq!(
        response.topics.len(),
        1,
        "CreateTopics v{version} {name}: one result per topic"
    );
    assert_eq!(response.topics[0].name.0.as_str(), name);
    response
}

fn delete_topic(conn: &mut KafkaConnection, version: i16, name: &str) -> DeleteTopicsResponse {
    let mut request = DeleteTopicsRequest::default().with_timeout_ms(10_000);
    if version >= 6 {
        request.topics = vec![DeleteTopicState::default().with_name(Some(topic_name(name)))];
    } else {
        request.topic_names = vec![topic_name(name)];
    }
    let response = conn
        .send(&request, version)
        .unwrap_or_else(|e| panic!("DeleteTopics v{version} {name}: {e:#}"));
    assert_eq!(
        response.responses.len(),
        1,
        "DeleteTopics v{version} {name}: one result per topic"
    );
    response
}

/// Metadata for the named topics, never creating them.
fn metadata_for(conn: &mut KafkaConnection, version: i16, names: &[&str]) -> MetadataResponse {
    let topics = names
        .iter()
        .map(|n| MetadataRequestTopic::default().with_name(Some(topic_name(n))))
        .collect();
    let mut request = MetadataRequest::default().with_topics(Some(topics));
    if version >= 4 {
        request.allow_auto_topic_creation = false;
    }
    conn.send(&request, version)
        .unwrap_or_else(|e| panic!("Metadata v{version}: {e:#}"))
}

/// Polls `fetch` until `done` holds or 5 s pass, and returns the last value.
/// Kafka's brokers apply metadata changes asynchronously, so a created topic
/// may show up in Metadata a moment after CreateTopics returns (and a deleted
/// one linger); these tests allow that window so they hold against Kafka too.
fn eventually<T>(mut fetch: impl FnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let value = fetch();
        if done(&value) || Instant::now() >= deadline {
            return value;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn has_topic(response: &MetadataResponse, name: &str, partitions: usize) -> bool {
    response.topics.iter().any(|t| {
        t.name.as_ref().map(|n| n.0.as_str()) == Some(name)
            && t.error_code == NONE
            && t.partitions.len() == partitions
    })
}

/// Checks a healthy single-broker topic: every partition led by node 1, which
/// is its only replica and in sync.
fn assert_topic(response: &MetadataResponse, name: &str, partitions: i32, what: &str) {
    let topic = response
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(name))
        .unwrap_or_else(|| panic!("{what}: topic {name} missing from {:?}", response.topics));
    assert_eq!(topic.error_code, NONE, "{what}: topic {name} error code");
    assert!(!topic.is_internal, "{what}: {name} is not internal");
    let mut indexes: Vec<i32> = topic.partitions.iter().map(|p| p.partition_index).collect();
    indexes.sort_unstable();
    assert_eq!(
        indexes,
        (0..partitions).collect::<Vec<_>>(),
        "{what}: partitions of {name}"
    );
    for p in &topic.partitions {
        assert_eq!(
            p.error_code, NONE,
            "{what}: {name}-{} error code",
            p.partition_index
        );
        assert_eq!(
            p.leader_id.0, 1,
            "{what}: {name}-{} leader",
            p.partition_index
        );
        assert_eq!(
            p.replica_nodes.iter().map(|b| b.0).collect::<Vec<_>>(),
            [1],
            "{what}: replicas"
        );
        assert_eq!(
            p.isr_nodes.iter().map(|b| b.0).collect::<Vec<_>>(),
            [1],
            "{what}: isr"
        );
    }
}

fn topic_error(response: &MetadataResponse, name: &str) -> i16 {
    response
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(name))
        .map(|t| t.error_code)
        .unwrap_or_else(|| panic!("topic {name} missing from the response"))
}

#[test]
fn metadata_round_trip_every_version() {
    let broker = StromProcess::start().expect("start strom");
    let mut conn = broker.connect().expect("connect");
    for version in 0..=13 {
        let response = conn
            .metadata_all(version)
            .unwrap_or_else(|e| panic!("Metadata v{version}: {e:#}"));
        let brokers: Vec<(i32, &str, i32)> = response
            .brokers
            .iter()
            .map(|b| (b.node_id.0, b.host.as_str(), b.port))
            .collect();
        // Listening on 127.0.0.1 (not 0.0.0.0), the broker advertises that host.
        assert_eq!(
            brokers,
            [(1, "127.0.0.1", i32::from(broker.addr().port()))],
            "Metadata v{version} brokers"
        );
        if version >= 1 {
            // Java's admin client sends CreateTopics to the controller: it must be live.
            assert_eq!(
                response.controller_id.0, 1,
                "Metadata v{version} controller id"
            );
        }
        if version >= 2 {
            assert!(
                response
                    .cluster_id
                    .as_ref()
                    .is_some_and(|id| !id.is_empty()),
                "Metadata v{version} cluster id"
            );
        }
        assert!(
            response.topics.is_empty(),
            "Metadata v{version}: a fresh broker has no topics"
        );
    }
}

#[test]
fn create_and_delete_topics_round_trip() {
    let broker = StromProcess::start().expect("start strom");
    let mut conn = broker.connect().expect("connect");
    for v in CLIENT_VERSIONS {
        let what = format!("{v:?}");
        let name = format!("orders-{}", v.client);

        let created = create_topic(&mut conn, v.create_topics, &name, 3, 1);
        let result = &created.topics[0];
        assert_eq!(
            result.error_code, NONE,
            "{what}: create: {:?}",
            result.error_message
        );
        if v.create_topics >= 5 {
            assert_eq!(
                (result.num_partitions, result.replication_factor),
                (3, 1),
                "{what}: create result"
            );
        }
        if v.create_topics >= 7 {
            assert!(
                !result.topic_id.is_nil(),
                "{what}: CreateTopics v7 returns the topic id"
            );
        }
        let created = eventually(
            || metadata_for(&mut conn, v.metadata, &[&name]),
            |r| has_topic(r, &name, 3),
        );
        assert_topic(&created, &name, 3, &what);
        assert_topic(
            &conn.metadata_all(v.metadata).expect("metadata all"),
            &name,
            3,
            &what,
        );

        let again = create_topic(&mut conn, v.create_topics, &name, 3, 1);
        assert_eq!(
            again.topics[0].error_code, TOPIC_ALREADY_EXISTS,
            "{what}: create twice"
        );

        let deleted = delete_topic(&mut conn, v.delete_topics, &name);
        assert_eq!(
            deleted.responses[0].error_code, NONE,
            "{what}: delete: {:?}",
            deleted.responses[0].error_message
        );
        let gone = eventually(
            || metadata_for(&mut conn, v.metadata, &[&name]),
            |r| topic_error(r, &name) == UNKNOWN_TOPIC_OR_PARTITION,
        );
        assert_eq!(
            topic_error(&gone, &name),
            UNKNOWN_TOPIC_OR_PARTITION,
            "{what}: metadata after delete"
        );

        let deleted_again = delete_topic(&mut conn, v.delete_topics, &name);
        assert_eq!(
            deleted_again.responses[0].error_code, UNKNOWN_TOPIC_OR_PARTITION,
            "{what}: delete twice"
        );

        // The name is free again.
        let recreated = create_topic(&mut conn, v.create_topics, &name, 1, 1);
        assert_eq!(recreated.topics[0].error_code, NONE, "{what}: recreate");
        if v.create_topics >= 7 {
            assert_ne!(
                recreated.topics[0].topic_id, result.topic_id,
                "{what}: a recreated topic gets a new id"
            );
        }
        let recreated = eventually(
            || metadata_for(&mut conn, v.metadata, &[&name]),
            |r| has_topic(r, &name, 1),
        );
        assert_topic(&recreated, &name, 1, &what);
    }
}

#[test]
fn create_topics_rejects_what_kafka_rejects() {
    let broker = StromProcess::start().expect("start strom");
    let mut conn = broker.connect().expect("connect");
    let zero_partitions = create_topic(&mut conn, 7, "zero-partitions", 0, 1);
    assert_eq!(
        zero_partitions.topics[0].error_code, INVALID_PARTITIONS,
        "0 partitions"
    );
    let too_many_replicas = create_topic(&mut conn, 7, "three-replicas", 1, 3);
    assert_eq!(
        too_many_replicas.topics[0].error_code, INVALID_REPLICATION_FACTOR,
        "replication factor 3 of 1 broker"
    );
    let bad_name = create_topic(&mut conn, 7, "bad/name", 1, 1);
    assert_eq!(
        bad_name.topics[0].error_code, INVALID_TOPIC_EXCEPTION,
        "topic name with '/'"
    );
    // None of them exists afterwards.
    let all = conn.metadata_all(12).expect("metadata");
    assert!(
        all.topics.is_empty(),
        "rejected topics were created: {:?}",
        all.topics
    );
}

#[test]
fn topics_survive_a_graceful_restart() {
    let broker = StromProcess::start().expect("start strom");
    let mut conn = broker.connect().expect("connect");
    for (name, partitions) in [("kept-a", 1), ("kept-b", 4), ("deleted", 2)] {
        let created = create_topic(&mut conn, 7, name, partitions, 1);
        assert_eq!(created.topics[0].error_code, NONE, "create {name}");
    }
    assert_eq!(
        delete_topic(&mut conn, 6, "deleted").responses[0].error_code,
        NONE
    );
    let before = eventually(
        || conn.metadata_all(12).expect("metadata before restart"),
        |r| has_topic(r, "kept-a", 1) && has_topic(r, "kept-b", 4) && r.topics.len() == 2,
    );
    drop(conn);

    let broker = broker.restart().expect("restart strom");
    let mut conn = broker.connect().expect("connect after restart");
    let after = eventually(
        || conn.metadata_all(12).expect("metadata after restart"),
        |r| r.topics.len() >= 2,
    );
    assert_topic(&after, "kept-a", 1, "after restart");
    assert_topic(&after, "kept-b", 4, "after restart");
    assert_eq!(
        after.topics.len(),
        2,
        "only the kept topics: {:?}",
        after.topics
    );
    for topic in &after.topics {
        let old = before
            .topics
            .iter()
            .find(|t| t.name == topic.name)
            .expect("topic existed before");
        assert_eq!(
            topic.topic_id, old.topic_id,
            "topic ids are stable across restarts"
        );
    }
}

#[test]
fn created_topics_survive_a_kill() {
    let broker = StromProcess::start().expect("start strom");
    let mut conn = broker.connect().expect("connect");
    let created = create_topic(&mut conn, 7, "durable", 2, 1);
    assert_eq!(created.topics[0].error_code, NONE);
    drop(conn);
    // SIGKILL right after the answer: an acknowledged topic must be on disk.
    let broker = broker
        .kill_and_restart()
        .expect("restart strom after SIGKILL");
    let mut conn = broker.connect().expect("connect after restart");
    let after = eventually(
        || conn.metadata_all(12).expect("metadata after restart"),
        |r| has_topic(r, "durable", 2),
    );
    assert_topic(&after, "durable", 2, "after SIGKILL");
}
