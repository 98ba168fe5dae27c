//! CreateTopics (key 19), versions 2-7. validate_only; -1 partitions or
//! replication factor take the broker defaults; v5+ answers carry the
//! partition count, replication factor and configs; v7 the topic id.
//! Manual replica assignments are refused (INVALID_REPLICA_ASSIGNMENT) until
//! brokers can be more than one. Duplicate names in one request are all
//! refused with INVALID_REQUEST, as Kafka does.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};

use super::{str_bytes, RequestContext, MAX_PARTITIONS_PER_REQUEST, TOO_MANY_PARTITIONS};
use crate::auth::acl::{AclOperation, ResourceType};
use crate::metadata::{topic_config, NewTopic, TopicError};

pub fn handle(ctx: &RequestContext<'_>, req: CreateTopicsRequest) -> CreateTopicsResponse {
    // Kafka checks the request's total first and fails every topic if it is too large.
    let default_partitions = i64::from(ctx.broker.config.num_partitions);
    let total: i64 = req
        .topics
        .iter()
        .map(|t| match (t.assignments.len(), t.num_partitions) {
            (0, -1) => default_partitions,
            (0, n) => i64::from(n.max(0)),
            (assigned, _) => assigned as i64,
        })
        .sum();
    if total > MAX_PARTITIONS_PER_REQUEST {
        let error = TopicError::new(ResponseError::PolicyViolation, TOO_MANY_PARTITIONS);
        let results =
            req.topics.into_iter().map(|t| failed(CreatableTopicResult::default().with_name(t.name), &error)).collect();
        return CreateTopicsResponse::default().with_topics(results);
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for topic in &req.topics {
        *counts.entry(topic.name.0.to_string()).or_default() += 1;
    }
    let results = req
        .topics
        .into_iter()
        .map(|topic| {
            let name = topic.name.0.to_string();
            let result = CreatableTopicResult::default().with_name(topic.name.clone());
            if counts.get(&name).copied().unwrap_or(0) > 1 {
                let message = format!("Create topics request from client `{}` contains multiple entries for the following topics: {name}", ctx.client_id);
                return failed(result, &TopicError::new(ResponseError::InvalidRequest, message));
            }
            if !ctx.cluster_authorized(AclOperation::Create) && !ctx.authorized(AclOperation::Create, ResourceType::Topic, &name) {
                return failed(result, &TopicError::new(ResponseError::TopicAuthorizationFailed, "Authorization failed."));
            }
            if !topic.assignments.is_empty() {
                let error = TopicError::new(ResponseError::InvalidReplicaAssignment, "Manual replica assignment is not supported by Strom yet.");
                return failed(result, &error);
            }
            let configs: BTreeMap<String, Option<String>> =
                topic.configs.iter().map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string()))).collect();
            let new_topic = NewTopic { name, num_partitions: topic.num_partitions, replication_factor: topic.replication_factor, configs };
            match ctx.broker.metadata.create_topic(new_topic, req.validate_only) {
                Ok(created) => {
                    let replication = created.partitions.first().map_or(0, |p| p.replicas.len()) as i16;
                    let configs = topic_config::describe(&created.configs)
                        .into_iter()
                        .map(|c| {
                            CreatableTopicConfigs::default()
                                .with_name(str_bytes(c.name))
                                .with_value(Some(str_bytes(c.value)))
                                .with_config_source(c.source as i8)
                        })
                        .collect();
                    // Configs exist in the response from v5 on.
                    let configs = (ctx.api_version >= 5).then_some(configs);
                    result
                        .with_topic_id(created.id)
                        .with_num_partitions(created.partitions.len() as i32)
                        .with_replication_factor(replication)
                        .with_configs(configs)
                }
                Err(error) => failed(result, &error),
            }
        })
        .collect();
    CreateTopicsResponse::default().with_topics(results)
}

fn failed(result: CreatableTopicResult, error: &TopicError) -> CreatableTopicResult {
    result
        .with_error_code(error.code())
        .with_error_message(Some(str_bytes(error.message.clone())))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
        .with_configs(None)
}
