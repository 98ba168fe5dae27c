//! ListOffsets (key 2), versions 1-10: earliest (-2), latest (-1), the
//! largest timestamp (-3, v7+), earliest local (-4, v8+, = earliest without
//! tiered storage), or the first batch whose timestamp reaches the one asked
//! for. read_committed (isolation level 1, v2+) answers the last stable offset
//! for latest, and a timestamp lookup (or -3) that lands at or past it answers
//! no offset (-1, -1), as Kafka's `lastFetchableOffset` makes it; the high
//! watermark bounds read_uncommitted the same way, but it is the log end
//! offset here (one replica). Timestamp lookups answer to the record.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
const EARLIEST_PENDING_UPLOAD: i64 = -5;
/// The isolation level of read_committed consumers.
const READ_COMMITTED: i8 = 1;

pub fn handle(ctx: &RequestContext<'_>, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let image = ctx.broker.metadata.image();
    let topics = req
        .topics
        .into_iter()
        .map(|topic| {
            let known = image.topic(&topic.name.0);
            let authorized = ctx.authorized(AclOperation::Describe, ResourceType::Topic, &topic.name.0);
            let partitions = topic
                .partitions
                .into_iter()
                .map(|p| {
                    let response = ListOffsetsPartitionResponse::default().with_partition_index(p.partition_index);
                    if !authorized {
                        return response.with_error_code(ResponseError::TopicAuthorizationFailed.code()).with_timestamp(-1).with_offset(-1);
                    }
                    let epoch = known.and_then(|t| t.partitions.get(usize::try_from(p.partition_index).ok()?)).map(|p| p.leader_epoch);
                    let (Some(epoch), Some(log)) = (epoch, ctx.broker.partitions.log(&topic.name.0, p.partition_index)) else {
                        return response.with_error_code(ResponseError::UnknownTopicOrPartition.code()).with_timestamp(-1).with_offset(-1);
                    };
                    // Kafka's lastFetchableOffset: v0 has no isolation level (the log end offset).
                    let last_fetchable = if req.isolation_level == READ_COMMITTED { log.last_stable_offset() } else { log.log_end_offset() };
                    let (timestamp, offset) = match p.timestamp {
                        LATEST => (-1, last_fetchable),
                        EARLIEST | EARLIEST_LOCAL | EARLIEST_PENDING_UPLOAD => (-1, log.log_start_offset()),
                        MAX_TIMESTAMP => log.max_timestamp().map_or((-1, -1), |t| (t.timestamp, t.offset)),
                        ts if ts >= 0 => match log.offset_for_timestamp(ts) {
                            Ok(found) => found.map_or((-1, -1), |t| (t.timestamp, t.offset)),
                            Err(error) => {
                                tracing::error!(topic = %topic.name.0, partition = p.partition_index, %error, "timestamp lookup failed");
                                return response.with_error_code(ResponseError::KafkaStorageError.code()).with_timestamp(-1).with_offset(-1);
                            }
                        },
                        _ => {
                            return response.with_error_code(ResponseError::InvalidRequest.code()).with_timestamp(-1).with_offset(-1);
                        }
                    };
                    // A found offset at or past what may be fetched is no answer (Kafka's ReplicaManager.fetchOffset).
                    let found_unfetchable = !matches!(p.timestamp, LATEST | EARLIEST | EARLIEST_LOCAL | EARLIEST_PENDING_UPLOAD) && offset >= last_fetchable;
                    let (timestamp, offset) = if found_unfetchable { (-1, -1) } else { (timestamp, offset) };
                    let response = response.with_timestamp(timestamp).with_offset(offset);
                    if ctx.api_version >= 4 { response.with_leader_epoch(epoch) } else { response }
                })
                .collect();
            ListOffsetsTopicResponse::default().with_name(topic.name).with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}
