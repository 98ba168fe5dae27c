//! Fetch (key 1), versions 4-18. Whole batches as stored, from the batch
//! holding the fetch offset, up to `partition_max_bytes` per partition and
//! `max_bytes` overall, always at least one batch for the first partition
//! with data (as Kafka does, so a batch larger than the limits still
//! progresses). Long poll: when fewer than `min_bytes` are ready, wait until
//! data arrives on a partition asked for (an append there, its deletion),
//! `max_wait_ms` passes, or the broker shuts down (see `fetch_waiters`). No
//! fetch sessions: session id 0 is always answered, which every client
//! handles as "full fetches". The high
//! watermark is the log end offset (one replica); the last stable offset is
//! the first offset of the oldest open transaction, or the high watermark. A
//! read_committed fetch (isolation level 1) never returns data at or past the
//! last stable offset and lists the aborted transactions overlapping the data
//! it returns (null for read_uncommitted, as in Kafka). As in Kafka, a fetch
//! that asks for nothing, or whose partitions include an error, is answered at
//! once.
//!
//! Records of a partition of at least [`SEND_APART_MIN_BYTES`] are not read
//! here: the response carries their file range ([`Fetched::apart`]) and the
//! connection sends it (sendfile(2) on plain TCP, so they never enter the
//! broker's memory; read and written on TLS). A read failing then closes the
//! connection, as in Kafka (its `transferTo` fails the same way); one
//! failing here answers KAFKA_STORAGE_ERROR for that partition.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{AbortedTransaction, FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, ProducerId};
use strom_storage::error::StorageError;
use strom_storage::segment::FileSlice;

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};
use crate::fetch_waiters::Woken;
use crate::metadata::MetadataImage;

/// Longest long poll honoured, whatever the client asks (Kafka has none; a
/// bound keeps a connection's shutdown prompt).
const MAX_WAIT_CAP: Duration = Duration::from_secs(30);
/// Shorter records are read into memory at once: below this, a sendfile(2)
/// per partition costs more than the copy it saves.
pub const SEND_APART_MIN_BYTES: usize = 32 * 1024;

/// A Fetch response, and the records of its partitions left in their files.
pub struct Fetched {
    /// `records` is `None` where `apart` holds them.
    pub response: FetchResponse,
    /// By partition, counted across topics in order (see
    /// `strom_protocol::fetch_response::encode_fetch_response_apart`).
    pub apart: Vec<Option<FileSlice>>,
}

impl Fetched {
    /// Whether any partition's records are still in their file.
    pub fn has_records_apart(&self) -> bool {
        self.apart.iter().any(Option::is_some)
    }

    /// The response with every record in it (for kafka-protocol's encoder, or a test).
    pub fn read_in(self) -> std::io::Result<FetchResponse> {
        let Fetched { mut response, apart } = self;
        let partitions = response.responses.iter_mut().flat_map(|t| t.partitions.iter_mut());
        for (partition, slice) in partitions.zip(apart) {
            if let Some(slice) = slice {
                partition.records = Some(slice.read()?);
            }
        }
        Ok(response)
    }
}

pub async fn handle(ctx: &RequestContext<'_>, req: FetchRequest) -> Fetched {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0)).min(MAX_WAIT_CAP);
    let (response, bytes) = read_all(ctx, &req);
    if answer_now(&req, &response.response, bytes) || tokio::time::Instant::now() >= deadline {
        return response;
    }
    // Long poll (Kafka's DelayedFetch): wait on the partitions asked for only.
    // Registered before reading again, so an append after that read wakes us
    // even if it lands before the wait starts.
    let registration = ctx.broker.partitions.waiters().register(requested_partitions(ctx, &req));
    loop {
        let (response, bytes) = read_all(ctx, &req);
        if answer_now(&req, &response.response, bytes) || tokio::time::Instant::now() >= deadline {
            return response;
        }
        match registration.wait_until(deadline).await {
            Woken::Changed => continue,
            Woken::Deadline | Woken::Closing => return read_all(ctx, &req).0,
        }
    }
}

/// As Kafka's ReplicaManager: answer at once when there is enough data,
/// nothing was asked for, or any partition has an error.
fn answer_now(req: &FetchRequest, response: &FetchResponse, bytes: i64) -> bool {
    let any_error = response.error_code != 0 || response.responses.iter().flat_map(|t| &t.partitions).any(|p| p.error_code != 0);
    let nothing_asked = response.responses.iter().all(|t| t.partitions.is_empty());
    bytes >= i64::from(req.min_bytes.max(1)) || any_error || nothing_asked
}

/// The partitions a fetch reads, by topic name (topics it names by an
/// unknown id answer an error, so the fetch never waits on them).
fn requested_partitions(ctx: &RequestContext<'_>, req: &FetchRequest) -> Vec<(String, i32)> {
    let image = ctx.broker.metadata.image();
    req.topics
        .iter()
        .filter_map(|topic| {
            let name = if ctx.api_version >= 13 { image.topic_by_id(&topic.topic_id)?.name.clone() } else { topic.topic.0.to_string() };
            Some(topic.partitions.iter().map(move |p| (name.clone(), p.partition)))
        })
        .flatten()
        .collect()
}

