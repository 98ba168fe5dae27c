//! Group API handler tests: the join/sync cycle through `handle`, and a
//! request of each group API for the every-version encoding test.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::tests::{call, ctx};
use super::*;

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

fn join_request(group: &str, member: &str) -> JoinGroupRequest {
    let protocol = join_group_request::JoinGroupRequestProtocol::default().with_name(s("range")).with_metadata(Bytes::from_static(b"sub"));
    JoinGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![protocol])
}

/// Joins `group` as its only member and syncs; returns the member id.
/// Needs the group timers running (`broker.groups.run_timers()` spawned).
pub fn join_and_sync(rt: &tokio::runtime::Runtime, broker: &Broker, group: &str) -> String {
    let join = |member: &str| {
        let c = ctx(broker, 7);
        match rt.block_on(handle(&c, RequestKind::JoinGroup(join_request(group, member)))).unwrap().unwrap() {
            ResponseKind::JoinGroup(r) => r,
            other => panic!("{other:?}"),
        }
    };
    let first = join("");
    assert_eq!(first.error_code, ResponseError::MemberIdRequired.code());
    let joined = join(&first.member_id);
    assert_eq!(joined.error_code, 0);
    let member = joined.member_id.to_string();
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id(joined.generation_id)
        .with_member_id(s(&member))
        .with_assignments(vec![sync_group_request::SyncGroupRequestAssignment::default()
            .with_member_id(s(&member))
            .with_assignment(Bytes::from_static(b"assignment"))]);
    let c = ctx(broker, 5);
    match rt.block_on(handle(&c, RequestKind::SyncGroup(sync))).unwrap().unwrap() {
        ResponseKind::SyncGroup(r) => assert_eq!((r.error_code, r.assignment.as_ref()), (0, &b"assignment"[..])),
        other => panic!("{other:?}"),
    }
    member
}

/// A request of group API `key` at `version` for a broker where topic "t"
/// exists and group "g" is Stable with `member` (generation 1).
pub fn request_for(key: ApiKey, version: i16, member: &str) -> RequestKind {
    let g = GroupId(s("g"));
    match key {
        ApiKey::FindCoordinator => RequestKind::FindCoordinator(if version >= 4 {
            FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g"), s("other")])
        } else {
            FindCoordinatorRequest::default().with_key(s("g"))
        }),
        // A fresh group per version: v4+ gets MEMBER_ID_REQUIRED, older ones
        // complete a rebalance as leader.
        ApiKey::JoinGroup => RequestKind::JoinGroup(join_request(&format!("fresh-{version}"), "")),
        ApiKey::SyncGroup => RequestKind::SyncGroup(SyncGroupRequest::default().with_group_id(g).with_generation_id(1).with_member_id(s(member))),
        ApiKey::Heartbeat => RequestKind::Heartbeat(HeartbeatRequest::default().with_group_id(g).with_generation_id(1).with_member_id(s(member))),
        ApiKey::LeaveGroup => {
            let mut req = LeaveGroupRequest::default().with_group_id(g);
            if version >= 3 {
                req = req.with_members(vec![leave_group_request::MemberIdentity::default().with_member_id(s("stranger"))]);
            } else {
                req = req.with_member_id(s("stranger"));
            }
            RequestKind::LeaveGroup(req)
        }
        ApiKey::OffsetCommit => {
            let p = offset_commit_request::OffsetCommitRequestPartition::default().with_partition_index(0).with_committed_offset(3);
            let t = offset_commit_request::OffsetCommitRequestTopic::default().with_name(TopicName(s("t"))).with_partitions(vec![p]);
            RequestKind::OffsetCommit(OffsetCommitRequest::default().with_group_id(g).with_generation_id_or_member_epoch(1).with_member_id(s(member)).with_topics(vec![t]))
        }
        ApiKey::OffsetFetch => {
            if version >= 8 {
                let group = offset_fetch_request::OffsetFetchRequestGroup::default().with_group_id(g).with_topics(None);
                RequestKind::OffsetFetch(OffsetFetchRequest::default().with_groups(vec![group]))
            } else {
                let t = offset_fetch_request::OffsetFetchRequestTopic::default().with_name(TopicName(s("t"))).with_partition_indexes(vec![0]);
                RequestKind::OffsetFetch(OffsetFetchRequest::default().with_group_id(g).with_topics(Some(vec![t])))
            }
        }
        ApiKey::OffsetDelete => {
            let t = offset_delete_request::OffsetDeleteRequestTopic::default()
                .with_name(TopicName(s("t")))
                .with_partitions(vec![offset_delete_request::OffsetDeleteRequestPartition::default().with_partition_index(0)]);
            RequestKind::OffsetDelete(OffsetDeleteRequest::default().with_group_id(GroupId(s("nobody"))).with_topics(vec![t]))
        }
        ApiKey::ListGroups => RequestKind::ListGroups(ListGroupsRequest::default()),
        ApiKey::DescribeGroups => RequestKind::DescribeGroups(
            DescribeGroupsRequest::default().with_groups(vec![g, GroupId(s("missing"))]).with_include_authorized_operations(version >= 3),
        ),
        ApiKey::DeleteGroups => RequestKind::DeleteGroups(DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("missing"))])),
        other => panic!("{other:?} is not a group API"),
    }
}

pub fn is_group_api(key: ApiKey) -> bool {
    matches!(
        key,
        ApiKey::FindCoordinator
            | ApiKey::JoinGroup
            | ApiKey::SyncGroup
            | ApiKey::Heartbeat
            | ApiKey::LeaveGroup
            | ApiKey::OffsetCommit
            | ApiKey::OffsetFetch
            | ApiKey::OffsetDelete
            | ApiKey::ListGroups
            | ApiKey::DescribeGroups
            | ApiKey::DeleteGroups
    )
}

#[test]
fn a_member_joins_commits_and_is_described() {
    let b = super::test_support::broker();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_time().build().unwrap();
    rt.spawn(std::sync::Arc::clone(&b.broker.groups).run_timers());
    call(&b.broker, 7, RequestKind::CreateTopics(CreateTopicsRequest::default().with_topics(vec![
        create_topics_request::CreatableTopic::default().with_name(TopicName(s("t"))).with_num_partitions(1).with_replication_factor(1),
    ])));
    let member = join_and_sync(&rt, &b.broker, "g");
    let c = ctx(&b.broker, 8);
    let ResponseKind::OffsetCommit(r) = rt.block_on(handle(&c, request_for(ApiKey::OffsetCommit, 8, &member))).unwrap().unwrap() else { panic!() };
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    let ResponseKind::OffsetFetch(r) = rt.block_on(handle(&c, request_for(ApiKey::OffsetFetch, 8, &member))).unwrap().unwrap() else { panic!() };
    assert_eq!(r.groups[0].topics[0].partitions[0].committed_offset, 3);
    let c = ctx(&b.broker, 5);
    let ResponseKind::DescribeGroups(r) = rt.block_on(handle(&c, request_for(ApiKey::DescribeGroups, 5, &member))).unwrap().unwrap() else { panic!() };
    assert_eq!(r.groups[0].group_state.as_str(), "Stable");
    assert_eq!(r.groups[0].members[0].member_id.as_str(), member);
    assert_eq!(r.groups[1].group_state.as_str(), "Dead");
    assert!(b.broker.metadata.image().topic("__consumer_offsets").is_some());
}
