//! OffsetFetch (key 9), versions 1-9 (v0 was removed in Kafka 4.0). v8+
//! asks for many groups at once. A partition without a committed offset
//! answers offset -1 with no error, as Kafka does; no topics (null, v2+)
//! means every committed offset of the group. With `require_stable` (v7+;
//! Java consumers always set it) a partition whose offset a transaction may
//! still change answers UNSTABLE_OFFSET_COMMIT with offset -1, and the client
//! retries until that transaction ended.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions, OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};

use super::{str_bytes, RequestContext};
use crate::auth::acl::{AclOperation, ResourceType};
use crate::group::service::FetchedOffset;
use crate::group::snapshot::CommittedOffset;

/// One partition's answer, before it is shaped for the version.
struct Fetched {
    partition: i32,
    offset: Option<CommittedOffset>,
    /// UNSTABLE_OFFSET_COMMIT, or 0.
    error: i16,
}

pub fn handle(ctx: &RequestContext<'_>, req: OffsetFetchRequest) -> OffsetFetchResponse {
    if ctx.api_version >= 8 {
        let groups = req
            .groups
            .into_iter()
            .map(|group| {
                let wanted = group.topics.map(|topics| {
                    topics.into_iter().flat_map(|t| t.partition_indexes.into_iter().map(move |p| (t.name.0.to_string(), p))).collect::<Vec<_>>()
                });
                let (error, topics) = fetch(ctx, &group.group_id, wanted.as_deref(), req.require_stable);
                let topics = topics
                    .into_iter()
                    .map(|(name, partitions)| {
                        let partitions = partitions
                            .into_iter()
                            .map(|f| {
                                let o = f.offset.unwrap_or_else(no_offset);
                                OffsetFetchResponsePartitions::default()
                                    .with_partition_index(f.partition)
                                    .with_committed_offset(o.offset)
                                    .with_committed_leader_epoch(o.leader_epoch)
                                    .with_metadata(Some(str_bytes(o.metadata)))
                                    .with_error_code(f.error)
                            })
                            .collect();
                        OffsetFetchResponseTopics::default().with_name(TopicName(str_bytes(name))).with_partitions(partitions)
                    })
                    .collect();
                OffsetFetchResponseGroup::default().with_group_id(group.group_id).with_topics(topics).with_error_code(error)
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let wanted = req
        .topics
        .map(|topics| topics.into_iter().flat_map(|t| t.partition_indexes.into_iter().map(move |p| (t.name.0.to_string(), p))).collect::<Vec<_>>());
    let require_stable = ctx.api_version >= 7 && req.require_stable;
    let (error, topics) = fetch(ctx, &req.group_id, wanted.as_deref(), require_stable);
    let topics = topics
        .into_iter()
        .map(|(name, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|f| {
                    let o = f.offset.unwrap_or_else(no_offset);
                    // Below v2 the group error is carried by every partition.
                    OffsetFetchResponsePartition::default()
                        .with_partition_index(f.partition)
                        .with_committed_offset(o.offset)
                        .with_committed_leader_epoch(o.leader_epoch)
                        .with_metadata(Some(str_bytes(o.metadata)))
                        .with_error_code(if ctx.api_version < 2 && f.error == 0 { error } else { f.error })
                })
                .collect();
            OffsetFetchResponseTopic::default().with_name(TopicName(str_bytes(name))).with_partitions(partitions)
        })
        .collect();
    OffsetFetchResponse::default().with_topics(topics).with_error_code(error)
}

/// The group's error code and its offsets grouped by topic, in request order
/// (or sorted, for "all").
/// Classic groups check neither the member id nor the epoch v9 carries (for
/// KIP-848 groups); an unknown group has no offsets, and no error.
fn fetch(ctx: &RequestContext<'_>, group_id: &str, wanted: Option<&[(String, i32)]>, require_stable: bool) -> (i16, Vec<(String, Vec<Fetched>)>) {
    // Kafka: DESCRIBE on the group, then on each topic: a named topic the
    // principal may not describe answers TOPIC_AUTHORIZATION_FAILED; "all
    // topics" leaves such topics out.
    if !ctx.authorized(AclOperation::Describe, ResourceType::Group, group_id) {
        let empty = wanted.map(|w| by_topic(w.iter().map(|(t, p)| (t.clone(), *p, Ok(None))))).unwrap_or_default();
        return (ResponseError::GroupAuthorizationFailed.code(), empty);
    }
    let describable = |topic: &str| ctx.authorized(AclOperation::Describe, ResourceType::Topic, topic);
    let Some(wanted) = wanted else {
        let offsets = ctx.broker.groups.fetch_offsets(group_id, None, require_stable);
        return (0, by_topic(offsets.into_iter().filter(|(topic, _, _)| describable(topic))));
    };
    let allowed: Vec<bool> = wanted.iter().map(|(topic, _)| describable(topic)).collect();
    let permitted: Vec<(String, i32)> = wanted.iter().zip(&allowed).filter(|(_, ok)| **ok).map(|(w, _)| w.clone()).collect();
    let mut offsets = ctx.broker.groups.fetch_offsets(group_id, Some(&permitted), require_stable).into_iter();
    // Back in request order, refused partitions with their error.
    let answers = wanted.iter().zip(allowed).filter_map(|((topic, partition), ok)| {
        if ok {
            offsets.next()
        } else {
            Some((topic.clone(), *partition, Err(ResponseError::TopicAuthorizationFailed)))
        }
    });
    (0, by_topic(answers))
}

fn by_topic(offsets: impl Iterator<Item = FetchedOffset>) -> Vec<(String, Vec<Fetched>)> {
    let mut topics: Vec<(String, Vec<Fetched>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (topic, partition, offset) in offsets {
        let fetched = match offset {
            Ok(offset) => Fetched { partition, offset, error: 0 },
            Err(error) => Fetched { partition, offset: None, error: error.code() },
        };
        match index.get(&topic) {
            Some(&i) => topics[i].1.push(fetched),
            None => {
                index.insert(topic.clone(), topics.len());
                topics.push((topic, vec![fetched]));
            }
        }
    }
    topics
}

fn no_offset() -> CommittedOffset {
    CommittedOffset { offset: -1, leader_epoch: -1, metadata: String::new(), commit_timestamp_ms: -1, expire_timestamp_ms: None }
}