/// One pass over every requested partition. Returns the response and the bytes in it.
fn read_all(ctx: &RequestContext<'_>, req: &FetchRequest) -> (Fetched, i64) {
    let image = ctx.broker.metadata.image();
    let mut budget = usize::try_from(req.max_bytes).unwrap_or(0).max(1);
    let mut total = 0i64;
    let mut apart = Vec::new();
    let mut first_data = true;
    let read_committed = req.isolation_level == 1;
    let responses = req
        .topics
        .iter()
        .map(|topic| {
            let name = if ctx.api_version >= 13 {
                image.topic_by_id(&topic.topic_id).map(|t| t.name.clone())
            } else {
                Some(topic.topic.0.to_string())
            };
            // Kafka checks READ before anything else about the topic.
            let authorized = name.as_deref().is_none_or(|n| ctx.authorized(AclOperation::Read, ResourceType::Topic, n));
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let (data, slice) = if authorized {
                        read_partition(ctx, &image, name.as_deref(), p, read_committed, &mut budget, &mut first_data)
                    } else {
                        (unauthorized(p.partition), None)
                    };
                    total += data.records.as_ref().map_or(0, |r| r.len() as i64) + slice.as_ref().map_or(0, |s| s.len as i64);
                    apart.push(slice);
                    data
                })
                .collect();
            FetchableTopicResponse::default().with_topic(topic.topic.clone()).with_topic_id(topic.topic_id).with_partitions(partitions)
        })
        .collect();
    (Fetched { response: FetchResponse::default().with_responses(responses), apart }, total)
}

fn unauthorized(partition: i32) -> PartitionData {
    PartitionData::default()
        .with_partition_index(partition)
        .with_error_code(ResponseError::TopicAuthorizationFailed.code())
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_preferred_read_replica(BrokerId(-1))
        .with_records(Some(Bytes::new()))
}

fn read_partition(
    ctx: &RequestContext<'_>,
    image: &MetadataImage,
    topic: Option<&str>,
    p: &kafka_protocol::messages::fetch_request::FetchPartition,
    read_committed: bool,
    budget: &mut usize,
    first_data: &mut bool,
) -> (PartitionData, Option<FileSlice>) {
    let empty = PartitionData::default()
        .with_partition_index(p.partition)
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_preferred_read_replica(BrokerId(-1))
        .with_records(Some(Bytes::new()));
    let unknown = if ctx.api_version >= 13 { ResponseError::UnknownTopicId } else { ResponseError::UnknownTopicOrPartition };
    let Some(topic) = topic.filter(|t| image.topic(t).is_some()) else {
        return (empty.with_error_code(unknown.code()), None);
    };
    let Some(log) = ctx.broker.partitions.log(topic, p.partition) else {
        return (empty.with_error_code(ResponseError::UnknownTopicOrPartition.code()), None);
    };
    // Reads return at least one whole batch, so the first partition with data
    // progresses even past the limits, as in Kafka; later ones stop at the budget.
    let limit = usize::try_from(p.partition_max_bytes).unwrap_or(0).min(*budget);
    // Nothing past the high watermark (the log end offset, one replica) is read;
    // once the budget is spent, nothing at all.
    let (max_bytes, max_offset) = if limit == 0 && !*first_data { (1, p.fetch_offset) } else { (limit.max(1), i64::MAX) };
    let read = if read_committed {
        log.read_committed(p.fetch_offset, max_bytes, max_offset)
    } else {
        log.read(p.fetch_offset, max_bytes, max_offset)
    };
    let read = match read {
        Ok(read) => read,
        Err(StorageError::OffsetOutOfRange { log_start_offset, log_end_offset, .. }) => {
            let out_of_range = empty
                .with_error_code(ResponseError::OffsetOutOfRange.code())
                .with_high_watermark(log_end_offset)
                .with_last_stable_offset(log.last_stable_offset())
                .with_log_start_offset(log_start_offset);
            return (out_of_range, None);
        }
        Err(error) => {
            tracing::error!(topic, partition = p.partition, %error, "fetch read failed");
            return (empty.with_error_code(ResponseError::KafkaStorageError.code()), None);
        }
    };
    let (records, slice) = match read.data {
        None => (Some(Bytes::new()), None),
        Some(slice) if slice.len >= SEND_APART_MIN_BYTES => (None, Some(slice)),
        Some(slice) => match slice.read() {
            Ok(bytes) => (Some(bytes), None),
            Err(error) => {
                tracing::error!(topic, partition = p.partition, %error, "fetch read failed");
                return (empty.with_error_code(ResponseError::KafkaStorageError.code()), None);
            }
        },
    };
    let len = records.as_ref().map_or(0, Bytes::len) + slice.as_ref().map_or(0, |s| s.len);
    if len > 0 {
        *first_data = false;
        *budget = budget.saturating_sub(len);
    }
    let aborted = read.aborted_transactions.map(|list| {
        list.into_iter()
            .map(|t| AbortedTransaction::default().with_producer_id(ProducerId(t.producer_id)).with_first_offset(t.first_offset))
            .collect()
    });
    let data = empty
        .with_high_watermark(read.log_end_offset)
        .with_last_stable_offset(read.last_stable_offset)
        .with_log_start_offset(read.log_start_offset)
        .with_aborted_transactions(aborted)
        .with_records(records);
    (data, slice)
}
