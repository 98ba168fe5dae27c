//! TxnOffsetCommit (key 28), versions 0-5. Offsets a transactional producer
//! commits for a group (`sendOffsetsToTransaction`): written to the group's
//! `__consumer_offsets` partition as a transactional batch of the producer,
//! and visible to OffsetFetch only once the transaction commits (dropped if it
//! aborts). As Kafka: each partition must exist (UNKNOWN_TOPIC_OR_PARTITION)
//! and its metadata fit `offset.metadata.max.bytes` (OFFSET_METADATA_TOO_LARGE);
//! v3+ carries the member, generation and instance id, checked against the
//! group (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID), older
//! versions carry none. With `transaction.partition.verification.enable` the
//! coordinator must know the partition is in the transaction (AddOffsetsToTxn)
//! before the first offsets are written (INVALID_TXN_STATE, or
//! TRANSACTION_ABORTABLE from v4); a fenced producer gets INVALID_PRODUCER_EPOCH.
//! v5 (KIP-890 part 2) is handled as v4.
//!
//! Authorization as Kafka: WRITE on the transactional id, then READ on the
//! group (else every partition carries that error), then READ on each topic
//! (TOPIC_AUTHORIZATION_FAILED).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::txn_offset_commit_response::{TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};
use crate::group::records::OFFSETS_TOPIC;
use crate::group::service::{CommitMember, TxnAppend};
use crate::group::snapshot::CommittedOffset;

/// Kafka's `offset.metadata.max.bytes` default.
const OFFSET_METADATA_MAX_BYTES: usize = 4096;

pub async fn handle(ctx: &RequestContext<'_>, req: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse {
    let refused = if !ctx.authorized(AclOperation::Write, ResourceType::TransactionalId, &req.transactional_id) {
        Some(ResponseError::TransactionalIdAuthorizationFailed)
    } else if !ctx.authorized(AclOperation::Read, ResourceType::Group, &req.group_id) {
        Some(ResponseError::GroupAuthorizationFailed)
    } else {
        None
    };
    let now = crate::now_ms();
    let image = ctx.broker.metadata.image();
    // Per partition: Ok(offset to store) or the partition's own error.
    let mut checked = Vec::new();
    for topic in &req.topics {
        let known = image.topic(&topic.name.0);
        let readable = ctx.authorized(AclOperation::Read, ResourceType::Topic, &topic.name.0);
        for p in &topic.partitions {
            let exists = known.is_some_and(|t| usize::try_from(p.partition_index).is_ok_and(|i| i < t.partitions.len()));
            let metadata = p.committed_metadata.as_ref().map_or("", |m| m.as_str());
            let result = if let Some(error) = refused {
                Err(error)
            } else if !readable {
                Err(ResponseError::TopicAuthorizationFailed)
            } else if !exists {
                Err(ResponseError::UnknownTopicOrPartition)
            } else if metadata.len() > OFFSET_METADATA_MAX_BYTES {
                Err(ResponseError::OffsetMetadataTooLarge)
            } else {
                Ok(CommittedOffset {
                    offset: p.committed_offset,
                    leader_epoch: if ctx.api_version >= 2 { p.committed_leader_epoch } else { -1 },
                    metadata: metadata.to_string(),
                    commit_timestamp_ms: now,
                    expire_timestamp_ms: None,
                })
            };
            checked.push((topic.name.0.to_string(), p.partition_index, result));
        }
    }
    let to_store: Vec<_> = checked.iter().filter_map(|(t, p, r)| r.as_ref().ok().map(|o| (t.clone(), *p, o.clone()))).collect();
    let group_error = if to_store.is_empty() { None } else { store(ctx, &req, to_store).await.err() };
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
                    let error = result.err().or(group_error);
                    TxnOffsetCommitResponsePartition::default().with_partition_index(index).with_error_code(error.map_or(0, |e| e.code()))
                })
                .collect();
            TxnOffsetCommitResponseTopic::default().with_name(topic.name.clone()).with_partitions(partitions)
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}

/// Verifies the partition with the transaction coordinator, then stores.
async fn store(ctx: &RequestContext<'_>, req: &TxnOffsetCommitRequest, offsets: Vec<(String, i32, CommittedOffset)>) -> Result<(), ResponseError> {
    let groups = &ctx.broker.groups;
    groups.ensure_offsets_topic()?;
    let partition = groups.partition_for(&req.group_id);
    let producer = (req.producer_id.0, req.producer_epoch);
    let append = if ctx.broker.config.transaction_partition_verification_enable {
        let log = ctx.broker.partitions.log(OFFSETS_TOPIC, partition).ok_or(ResponseError::CoordinatorNotAvailable)?;
        let target = (OFFSETS_TOPIC.to_string(), partition);
        let verified = ctx.broker.txns.verify_write(&log, target, &req.transactional_id, producer.0, producer.1, -1, ctx.api_version >= 4);
        TxnAppend::Verified(verified.inspect_err(|error| {
            tracing::debug!(transactional_id = %req.transactional_id.0, ?error, "transactional offsets not verified");
        })?)
    } else {
        TxnAppend::Unverified
    };
    let member = CommitMember {
        member_id: &req.member_id,
        generation_id: if ctx.api_version >= 3 { req.generation_id } else { -1 },
        group_instance_id: req.group_instance_id.as_deref(),
    };
    match groups.commit_txn_offsets(&req.group_id, member, producer, append, offsets) {
        Ok(None) => Ok(()),
        Ok(Some((log, offset))) => flush(log, offset).await,
        Err(e) => {
            if !e.message.is_empty() {
                tracing::error!(group = %req.group_id.0, error = %e.message, "cannot store transactional offsets");
            }
            Err(e.error)
        }
    }
}

async fn flush(log: Arc<strom_storage::log::PartitionLog>, offset: i64) -> Result<(), ResponseError> {
    match tokio::task::spawn_blocking(move || log.flush_until(offset)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => {
            tracing::error!(%error, "flushing transactional offsets failed");
            Err(ResponseError::KafkaStorageError)
        }
        Err(_) => Err(ResponseError::KafkaStorageError),
    }
}
