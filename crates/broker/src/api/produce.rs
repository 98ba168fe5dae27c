//! Produce (key 0). Advertised from v0 because librdkafka 1.x looks for it
//! (KAFKA-18659), served from v3 (record batch v2), up to v13 (topic ids).
//! acks=0 gets no response at all; acks=1 answers once the batch is written;
//! acks=-1 also checks `min.insync.replicas` against the in-sync replicas and
//! waits for an fsync when the topic's flush policy asks for one (shared with
//! every producer waiting at the same time). v8+ responses carry record errors
//! and an error message. Unknown topics are created when auto-creation is on;
//! internal topics (`__consumer_offsets`, `__transaction_state`) are refused.
//! Transactional batches (attributes bit 4) begin or continue their producer's
//! transaction in the partition (tracked only with a producer id, as in Kafka);
//! a request holding one without a transactional id fails as a whole with
//! TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka's `handleProduceRequest`
//! answers it. Before a transaction's first write to a partition the
//! coordinator must confirm the partition is in the transaction (KIP-890,
//! `transaction.partition.verification.enable`), as Kafka 4 does: else
//! INVALID_TXN_STATE (TRANSACTION_ABORTABLE from v11), INVALID_PRODUCER_EPOCH
//! for a fenced producer, and NOT_ENOUGH_REPLICAS (retried by every client)
//! while the coordinator is busy ending the transaction.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_request::PartitionProduceData;
use kafka_protocol::messages::produce_response::{BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use strom_storage::batch::BatchHeader;
use strom_storage::log::{AppendError, PartitionLog};
use strom_storage::producer_state::VerificationGuard;
use strom_storage::validator;

use super::{str_bytes, RequestContext};
use crate::auth::acl::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::metadata::{NewTopic, TopicImage};

/// An fsync started by [`flush`].
type FlushHandle = tokio::task::JoinHandle<Result<(), String>>;

/// A Produce request whose partitions are all appended (or refused).
pub enum Appended {
    /// Its response (`None` for acks=0).
    Done(Option<ProduceResponse>),
    /// Its response once the fsyncs its acks wait for are done.
    Flushing(Flushing),
}

/// A Produce response waiting for fsyncs of some of its partitions (already
/// started, off the async threads).
pub struct Flushing {
    topics: Vec<TopicProduceResponse>,
    /// (topic, partition) index in `topics`, the partition, and the fsync it waits for.
    flushes: Vec<(usize, usize, (String, i32), FlushHandle)>,
}

impl Flushing {
    /// The response, once every fsync it waits for is done; a failed one
    /// answers KAFKA_STORAGE_ERROR for its partition only.
    pub async fn durable(self, broker: &Broker) -> ProduceResponse {
        let Flushing { mut topics, flushes } = self;
        for (t, p, (name, index), handle) in flushes {
            if let Err(error) = flushed(handle).await {
                // The log is offline now: its waiting fetches answer the storage error.
                broker.partitions.waiters().wake(&name, index);
                let Some(topic) = topics.get_mut(t) else { continue };
                let Some(response) = topic.partition_responses.get_mut(p) else { continue };
                tracing::error!(topic = %topic.name.0, partition = response.index, %error, "flush failed");
                *response = failed(response.index, ResponseError::KafkaStorageError, Some(error));
            }
        }
        log_refused(&topics);
        ProduceResponse::default().with_responses(topics)
    }
}

/// Appends every partition of the request in order (idempotent sequences and
/// transactions are checked here) and starts the fsyncs the flush policy asks
/// for without waiting for them: a connection may append the requests that
/// follow while they run (see `connection/owed.rs`).
pub fn append(ctx: &RequestContext<'_>, req: ProduceRequest) -> Appended {
    let acks = req.acks;
    // Kafka's handleProduceRequest: transactional records need a transactional
    // id the principal may WRITE, or the whole request fails.
    if has_transactional_records(&req) {
        let authorized = req.transactional_id.as_ref().is_some_and(|id| ctx.authorized(AclOperation::Write, ResourceType::TransactionalId, id));
        if !authorized {
            let error = ResponseError::TransactionalIdAuthorizationFailed;
            return Appended::Done((acks != 0).then(|| refuse_all(&req, error, "Transactional Id authorization failed.")));
        }
    }
    let transactional_id = req.transactional_id.as_ref().map(|id| id.to_string());
    let mut topics = Vec::with_capacity(req.topic_data.len());
    // Every partition is appended first; the fsyncs they need then run at
    // once (one per partition log, in parallel), not one after the other.
    let mut flushes = Vec::new();
    for topic in req.topic_data {
        let found = find_topic(ctx, &topic.name.0, topic.topic_id);
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for data in topic.partition_data {
            let index = data.index;
            let response = match &found {
                Err(error) => failed(index, *error, None),
                // Only the coordinators write internal topics (Kafka's ReplicaManager).
                Ok(t) if is_internal(&t.name) => {
                    failed(index, ResponseError::InvalidTopicException, Some(format!("Cannot append to internal topic {}", t.name)))
                }
                Ok(_) if !matches!(acks, -1..=1) => failed(index, ResponseError::InvalidRequiredAcks, None),
                Ok(t) => {
                    let produced = produce_partition(ctx, t, data, acks, transactional_id.as_deref());
                    // Fetches waiting on the partition read the batch now (it is
                    // readable before any fsync, as below Kafka's high watermark),
                    // or its storage error.
                    let code = produced.response().error_code;
                    if code == 0 || code == ResponseError::KafkaStorageError.code() {
                        ctx.broker.partitions.waiters().wake(&t.name, index);
                    }
                    match produced {
                        Produced::Done(response) => response,
                        Produced::Flushing(response, flush) => {
                            flushes.push((topics.len(), partitions.len(), (t.name.clone(), index), flush));
                            response
                        }
                    }
                }
            };
            partitions.push(response);
        }
        topics.push(
            TopicProduceResponse::default().with_name(topic.name).with_topic_id(topic.topic_id).with_partition_responses(partitions),
        );
    }
    if !flushes.is_empty() {
        // Only acks != 0 waits for fsyncs (see produce_partition).
        return Appended::Flushing(Flushing { topics, flushes });
    }
    log_refused(&topics);
    Appended::Done((acks != 0).then(|| ProduceResponse::default().with_responses(topics)))
}

/// Logs the refused partitions (at debug).
fn log_refused(topics: &[TopicProduceResponse]) {
    for topic in topics {
        for response in topic.partition_responses.iter().filter(|r| r.error_code != 0) {
            tracing::debug!(topic = %topic.name.0, partition = response.index, error = response.error_code, message = ?response.error_message, "produce refused");
        }
    }
}

/// Kafka's `RequestUtils.hasTransactionalRecords`: the first batch of any partition
/// has the transactional bit.
fn has_transactional_records(req: &ProduceRequest) -> bool {
    req.topic_data
        .iter()
        .flat_map(|t| &t.partition_data)
        .filter_map(|p| p.records.as_deref())
        .any(|records| BatchHeader::parse(records).is_ok_and(|h| h.is_transactional()))
}

/// Every partition of the request failed with `error` and Kafka's `message` for it
/// (Kafka's `ProduceRequest.getErrorResponse`).
fn refuse_all(req: &ProduceRequest, error: ResponseError, message: &str) -> ProduceResponse {
    let topics = req
        .topic_data
        .iter()
        .map(|topic| {
            let partitions = topic.partition_data.iter().map(|p| failed(p.index, error, Some(message.to_owned()))).collect();
            TopicProduceResponse::default().with_name(topic.name.clone()).with_topic_id(topic.topic_id).with_partition_responses(partitions)
        })
        .collect();
    ProduceResponse::default().with_responses(topics)
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

/// A partition's answer, or its answer once the fsync it waits for is done.
enum Produced {
    Done(PartitionProduceResponse),
    Flushing(PartitionProduceResponse, tokio::task::JoinHandle<Result<(), String>>),
}

impl Produced {
    fn response(&self) -> &PartitionProduceResponse {
        match self {
            Produced::Done(response) | Produced::Flushing(response, _) => response,
        }
    }
}

impl From<PartitionProduceResponse> for Produced {
    fn from(response: PartitionProduceResponse) -> Self {
        Produced::Done(response)
    }
}

fn produce_partition(
    ctx: &RequestContext<'_>,
    topic: &TopicImage,
    data: PartitionProduceData,
    acks: i16,
    transactional_id: Option<&str>,
) -> Produced {
    let index = data.index;
    let Some(partition) = topic.partitions.get(usize::try_from(index).unwrap_or(usize::MAX)) else {
        return failed(index, ResponseError::UnknownTopicOrPartition, None).into();
    };
    let Some(log) = ctx.broker.partitions.log(&topic.name, index) else {
        return failed(index, ResponseError::NotLeaderOrFollower, None).into();
    };
    let Some(records) = data.records else {
        return failed(index, ResponseError::InvalidRecord, Some("The produce request has no records.".into())).into();
    };
    if let Err(error) = validator::check_produce_version(&records, ctx.api_version) {
        return failed(index, code(error.kafka_error_code()), Some(error.to_string())).into();
    }
    if acks == -1 {
        let min_isr = topic.configs.get("min.insync.replicas").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1);
        if partition.isr.len() < min_isr {
            let message = format!(
                "The size of the current ISR {} is insufficient to satisfy the min.isr requirement of {min_isr} for partition {}-{index}",
                partition.isr.len(),
                topic.name
            );
            return failed(index, ResponseError::NotEnoughReplicas, Some(message)).into();
        }
    }
    let verified = match verify(ctx, transactional_id, &topic.name, index, &records, &log) {
        Ok(verified) => verified,
        Err(response) => return (*response).into(),
    };
    // No copy between socket and file: the log writes the records from the
    // request buffer, behind a patched copy of the batch header.
    let epoch = partition.leader_epoch;
    let appended = match verified {
        None => log.append_records(&records, epoch, crate::now_ms()),
        Some(guard) => log.append_records_verified(&records, epoch, crate::now_ms(), guard),
    };
    match appended {
        Ok(info) => {
            let response = PartitionProduceResponse::default()
                .with_index(index)
                .with_base_offset(info.base_offset)
                .with_log_append_time_ms(info.log_append_time.unwrap_or(-1))
                .with_log_start_offset(info.log_start_offset);
            if info.needs_flush && acks != 0 {
                return Produced::Flushing(response, flush(log, info.last_offset + 1));
            } else if info.needs_flush {
                tokio::task::spawn_blocking(move || log.flush());
            }
            response.into()
        }
        Err(AppendError::Invalid(error)) => {
            let mut response = failed(index, code(error.kafka_error_code()), Some(error.to_string()));
            if let Some((batch_index, message)) = error.record_error() {
                response.record_errors = vec![BatchIndexAndErrorMessage::default()
                    .with_batch_index(batch_index)
                    .with_batch_index_error_message(Some(str_bytes(message)))];
            }
            response.into()
        }
        Err(AppendError::Producer(error)) => failed(index, code(error.kafka_error_code()), Some(error.to_string())).into(),
        Err(AppendError::Storage(error)) => {
            tracing::error!(topic = %topic.name, partition = index, %error, "append failed");
            failed(index, ResponseError::KafkaStorageError, Some(error.to_string())).into()
        }
    }
}

/// KIP-890 for a transactional batch (Kafka's `ReplicaManager.handleProduceAppend`):
/// `Some(guard)` to append with when it is verified, `None` when no
/// verification applies, or the partition's error answer.
fn verify(
    ctx: &RequestContext<'_>,
    transactional_id: Option<&str>,
    topic: &str,
    index: i32,
    records: &[u8],
    log: &PartitionLog,
) -> Result<Option<Option<VerificationGuard>>, Box<PartitionProduceResponse>> {
    let Some(transactional_id) = transactional_id.filter(|_| ctx.broker.config.transaction_partition_verification_enable) else { return Ok(None) };
    let Ok(header) = BatchHeader::parse(records) else { return Ok(None) };
    if !header.is_transactional() || !header.has_producer_id() {
        return Ok(None);
    }
    let partition = (topic.to_string(), index);
    let verified = ctx.broker.txns.verify_write(
        log,
        partition,
        transactional_id,
        header.producer_id,
        header.producer_epoch,
        header.base_sequence,
        ctx.api_version > 10,
    );
    match verified {
        Ok(guard) => Ok(Some(guard)),
        Err(ResponseError::InvalidTxnState) => {
            Err(Box::new(failed(index, ResponseError::InvalidTxnState, Some("Partition was not added to the transaction".into()))))
        }
        Err(
            error @ (ResponseError::ConcurrentTransactions
            | ResponseError::CoordinatorLoadInProgress
            | ResponseError::CoordinatorNotAvailable
            | ResponseError::NotCoordinator),
        ) => {
            // Retriable for every client, and no metadata refresh (Kafka's choice).
            let message = format!("Unable to verify the partition has been added to the transaction. Underlying error: {}", error_name(error));
            Err(Box::new(failed(index, ResponseError::NotEnoughReplicas, Some(message))))
        }
        Err(error) => Err(Box::new(failed(index, error, None))),
    }
}

/// Kafka's `Errors.toString()` for the errors verification retries.
fn error_name(error: ResponseError) -> &'static str {
    match error {
        ResponseError::ConcurrentTransactions => "CONCURRENT_TRANSACTIONS",
        ResponseError::CoordinatorLoadInProgress => "COORDINATOR_LOAD_IN_PROGRESS",
        ResponseError::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
        _ => "NOT_COORDINATOR",
    }
}

/// Starts an fsync of the log up to `offset` off the async threads;
/// concurrent callers share fsyncs (group commit).
fn flush(log: Arc<PartitionLog>, offset: i64) -> tokio::task::JoinHandle<Result<(), String>> {
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let flushed = log.flush_until(offset).map_err(|error| error.to_string());
        crate::metrics::get().flush_seconds.observe(started.elapsed().as_secs_f64());
        flushed
    })
}

/// Waits for a flush started by [`flush`].
async fn flushed(handle: tokio::task::JoinHandle<Result<(), String>>) -> Result<(), String> {
    match handle.await {
        Ok(result) => result,
        Err(error) => Err(error.to_string()),
    }
}

/// Kafka's `Topic.isInternal`.
pub fn is_internal(topic: &str) -> bool {
    topic == crate::group::records::OFFSETS_TOPIC || topic == "__transaction_state"
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
