//! CreatePartitions (key 37), versions 0-3: grows topics, or with
//! validate_only only checks that it could. Manual assignments are refused
//! until brokers can be more than one.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::{str_bytes, RequestContext, MAX_PARTITIONS_PER_REQUEST, TOO_MANY_PARTITIONS};
use crate::auth::acl::{AclOperation, ResourceType};
use crate::metadata::TopicError;

pub fn handle(ctx: &RequestContext<'_>, req: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let image = ctx.broker.metadata.image();
    let added: i64 = req
        .topics
        .iter()
        .map(|t| {
            let current = image.topic(&t.name.0).map_or(0, |topic| topic.partitions.len() as i64);
            (i64::from(t.count) - current).max(0)
        })
        .sum();
    if added > MAX_PARTITIONS_PER_REQUEST {
        let results = req
            .topics
            .into_iter()
            .map(|t| {
                CreatePartitionsTopicResult::default()
                    .with_name(t.name)
                    .with_error_code(ResponseError::PolicyViolation.code())
                    .with_error_message(Some(str_bytes(TOO_MANY_PARTITIONS)))
            })
            .collect();
        return CreatePartitionsResponse::default().with_results(results);
    }
    let results = req
        .topics
        .into_iter()
        .map(|topic| {
            let result = CreatePartitionsTopicResult::default().with_name(topic.name.clone());
            let outcome = if !ctx.authorized(AclOperation::Alter, ResourceType::Topic, &topic.name.0) {
                Err(TopicError::new(ResponseError::TopicAuthorizationFailed, "Topic authorization failed."))
            } else if topic.assignments.as_ref().is_some_and(|a| !a.is_empty()) {
                Err(TopicError::new(ResponseError::InvalidReplicaAssignment, "Manual replica assignment is not supported by Strom yet."))
            } else {
                ctx.broker.metadata.create_partitions(&topic.name.0, topic.count, req.validate_only)
            };
            match outcome {
                Ok(()) => result,
                Err(error) => result.with_error_code(error.code()).with_error_message(Some(str_bytes(error.message))),
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}
