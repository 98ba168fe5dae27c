//! DeleteTopics (key 20), versions 1-6. v0-5 name topics in `topic_names`;
//! v6 in `topics`, each by name or by topic id. Partition logs go with the
//! topic (see `partitions`).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use uuid::Uuid;

use super::{str_bytes, RequestContext};
use crate::auth::acl::{AclOperation, ResourceType};
use crate::metadata::TopicError;

pub fn handle(ctx: &RequestContext<'_>, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let targets: Vec<(Option<String>, Uuid)> = if ctx.api_version >= 6 {
        req.topics.into_iter().map(|t| (t.name.map(|n| n.0.to_string()), t.topic_id)).collect()
    } else {
        req.topic_names.into_iter().map(|n| (Some(n.0.to_string()), Uuid::nil())).collect()
    };
    let responses = targets
        .into_iter()
        .map(|(name, id)| {
            let denied = || TopicError::new(ResponseError::TopicAuthorizationFailed, "Topic authorization failed.");
            let may_delete = |name: &str| ctx.authorized(AclOperation::Delete, ResourceType::Topic, name);
            let result = match &name {
                Some(name) if !may_delete(name) => Err(denied()),
                Some(name) => ctx.broker.metadata.delete_topic(name).map(|id| (name.clone(), id)),
                None if !id.is_nil() => match ctx.broker.metadata.image().topic_by_id(&id) {
                    Some(topic) if !may_delete(&topic.name) => Err(denied()),
                    _ => ctx.broker.metadata.delete_topic_by_id(id).map(|name| (name, id)),
                },
                None => Err(TopicError::new(ResponseError::InvalidRequest, "A topic needs a name or an id.")),
            };
            match result {
                Ok((name, id)) => DeletableTopicResult::default().with_name(Some(TopicName(str_bytes(name)))).with_topic_id(id),
                Err(error) => DeletableTopicResult::default()
                    .with_name(name.map(|n| TopicName(str_bytes(n))))
                    .with_topic_id(id)
                    .with_error_code(error.code())
                    .with_error_message(Some(str_bytes(error.message))),
            }
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}
