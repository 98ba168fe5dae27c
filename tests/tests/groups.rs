//! Consumer groups against a real broker at the wire level: FindCoordinator,
//! the join/sync/heartbeat/leave cycle, committed offsets and group metadata
//! surviving a graceful restart and a `kill -9`, and the group admin APIs.
//! Real clients exercise the same paths in compat-tests/; these tests pin
//! exact versions and error codes.

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_fetch_request::{OffsetFetchRequestGroup, OffsetFetchRequestTopics};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use strom_tests::{KafkaConnection, StromProcess};

const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const UNKNOWN_MEMBER_ID: i16 = 25;
const GROUP_ID_NOT_FOUND: i16 = 69;
const MEMBER_ID_REQUIRED: i16 = 79;

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

/// A broker whose new groups rebalance at once (no initial delay).
fn start() -> StromProcess {
    StromProcess::start_with_env(&[("STROM_GROUP_INITIAL_REBALANCE_DELAY_MS", "0"), ("STROM_OFFSETS_TOPIC_NUM_PARTITIONS", "5")])
        .expect("start strom")
}

fn create_topic(conn: &mut KafkaConnection, name: &str, partitions: i32) {
    let request = CreateTopicsRequest::default().with_timeout_ms(10_000).with_topics(vec![CreatableTopic::default()
        .with_name(TopicName(s(name)))
        .with_num_partitions(partitions)
        .with_replication_factor(1)]);
    let response = conn.send(&request, 7).expect("CreateTopics");
    assert_eq!(response.topics[0].error_code, NONE, "{:?}", response.topics[0].error_message);
}

fn commit(conn: &mut KafkaConnection, group: &str, member: &str, generation: i32, offsets: &[(&str, i32, i64)]) -> OffsetCommitResponse {
    commit_as(conn, group, member, generation, offsets, "meta")
}

/// A simple group's commit (generation -1, no member) with this metadata.
fn commit_with_metadata(conn: &mut KafkaConnection, group: &str, offsets: &[(&str, i32, i64)], metadata: &str) -> OffsetCommitResponse {
    commit_as(conn, group, "", -1, offsets, metadata)
}

fn commit_as(
    conn: &mut KafkaConnection,
    group: &str,
    member: &str,
    generation: i32,
    offsets: &[(&str, i32, i64)],
    metadata: &str,
) -> OffsetCommitResponse {
    let topics = offsets
        .iter()
        .map(|(topic, partition, offset)| {
            OffsetCommitRequestTopic::default().with_name(TopicName(s(topic))).with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(*partition)
                .with_committed_offset(*offset)
                .with_committed_leader_epoch(0)
                .with_committed_metadata(Some(s(metadata)))])
        })
        .collect();
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(topics);
    conn.send(&request, 8).expect("OffsetCommit v8")
}

/// (topic, partition, offset, metadata) of every committed offset of `group` (OffsetFetch v8, all topics).
fn fetch_all(conn: &mut KafkaConnection, group: &str) -> (i16, Vec<(String, i32, i64, String)>) {
    let request = OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default().with_group_id(GroupId(s(group))).with_topics(None)]);
    let response = conn.send(&request, 8).expect("OffsetFetch v8");
    let group = &response.groups[0];
    let offsets = group
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| (t.name.0.to_string(), p.partition_index, p.committed_offset, p.metadata.as_deref().unwrap_or("").to_string()))
        })
        .collect();
    (group.error_code, offsets)
}

#[test]
fn find_coordinator_names_this_broker_and_creates_the_offsets_topic() {
    let broker = start();
    let mut conn = broker.connect().unwrap();
    let old = conn.send(&FindCoordinatorRequest::default().with_key(s("g1")), 0).expect("FindCoordinator v0");
    assert_eq!((old.error_code, old.node_id.0, old.port), (NONE, 1, i32::from(broker.addr().port())));
    let batched = conn
        .send(&FindCoordinatorRequest::default().with_key_type(0).with_coordinator_keys(vec![s("g1"), s("g2")]), 4)
        .expect("FindCoordinator v4");
    assert_eq!(batched.coordinators.len(), 2);
    for c in &batched.coordinators {
        assert_eq!((c.error_code, c.node_id.0, c.port), (NONE, 1, i32::from(broker.addr().port())), "{:?}", c.key);
    }
    let metadata = conn.send(&MetadataRequest::default().with_topics(None), 12).expect("Metadata");
    let offsets = metadata.topics.iter().find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == "__consumer_offsets")).expect("__consumer_offsets listed");
    assert!(offsets.is_internal);
    assert_eq!(offsets.partitions.len(), 5);
}

