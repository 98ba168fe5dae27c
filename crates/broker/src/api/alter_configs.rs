//! IncrementalAlterConfigs (key 44, versions 0-1) and AlterConfigs (key 33,
//! versions 0-2) for topics: SET, DELETE, APPEND and SUBTRACT (list configs)
//! on the topic's overrides, or with AlterConfigs a whole new set of
//! overrides. validate_only checks without changing anything. New values
//! reach the partition logs through the metadata publisher. Strom has no
//! dynamic broker configs yet, so broker resources are refused as Kafka
//! refuses configs it cannot change at runtime.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse as IncrementalResult;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse as FullResult;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};

use super::{str_bytes, RequestContext};
use crate::auth::acl::{AclOperation, ResourceType};
use crate::metadata::{topic_config, TopicError};

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

pub fn handle_incremental(ctx: &RequestContext<'_>, req: IncrementalAlterConfigsRequest) -> IncrementalAlterConfigsResponse {
    let responses = req
        .resources
        .into_iter()
        .map(|r| {
            let changes: Vec<(String, i8, Option<String>)> =
                r.configs.iter().map(|c| (c.name.to_string(), c.config_operation, c.value.as_ref().map(|v| v.to_string()))).collect();
            let outcome = check_resource(ctx, r.resource_type, &r.resource_name).and_then(|()| {
                let image = ctx.broker.metadata.image();
                let topic = image.topic(&r.resource_name).ok_or_else(unknown_topic)?;
                let overrides = apply_changes(topic.configs.clone(), &changes)?;
                ctx.broker.metadata.set_topic_configs(&r.resource_name, overrides, req.validate_only)
            });
            let result = IncrementalResult::default().with_resource_type(r.resource_type).with_resource_name(r.resource_name);
            match outcome {
                Ok(()) => result,
                Err(e) => result.with_error_code(e.code()).with_error_message(Some(str_bytes(e.message))),
            }
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

pub fn handle_full(ctx: &RequestContext<'_>, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let responses = req
        .resources
        .into_iter()
        .map(|r| {
            let outcome = check_resource(ctx, r.resource_type, &r.resource_name).and_then(|()| {
                let overrides: BTreeMap<String, String> =
                    r.configs.iter().filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string()))).collect();
                ctx.broker.metadata.set_topic_configs(&r.resource_name, overrides, req.validate_only)
            });
            let result = FullResult::default().with_resource_type(r.resource_type).with_resource_name(r.resource_name);
            match outcome {
                Ok(()) => result,
                Err(e) => result.with_error_code(e.code()).with_error_message(Some(str_bytes(e.message))),
            }
        })
        .collect();
    AlterConfigsResponse::default().with_responses(responses)
}

/// The resource must be a topic, and Kafka's ALTER_CONFIGS check must pass
/// (on the topic; on the cluster for broker configs).
fn check_resource(ctx: &RequestContext<'_>, resource_type: i8, name: &str) -> Result<(), TopicError> {
    match resource_type {
        RESOURCE_TOPIC if !ctx.authorized(AclOperation::AlterConfigs, ResourceType::Topic, name) => {
            Err(TopicError::new(ResponseError::TopicAuthorizationFailed, "Topic authorization failed."))
        }
        RESOURCE_BROKER if !ctx.cluster_authorized(AclOperation::AlterConfigs) => {
            Err(TopicError::new(ResponseError::ClusterAuthorizationFailed, "Cluster authorization failed."))
        }
        RESOURCE_TOPIC => Ok(()),
        RESOURCE_BROKER => Err(TopicError::new(
            ResponseError::InvalidRequest,
            format!("Strom has no dynamic broker configs: broker {name:?} configs can only be set in its config file"),
        )),
        other => Err(TopicError::new(ResponseError::InvalidRequest, format!("Unsupported resource type {other}"))),
    }
}

/// Applies incremental operations to a topic's overrides.
fn apply_changes(mut overrides: BTreeMap<String, String>, changes: &[(String, i8, Option<String>)]) -> Result<BTreeMap<String, String>, TopicError> {
    let invalid = |m: String| TopicError::new(ResponseError::InvalidConfig, m);
    for (name, op, value) in changes {
        let def = topic_config::find(name).ok_or_else(|| invalid(format!("Unknown topic config name: {name}")))?;
        let current = || overrides.get(name).cloned().unwrap_or_else(|| def.default.to_string());
        let list = |text: &str| text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect::<Vec<_>>();
        match (*op, value) {
            (SET, Some(v)) => {
                overrides.insert(name.clone(), v.clone());
            }
            (DELETE, _) => {
                overrides.remove(name);
            }
            (APPEND | SUBTRACT, Some(v)) if def.config_type == topic_config::ConfigType::List => {
                let mut items = list(&current());
                for item in list(v) {
                    if *op == APPEND && !items.contains(&item) {
                        items.push(item);
                    } else if *op == SUBTRACT {
                        items.retain(|i| *i != item);
                    }
                }
                overrides.insert(name.clone(), items.join(","));
            }
            (APPEND | SUBTRACT, _) => return Err(invalid(format!("Config value append is not allowed for config key: {name}"))),
            _ => return Err(invalid(format!("Invalid config operation {op} for {name}"))),
        }
    }
    Ok(overrides)
}

fn unknown_topic() -> TopicError {
    TopicError::new(ResponseError::UnknownTopicOrPartition, "This server does not host this topic-partition.")
}
