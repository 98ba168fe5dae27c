//! OffsetCommit (key 8), versions 2-9 (v0-1 were removed in Kafka 4.0).
//! The group checks who commits (generation, member id, instance id); each
//! partition must exist and its metadata fit `offset.metadata.max.bytes`.
//! Accepted offsets are written to `__consumer_offsets` before they become
//! visible, and the answer waits for the topic's flush policy.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};
use crate::group::service::CommitMember;
use crate::group::snapshot::CommittedOffset;

/// Kafka's `offset.metadata.max.bytes` default.
const OFFSET_METADATA_MAX_BYTES: usize = 4096;
/// Kafka's "use the broker's retention" marker in v2-4.
const DEFAULT_RETENTION: i64 = -1;

pub async fn handle(ctx: &RequestContext<'_>, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let now = crate::now_ms();
    let image = ctx.broker.metadata.image();
    let expire = (ctx.api_version <= 4 && req.retention_time_ms != DEFAULT_RETENTION).then(|| now.saturating_add(req.retention_time_ms));
    // Per partition: Ok(offset to store) or the partition's own error.
    let mut checked = Vec::new();
    // Kafka: READ on the group, then READ on each topic.
    let group_allowed = ctx.authorized(AclOperation::Read, ResourceType::Group, &req.group_id);
    for topic in &req.topics {
        let known = image.topic(&topic.name.0);
        let topic_allowed = ctx.authorized(AclOperation::Read, ResourceType::Topic, &topic.name.0);
        for p in &topic.partitions {
            let exists = known.is_some_and(|t| usize::try_from(p.partition_index).is_ok_and(|i| i < t.partitions.len()));
            let metadata = p.committed_metadata.as_ref().map_or("", |m| m.as_str());
            let result = if !group_allowed {
                Err(ResponseError::GroupAuthorizationFailed)
            } else if !topic_allowed {
                Err(ResponseError::TopicAuthorizationFailed)
            } else if !exists {
                Err(ResponseError::UnknownTopicOrPartition)
            } else if metadata.len() > OFFSET_METADATA_MAX_BYTES {
                Err(ResponseError::OffsetMetadataTooLarge)
            } else {
                Ok(CommittedOffset {
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: metadata.to_string(),
                    commit_timestamp_ms: now,
                    expire_timestamp_ms: expire,
                })
            };
            checked.push((topic.name.0.to_string(), p.partition_index, result));
        }
    }
    let to_store: Vec<_> = checked.iter().filter_map(|(t, p, r)| r.as_ref().ok().map(|o| (t.clone(), *p, o.clone()))).collect();
    let member = CommitMember {
        member_id: &req.member_id,
        generation_id: req.generation_id_or_member_epoch,
        group_instance_id: req.group_instance_id.as_deref(),
    };
    // Like Kafka, a request with nothing valid to store never reaches the group.
    let stored = if to_store.is_empty() { Ok(None) } else { ctx.broker.groups.commit_offsets(&req.group_id, member, ctx.api_version, to_store) };
    let group_error = match stored {
        Ok(None) => None,
        Ok(Some((log, offset))) => flush(log, offset).await.err(),
        Err(e) => {
            if !e.message.is_empty() {
                tracing::error!(group = %req.group_id.0, error = %e.message, "cannot store committed offsets");
            }
            Some(e.error)
        }
    };
    let mut checked = checked.into_iter();
    let topics = req
        .topics
        .iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .filter_map(|_| checked.next())
                .map(|(_, index, result)| {
                    let error = match (&result, group_error) {
                        (Err(e), _) => Some(*e),
                        (Ok(_), e) => e,
                    };
                    OffsetCommitResponsePartition::default().with_partition_index(index).with_error_code(error.map_or(0, |e| e.code()))
                })
                .collect();
            OffsetCommitResponseTopic::default().with_name(topic.name.clone()).with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

async fn flush(log: Arc<strom_storage::log::PartitionLog>, offset: i64) -> Result<(), ResponseError> {
    match tokio::task::spawn_blocking(move || log.flush_until(offset)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => {
            tracing::error!(%error, "flushing committed offsets failed");
            Err(ResponseError::KafkaStorageError)
        }
        Err(_) => Err(ResponseError::KafkaStorageError),
    }
}