#[test]
fn committed_offsets_survive_restart_and_kill() {
    let broker = start();
    let mut conn = broker.connect().unwrap();
    create_topic(&mut conn, "orders", 3);
    // A "simple" group (no members) commits with generation -1.
    let response = commit(&mut conn, "simple", "", -1, &[("orders", 0, 10), ("orders", 2, 7), ("missing", 0, 1)]);
    let codes: Vec<i16> = response.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)).collect();
    assert_eq!(codes, [NONE, NONE, UNKNOWN_TOPIC_OR_PARTITION]);
    let expected = vec![("orders".to_string(), 0, 10, "meta".to_string()), ("orders".to_string(), 2, 7, "meta".to_string())];
    assert_eq!(fetch_all(&mut conn, "simple"), (NONE, expected.clone()));

    let broker = broker.restart().expect("restart");
    let mut conn = broker.connect().unwrap();
    assert_eq!(fetch_all(&mut conn, "simple"), (NONE, expected.clone()), "after a graceful restart");

    let response = commit(&mut conn, "simple", "", -1, &[("orders", 1, 99)]);
    assert_eq!(response.topics[0].partitions[0].error_code, NONE);
    let broker = broker.kill_and_restart().expect("kill -9 and restart");
    let mut conn = broker.connect().unwrap();
    let (code, offsets) = fetch_all(&mut conn, "simple");
    assert_eq!(code, NONE);
    assert_eq!(offsets.len(), 3, "{offsets:?}");
    assert!(offsets.contains(&("orders".to_string(), 1, 99, "meta".to_string())));

    // Specific partitions, old version: unknown ones answer -1 without error.
    let request = OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
        .with_group_id(GroupId(s("simple")))
        .with_topics(Some(vec![OffsetFetchRequestTopics::default().with_name(TopicName(s("orders"))).with_partition_indexes(vec![0, 1, 2])]))]);
    let r = conn.send(&request, 8).unwrap();
    let got: Vec<i64> = r.groups[0].topics[0].partitions.iter().map(|p| p.committed_offset).collect();
    assert_eq!(got, [10, 99, 7]);
    let (code, none) = fetch_all(&mut conn, "nobody");
    assert_eq!((code, none.len()), (NONE, 0));
}

fn join(conn: &mut KafkaConnection, group: &str, member: &str, version: i16) -> JoinGroupResponse {
    let protocol = JoinGroupRequestProtocol::default().with_name(s("range")).with_metadata(Bytes::from_static(b"subscription"));
    let request = JoinGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![protocol]);
    conn.send(&request, version).expect("JoinGroup")
}

