//! OffsetDelete (key 47), version 0: removes a group's committed offsets of
//! some partitions, unless the group is active and subscribed to the topic
//! (GROUP_SUBSCRIBED_TO_TOPIC), as Kafka does.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse, TopicName};

use super::{str_bytes, RequestContext};
use crate::auth::acl::{AclOperation, ResourceType};

pub fn handle(ctx: &RequestContext<'_>, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    // Kafka: DELETE on the group.
    if !ctx.authorized(AclOperation::Delete, ResourceType::Group, &req.group_id) {
        return OffsetDeleteResponse::default().with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let partitions: Vec<(String, i32)> = req
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t.name.0.to_string(), p.partition_index)))
        .collect();
    let results = match ctx.broker.groups.delete_offsets(&req.group_id, &partitions) {
        Ok(results) => results,
        Err(error) => return OffsetDeleteResponse::default().with_error_code(error.code()),
    };
    let mut topics: Vec<OffsetDeleteResponseTopic> = Vec::new();
    for (topic, partition, result) in results {
        let answer = OffsetDeleteResponsePartition::default()
            .with_partition_index(partition)
            .with_error_code(result.err().map_or(0, |e| e.code()));
        match topics.last_mut() {
            Some(last) if last.name.0.as_str() == topic => last.partitions.push(answer),
            _ => topics.push(OffsetDeleteResponseTopic::default().with_name(TopicName(str_bytes(topic))).with_partitions(vec![answer])),
        }
    }
    OffsetDeleteResponse::default().with_topics(topics)
}
