//! DescribeProducers (key 61), version 0 (KIP-664): the producers each
//! partition remembers (idempotent and transactional), with their epoch, last
//! sequence, last timestamp, the coordinator epoch of their last marker and
//! the first offset of their open transaction (-1: none). Unknown partitions
//! are UNKNOWN_TOPIC_OR_PARTITION, partitions not hosted here
//! NOT_LEADER_OR_FOLLOWER; a topic needs READ (TOPIC_AUTHORIZATION_FAILED),
//! as in Kafka.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_producers_response::{PartitionResponse, ProducerState, TopicResponse};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};
use strom_storage::batch::NO_SEQUENCE;

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

pub fn handle(ctx: &RequestContext<'_>, req: DescribeProducersRequest) -> DescribeProducersResponse {
    let image = ctx.broker.metadata.image();
    let topics = req
        .topics
        .into_iter()
        .map(|topic| {
            let known = image.topic(&topic.name.0);
            let readable = ctx.authorized(AclOperation::Read, ResourceType::Topic, &topic.name.0);
            let partitions = topic
                .partition_indexes
                .iter()
                .map(|&index| {
                    let response = PartitionResponse::default().with_partition_index(index);
                    if !readable {
                        return response.with_error_code(ResponseError::TopicAuthorizationFailed.code());
                    }
                    if !known.is_some_and(|t| usize::try_from(index).is_ok_and(|i| i < t.partitions.len())) {
                        return response.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    }
                    let Some(log) = ctx.broker.partitions.log(&topic.name.0, index) else {
                        return response.with_error_code(ResponseError::NotLeaderOrFollower.code());
                    };
                    let producers = log
                        .producers()
                        .into_iter()
                        .map(|(id, entry)| {
                            let last = entry.batches.back();
                            ProducerState::default()
                                .with_producer_id(ProducerId(id))
                                .with_producer_epoch(i32::from(entry.epoch))
                                .with_last_sequence(last.map_or(NO_SEQUENCE, |b| b.last_sequence))
                                .with_last_timestamp(last.map_or(entry.last_timestamp, |b| b.timestamp))
                                .with_coordinator_epoch(entry.coordinator_epoch)
                                .with_current_txn_start_offset(entry.current_txn_first_offset.unwrap_or(-1))
                        })
                        .collect();
                    response.with_active_producers(producers)
                })
                .collect();
            TopicResponse::default().with_name(topic.name).with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}
