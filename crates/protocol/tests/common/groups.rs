//! Sample requests of the consumer-group APIs, every field each version has.

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

fn s(text: &'static str) -> StrBytes {
    StrBytes::from_static_str(text)
}

pub fn sample_request(api_key: ApiKey, v: i16, extra: std::collections::BTreeMap<i32, Bytes>) -> RequestKind {
    let group = GroupId(s("orders-app"));
    let member = s("consumer-1-4e0f");
    let instance = if v >= 3 { Some(s("instance-1")) } else { None };
    match api_key {
        ApiKey::FindCoordinator => {
            let mut body = FindCoordinatorRequest::default();
            if v >= 1 {
                body = body.with_key_type(0);
            }
            body = if v >= 4 { body.with_coordinator_keys(vec![s("orders-app"), s("billing")]) } else { body.with_key(s("orders-app")) };
            RequestKind::FindCoordinator(body.with_unknown_tagged_fields(extra))
        }
        ApiKey::JoinGroup => {
            use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
            let protocol = JoinGroupRequestProtocol::default().with_name(s("range")).with_metadata(Bytes::from_static(b"\0\x01sub"));
            let mut body = JoinGroupRequest::default()
                .with_group_id(group)
                .with_session_timeout_ms(10_000)
                .with_member_id(member)
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![protocol]);
            if v >= 1 {
                body = body.with_rebalance_timeout_ms(30_000);
            }
            if v >= 5 {
                body = body.with_group_instance_id(Some(s("instance-1")));
            }
            if v >= 8 {
                body = body.with_reason(Some(s("rebalance")));
            }
            RequestKind::JoinGroup(body.with_unknown_tagged_fields(extra))
        }
        ApiKey::SyncGroup => {
            use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
            let assignment = SyncGroupRequestAssignment::default().with_member_id(member.clone()).with_assignment(Bytes::from_static(b"a"));
            let mut body = SyncGroupRequest::default().with_group_id(group).with_generation_id(3).with_member_id(member).with_assignments(vec![assignment]);
            body.group_instance_id = instance;
            if v >= 5 {
                body = body.with_protocol_type(Some(s("consumer"))).with_protocol_name(Some(s("range")));
            }
            RequestKind::SyncGroup(body.with_unknown_tagged_fields(extra))
        }
        ApiKey::Heartbeat => {
            let mut body = HeartbeatRequest::default().with_group_id(group).with_generation_id(3).with_member_id(member);
            body.group_instance_id = instance;
            RequestKind::Heartbeat(body.with_unknown_tagged_fields(extra))
        }
        ApiKey::LeaveGroup => {
            use kafka_protocol::messages::leave_group_request::MemberIdentity;
            let mut body = LeaveGroupRequest::default().with_group_id(group);
            if v >= 3 {
                let mut m = MemberIdentity::default().with_member_id(member).with_group_instance_id(Some(s("instance-1")));
                if v >= 5 {
                    m = m.with_reason(Some(s("closing")));
                }
                body = body.with_members(vec![m]);
            } else {
                body = body.with_member_id(member);
            }
            RequestKind::LeaveGroup(body.with_unknown_tagged_fields(extra))
        }
        ApiKey::OffsetCommit => {
            use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
            let mut p = OffsetCommitRequestPartition::default().with_partition_index(2).with_committed_offset(42).with_committed_metadata(Some(s("m")));
            if v >= 6 {
                p = p.with_committed_leader_epoch(5);
            }
            let t = OffsetCommitRequestTopic::default().with_name(TopicName(s("orders"))).with_partitions(vec![p]);
            let mut body = OffsetCommitRequest::default().with_group_id(group).with_generation_id_or_member_epoch(3).with_member_id(member).with_topics(vec![t]);
            if (2..=4).contains(&v) {
                body = body.with_retention_time_ms(-1);
            }
            if v >= 7 {
                body = body.with_group_instance_id(Some(s("instance-1")));
            }
            RequestKind::OffsetCommit(body.with_unknown_tagged_fields(extra))
        }
        ApiKey::OffsetFetch => {
            use kafka_protocol::messages::offset_fetch_request::{OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics};
            let mut body = OffsetFetchRequest::default();
            if v >= 8 {
                let t = OffsetFetchRequestTopics::default().with_name(TopicName(s("orders"))).with_partition_indexes(vec![0, 1]);
                let mut g = OffsetFetchRequestGroup::default().with_group_id(group).with_topics(Some(vec![t]));
                if v >= 9 {
                    g = g.with_member_id(Some(member)).with_member_epoch(4);
                }
                body = body.with_groups(vec![g]);
            } else {
                let t = OffsetFetchRequestTopic::default().with_name(TopicName(s("orders"))).with_partition_indexes(vec![0, 1]);
                body = body.with_group_id(group).with_topics(Some(vec![t]));
            }
            if v >= 7 {
                body = body.with_require_stable(true);
            }
            RequestKind::OffsetFetch(body.with_unknown_tagged_fields(extra))
        }
        ApiKey::OffsetDelete => {
            use kafka_protocol::messages::offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
            let t = OffsetDeleteRequestTopic::default()
                .with_name(TopicName(s("orders")))
                .with_partitions(vec![OffsetDeleteRequestPartition::default().with_partition_index(1)]);
            {
            let _ = extra; // never flexible
            RequestKind::OffsetDelete(OffsetDeleteRequest::default().with_group_id(group).with_topics(vec![t]))
        }
        }
        ApiKey::ListGroups => {
            let mut body = ListGroupsRequest::default();
            if v >= 4 {
                body = body.with_states_filter(vec![s("Stable")]);
            }
            if v >= 5 {
                body = body.with_types_filter(vec![s("classic")]);
            }
            RequestKind::ListGroups(body.with_unknown_tagged_fields(extra))
        }
        ApiKey::DescribeGroups => {
            let mut body = DescribeGroupsRequest::default().with_groups(vec![group]);
            if v >= 3 {
                body = body.with_include_authorized_operations(true);
            }
            RequestKind::DescribeGroups(body.with_unknown_tagged_fields(extra))
        }
        ApiKey::DeleteGroups => RequestKind::DeleteGroups(DeleteGroupsRequest::default().with_groups_names(vec![group]).with_unknown_tagged_fields(extra)),
        other => panic!("not a group API: {other:?}"),
    }
}