#[test]
fn one_member_joins_syncs_heartbeats_and_leaves_and_the_group_survives_restart() {
    let broker = start();
    let mut conn = broker.connect().unwrap();
    create_topic(&mut conn, "events", 1);
    conn.send(&FindCoordinatorRequest::default().with_key(s("g")), 3).unwrap();

    // v4+: a new member first gets an id to rejoin with.
    let first = join(&mut conn, "g", "", 7);
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED);
    let member = first.member_id.to_string();
    assert!(!member.is_empty());
    let joined = join(&mut conn, "g", &member, 7);
    assert_eq!(joined.error_code, NONE);
    assert_eq!((joined.leader.as_str(), joined.member_id.as_str(), joined.generation_id), (member.as_str(), member.as_str(), 1));
    assert_eq!(joined.protocol_name.as_ref().map(|p| p.to_string()), Some("range".to_string()));
    assert_eq!(joined.members.len(), 1, "the leader sees every member");

    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_generation_id(1)
        .with_member_id(s(&member))
        .with_protocol_type(Some(s("consumer")))
        .with_protocol_name(Some(s("range")))
        .with_assignments(vec![SyncGroupRequestAssignment::default().with_member_id(s(&member)).with_assignment(Bytes::from_static(b"all of it"))]);
    let synced = conn.send(&sync, 5).expect("SyncGroup");
    assert_eq!((synced.error_code, synced.assignment.as_ref()), (NONE, &b"all of it"[..]));

    let beat = HeartbeatRequest::default().with_group_id(GroupId(s("g"))).with_generation_id(1).with_member_id(s(&member));
    assert_eq!(conn.send(&beat, 4).unwrap().error_code, NONE);
    assert_eq!(commit(&mut conn, "g", &member, 1, &[("events", 0, 5)]).topics[0].partitions[0].error_code, NONE);
    assert_eq!(commit(&mut conn, "g", "stranger", 1, &[("events", 0, 6)]).topics[0].partitions[0].error_code, UNKNOWN_MEMBER_ID);

    let listed = conn.send(&ListGroupsRequest::default(), 4).unwrap();
    let g = listed.groups.iter().find(|g| g.group_id.0.as_str() == "g").expect("listed");
    assert_eq!((g.protocol_type.as_str(), g.group_state.as_str()), ("consumer", "Stable"));

    // Group metadata is stored: after a restart the member is still there.
    let broker = broker.restart().expect("restart");
    let mut conn = broker.connect().unwrap();
    let described = conn.send(&DescribeGroupsRequest::default().with_groups(vec![GroupId(s("g"))]), 5).unwrap();
    let d = &described.groups[0];
    assert_eq!((d.error_code, d.group_state.as_str(), d.protocol_data.as_str()), (NONE, "Stable", "range"));
    assert_eq!(d.members.len(), 1);
    assert_eq!((d.members[0].member_id.as_str(), d.members[0].member_assignment.as_ref()), (member.as_str(), &b"all of it"[..]));
    assert_eq!(conn.send(&beat, 4).unwrap().error_code, NONE, "the member's session continues");

    let leave = LeaveGroupRequest::default().with_group_id(GroupId(s("g"))).with_members(vec![MemberIdentity::default().with_member_id(s(&member))]);
    let left = conn.send(&leave, 5).unwrap();
    assert_eq!((left.error_code, left.members[0].error_code), (NONE, NONE));
    let described = conn.send(&DescribeGroupsRequest::default().with_groups(vec![GroupId(s("g"))]), 5).unwrap();
    assert_eq!(described.groups[0].group_state.as_str(), "Empty");
    assert_eq!(fetch_all(&mut conn, "g").1.len(), 1, "offsets stay after the last member leaves");

    let deleted = conn.send(&DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("g"))]), 2).unwrap();
    assert_eq!(deleted.results[0].error_code, NONE);
    let again = conn.send(&DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("g"))]), 2).unwrap();
    assert_eq!(again.results[0].error_code, GROUP_ID_NOT_FOUND);
    assert_eq!(fetch_all(&mut conn, "g").1.len(), 0, "deleting a group deletes its offsets");

    // ...and the deletion is durable.
    let broker = broker.kill_and_restart().expect("kill -9 and restart");
    let mut conn = broker.connect().unwrap();
    assert_eq!(fetch_all(&mut conn, "g").1.len(), 0);
    let listed = conn.send(&ListGroupsRequest::default(), 4).unwrap();
    assert!(listed.groups.iter().all(|g| g.group_id.0.as_str() != "g"));
}

/// Bytes of every file of a partition directory.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()
}

#[test]
fn compaction_keeps_the_offsets_topic_small_and_the_latest_commit() {
    // One offsets partition with Kafka's smallest segments (1 MiB), cleaned every 100 ms.
    let broker = StromProcess::start_with_env(&[
        ("STROM_OFFSETS_TOPIC_NUM_PARTITIONS", "1"),
        ("STROM_OFFSETS_TOPIC_SEGMENT_BYTES", "1048576"),
        ("STROM_LOG_CLEANER_BACKOFF_MS", "100"),
    ])
    .expect("start strom");
    let mut conn = broker.connect().expect("connect");
    create_topic(&mut conn, "t", 1);
    // 2,000 commits of one partition with 4 KB of metadata each: 8 MB of
    // records in eight segments, one live value.
    let metadata = "m".repeat(4000);
    for offset in 1..=2000 {
        let response = commit_with_metadata(&mut conn, "simple", &[("t", 0, offset)], &metadata);
        assert_eq!(response.topics[0].partitions[0].error_code, NONE);
    }
    let dir = broker.data_dir().join("__consumer_offsets-0");
    let written = 2000 * 4000;
    eprintln!("__consumer_offsets-0 after the commits: {} bytes", dir_bytes(&dir));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while dir_bytes(&dir) > written / 3 {
        assert!(std::time::Instant::now() < deadline, "__consumer_offsets-0 still holds {} bytes", dir_bytes(&dir));
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let broker = broker.kill_and_restart().expect("kill -9 and restart");
    let mut conn = broker.connect().expect("connect");
    assert_eq!(fetch_all(&mut conn, "simple"), (NONE, vec![("t".to_string(), 0, 2000, metadata)]));
}
