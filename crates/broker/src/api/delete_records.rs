//! DeleteRecords (key 21), versions 0-2: moves a partition's log start offset
//! forward, deleting whole segments below it; records before it are no longer
//! served. Offset -1 means the high watermark, as in Kafka; an offset above it
//! is OFFSET_OUT_OF_RANGE. The answer's low watermark is the new log start.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{DeleteRecordsPartitionResult, DeleteRecordsTopicResult};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use strom_storage::error::StorageError;

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

/// Kafka's "up to the high watermark" offset.
const HIGH_WATERMARK: i64 = -1;

pub fn handle(ctx: &RequestContext<'_>, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|topic| {
            let authorized = ctx.authorized(AclOperation::Delete, ResourceType::Topic, &topic.name.0);
            let partitions = topic
                .partitions
                .into_iter()
                .map(|p| {
                    let result = DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index).with_low_watermark(-1);
                    if !authorized {
                        return result.with_error_code(ResponseError::TopicAuthorizationFailed.code());
                    }
                    let Some(log) = ctx.broker.partitions.log(&topic.name.0, p.partition_index) else {
                        return result.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    let offset = if p.offset == HIGH_WATERMARK { log.log_end_offset() } else { p.offset };
                    match log.delete_records_before(offset) {
                        Ok(low_watermark) => result.with_low_watermark(low_watermark),
                        Err(StorageError::OffsetOutOfRange { .. }) => result.with_error_code(ResponseError::OffsetOutOfRange.code()),
                        Err(error) => {
                            tracing::error!(topic = %topic.name.0, partition = p.partition_index, %error, "delete records failed");
                            result.with_error_code(ResponseError::KafkaStorageError.code())
                        }
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default().with_name(topic.name).with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}
