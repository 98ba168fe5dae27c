//! Produce (key 0). Advertised from v0 because librdkafka 1.x looks for it
//! (KAFKA-18659), served from v3 (record batch v2), up to v13 (topic ids).
//! acks=0 gets no response at all; acks=1 answers once the batch is written;
//! acks=-1 also checks `min.insync.replicas` against the in-sync replicas and
//! waits for an fsync when the topic's flush policy asks for one (shared with
//! every producer waiting at the same time). v8+ responses carry record errors
//! and an error message. Unknown topics are created when auto-creation is on.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_request::PartitionProduceData;
use kafka_protocol::messages::produce_response::{BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use strom_storage::log::{AppendError, PartitionLog};
use strom_storage::validator;

use super::{str_bytes, RequestContext};
use crate::auth::acl::{AclOperation, ResourceType};
use crate::metadata::{NewTopic, TopicImage};

pub async fn handle(ctx: &RequestContext<'_>, req: ProduceRequest) -> Option<ProduceResponse> {
    let acks = req.acks;
    // Kafka: a transactional produce needs WRITE on its transactional id.
    let txn_denied = req.transactional_id.as_ref().is_some_and(|id| !ctx.authorized(AclOperation::Write, ResourceType::TransactionalId, id));
    let mut topics = Vec::with_capacity(req.topic_data.len());
    for topic in req.topic_data {
        let found = if txn_denied { Err(ResponseError::TransactionalIdAuthorizationFailed) } else { find_topic(ctx, &topic.name.0, topic.topic_id) };
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for data in topic.partition_data {
            let index = data.index;
            let response = match &found {
                Err(error) => failed(index, *error, None),
                Ok(_) if !matches!(acks, -1..=1) => failed(index, ResponseError::InvalidRequiredAcks, None),
                Ok(t) => produce_partition(ctx, t, data, acks).await,
            };
            if response.error_code != 0 {
                tracing::debug!(topic = %topic.name.0, partition = response.index, error = response.error_code, message = ?response.error_message, "produce refused");
            }
            partitions.push(response);
        }
        topics.push(
            TopicProduceResponse::default().with_name(topic.name).with_topic_id(topic.topic_id).with_partition_responses(partitions),
        );
    }
    if topics.iter().flat_map(|t| &t.partition_responses).any(|p| p.error_code == 0) {
        ctx.broker.data_arrived();
    }
    (acks != 0).then(|| ProduceResponse::default().with_responses(topics))
}

/// The topic a request names (by name below v13, by id from v13),
/// auto-creating a named one when allowed. Writing needs WRITE on the
/// topic, creating it CREATE on the cluster or the topic.
fn find_topic(ctx: &RequestContext<'_>, name: &str, id: uuid::Uuid) -> Result<TopicImage, ResponseError> {
    let image = ctx.broker.metadata.image();
    let may_write = |name: &str| ctx.authorized(AclOperation::Write, ResourceType::Topic, name);
    if ctx.api_version >= 13 {
        let topic = image.topic_by_id(&id).ok_or(ResponseError::UnknownTopicId)?;
        return if may_write(&topic.name) { Ok(topic.clone()) } else { Err(ResponseError::TopicAuthorizationFailed) };
    }
    if !may_write(name) {
        return Err(ResponseError::TopicAuthorizationFailed);
    }
    if let Some(topic) = image.topic(name) {
        return Ok(topic.clone());
    }
    if !ctx.broker.config.auto_create_topics {
        return Err(ResponseError::UnknownTopicOrPartition);
    }
    if !ctx.cluster_authorized(AclOperation::Create) && !ctx.authorized(AclOperation::Create, ResourceType::Topic, name) {
        return Err(ResponseError::TopicAuthorizationFailed);
    }
    match ctx.broker.metadata.create_topic(NewTopic::with_defaults(name), false) {
        Ok(topic) => Ok(topic),
        Err(e) if e.error == ResponseError::TopicAlreadyExists => {
            ctx.broker.metadata.image().topic(name).cloned().ok_or(ResponseError::UnknownTopicOrPartition)
        }
        Err(e) => Err(e.error),
    }
}

async fn produce_partition(ctx: &RequestContext<'_>, topic: &TopicImage, data: PartitionProduceData, acks: i16) -> PartitionProduceResponse {
    let index = data.index;
    let Some(partition) = topic.partitions.get(usize::try_from(index).unwrap_or(usize::MAX)) else {
        return failed(index, ResponseError::UnknownTopicOrPartition, None);
    };
    let Some(log) = ctx.broker.partitions.log(&topic.name, index) else {
        return failed(index, ResponseError::NotLeaderOrFollower, None);
    };
    let Some(records) = data.records else {
        return failed(index, ResponseError::InvalidRecord, Some("The produce request has no records.".into()));
    };
    if let Err(error) = validator::check_produce_version(&records, ctx.api_version) {
        return failed(index, code(error.kafka_error_code()), Some(error.to_string()));
    }
    if acks == -1 {
        let min_isr = topic.configs.get("min.insync.replicas").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1);
        if partition.isr.len() < min_isr {
            let message = format!(
                "The size of the current ISR {} is insufficient to satisfy the min.isr requirement of {min_isr} for partition {}-{index}",
                partition.isr.len(),
                topic.name
            );
            return failed(index, ResponseError::NotEnoughReplicas, Some(message));
        }
    }
    // The one copy between socket and file: the request buffer is shared and
    // offsets are assigned in place.
    let mut batch = records.to_vec();
    let epoch = partition.leader_epoch;
    let appended = log.append_records(&mut batch, epoch, crate::now_ms());
    match appended {
        Ok(info) => {
            if info.needs_flush && acks != 0 {
                if let Err(error) = flush(Arc::clone(&log), info.last_offset + 1).await {
                    tracing::error!(topic = %topic.name, partition = index, %error, "flush failed");
                    return failed(index, ResponseError::KafkaStorageError, Some(error));
                }
            } else if info.needs_flush {
                tokio::task::spawn_blocking(move || log.flush());
            }
            PartitionProduceResponse::default()
                .with_index(index)
                .with_base_offset(info.base_offset)
                .with_log_append_time_ms(info.log_append_time.unwrap_or(-1))
                .with_log_start_offset(info.log_start_offset)
        }
        Err(AppendError::Invalid(error)) => {
            let mut response = failed(index, code(error.kafka_error_code()), Some(error.to_string()));
            if let Some((batch_index, message)) = error.record_error() {
                response.record_errors = vec![BatchIndexAndErrorMessage::default()
                    .with_batch_index(batch_index)
                    .with_batch_index_error_message(Some(str_bytes(message)))];
            }
            response
        }
        Err(AppendError::Producer(error)) => failed(index, code(error.kafka_error_code()), Some(error.to_string())),
        Err(AppendError::Storage(error)) => {
            tracing::error!(topic = %topic.name, partition = index, %error, "append failed");
            failed(index, ResponseError::KafkaStorageError, Some(error.to_string()))
        }
    }
}

/// fsyncs the log up to `offset` off the async threads; concurrent callers share fsyncs.
async fn flush(log: Arc<PartitionLog>, offset: i64) -> Result<(), String> {
    match tokio::task::spawn_blocking(move || log.flush_until(offset)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(error) => Err(error.to_string()),
    }
}

fn failed(index: i32, error: ResponseError, message: Option<String>) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(error.code())
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
        .with_error_message(message.map(str_bytes))
}

fn code(code: i16) -> ResponseError {
    kafka_protocol::error::ParseResponseErrorCode::err(code).unwrap_or(ResponseError::UnknownServerError)
}
