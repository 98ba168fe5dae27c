//! Metadata (key 3), versions 0-13: brokers at the caller's listener, cluster
//! id (v2+), controller (v1+), topics with partitions, leader epochs (v7+) and
//! topic ids (v10+).
//!
//! Topics asked for that do not exist are created when the request allows it
//! (always below v4, `allow_auto_topic_creation` from v4) and the broker's
//! `auto_create_topics` is on, as Kafka's `auto.create.topics.enable` does.
//! Kafka creates them asynchronously and answers LEADER_NOT_AVAILABLE first;
//! Strom creates them before answering, so the first response already carries
//! the topic and clients skip a retry round.
//!
//! Authorization as Kafka's `KafkaApis`: "all topics" lists only those the
//! principal may DESCRIBE; a named topic it may not describe is
//! TOPIC_AUTHORIZATION_FAILED, and auto-creation needs CREATE on the cluster
//! or the topic (else TOPIC_AUTHORIZATION_FAILED).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use uuid::Uuid;

use super::{str_bytes, RequestContext, AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS, TOPIC_OPERATIONS};
use crate::auth::acl::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::endpoint_for;
use crate::metadata::{topic_name, MetadataImage, NewTopic, TopicImage};

/// Topics Kafka marks internal.
const INTERNAL_TOPICS: &[&str] = &["__consumer_offsets", "__transaction_state"];

pub fn handle(ctx: &RequestContext<'_>, req: MetadataRequest) -> MetadataResponse {
    let allow_auto_create = ctx.api_version < 4 || req.allow_auto_topic_creation;
    let cluster_ops = if req.include_cluster_authorized_operations && (8..=10).contains(&ctx.api_version) {
        ctx.authorized_operations(ResourceType::Cluster, CLUSTER_NAME, CLUSTER_OPERATIONS)
    } else {
        AUTHORIZED_OPERATIONS_OMITTED
    };
    let mut image = ctx.broker.metadata.image();
    let topics = match req.topics {
        // v0: an empty list means all topics; v1+: null means all, empty means none.
        None => None,
        Some(t) if t.is_empty() && ctx.api_version == 0 => None,
        Some(t) => Some(t),
    };
    let mut responses = Vec::new();
    match topics {
        None => responses.extend(
            image
                .topics
                .values()
                .filter(|t| ctx.authorized(AclOperation::Describe, ResourceType::Topic, &t.name))
                .map(|t| topic_response(t, ctx.api_version)),
        ),
        Some(requested) => {
            for wanted in requested {
                let name = wanted.name.as_ref().map(|n| n.0.as_str().to_string());
                let response = match name {
                    Some(name) => {
                        let (response, updated) = by_name(ctx, &image, &name, allow_auto_create);
                        if let Some(updated) = updated {
                            image = updated;
                        }
                        response
                    }
                    None => by_id(ctx, &image, wanted.topic_id),
                };
                responses.push(response);
            }
        }
    }
    // Kafka sets them on every topic in the answer but the unauthorized ones.
    if req.include_topic_authorized_operations {
        for topic in responses.iter_mut().filter(|t| t.error_code != ResponseError::TopicAuthorizationFailed.code()) {
            let name = topic.name.as_ref().map_or("", |n| n.0.as_str());
            topic.topic_authorized_operations = ctx.authorized_operations(ResourceType::Topic, name, TOPIC_OPERATIONS);
        }
    }
    MetadataResponse::default()
        .with_brokers(brokers(ctx, &image))
        .with_cluster_id(Some(str_bytes(image.cluster_id.clone())))
        .with_controller_id(BrokerId(image.controller_id))
        .with_topics(responses)
        .with_cluster_authorized_operations(cluster_ops)
}

fn brokers(ctx: &RequestContext<'_>, image: &MetadataImage) -> Vec<MetadataResponseBroker> {
    image
        .brokers
        .values()
        .filter_map(|b| {
            let endpoint = endpoint_for(image, b.node_id, ctx.listener)?;
            Some(
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(b.node_id))
                    .with_host(str_bytes(endpoint.host.clone()))
                    .with_port(endpoint.port)
                    .with_rack(b.rack.clone().map(str_bytes)),
            )
        })
        .collect()
}

/// A named topic, auto-creating it when allowed. Returns the new image when
/// the topic was created.
fn by_name(
    ctx: &RequestContext<'_>,
    image: &MetadataImage,
    name: &str,
    allow_auto_create: bool,
) -> (MetadataResponseTopic, Option<std::sync::Arc<MetadataImage>>) {
    if !ctx.authorized(AclOperation::Describe, ResourceType::Topic, name) {
        return (error_topic(Some(name), ResponseError::TopicAuthorizationFailed), None);
    }
    if let Some(topic) = image.topic(name) {
        return (topic_response(topic, ctx.api_version), None);
    }
    if topic_name::validate(name).is_err() {
        return (error_topic(Some(name), ResponseError::InvalidTopicException), None);
    }
    if !(allow_auto_create && ctx.broker.config.auto_create_topics) {
        return (error_topic(Some(name), ResponseError::UnknownTopicOrPartition), None);
    }
    if !ctx.cluster_authorized(AclOperation::Create) && !ctx.authorized(AclOperation::Create, ResourceType::Topic, name) {
        return (error_topic(Some(name), ResponseError::TopicAuthorizationFailed), None);
    }
    match ctx.broker.metadata.create_topic(NewTopic::with_defaults(name), false) {
        Ok(_) => {
            let image = ctx.broker.metadata.image();
            let response = match image.topic(name) {
                Some(topic) => topic_response(topic, ctx.api_version),
                None => error_topic(Some(name), ResponseError::LeaderNotAvailable),
            };
            (response, Some(image))
        }
        // Another request created it first.
        Err(e) if e.error == ResponseError::TopicAlreadyExists => {
            let image = ctx.broker.metadata.image();
            let response = match image.topic(name) {
                Some(topic) => topic_response(topic, ctx.api_version),
                None => error_topic(Some(name), ResponseError::UnknownTopicOrPartition),
            };
            (response, Some(image))
        }
        Err(e) => {
            tracing::debug!(topic = name, error = %e, "auto-creation refused");
            (error_topic(Some(name), e.error), None)
        }
    }
}

fn by_id(ctx: &RequestContext<'_>, image: &MetadataImage, id: Uuid) -> MetadataResponseTopic {
    match image.topic_by_id(&id) {
        Some(topic) if !ctx.authorized(AclOperation::Describe, ResourceType::Topic, &topic.name) => {
            error_topic(None, ResponseError::TopicAuthorizationFailed).with_topic_id(id)
        }
        Some(topic) => topic_response(topic, ctx.api_version),
        None => error_topic(None, ResponseError::UnknownTopicId).with_topic_id(id),
    }
}

fn topic_response(topic: &TopicImage, version: i16) -> MetadataResponseTopic {
    let _ = version; // fields a version lacks are skipped by the encoder
    let partitions = topic
        .partitions
        .iter()
        .map(|p| {
            MetadataResponsePartition::default()
                .with_partition_index(p.partition)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(p.replicas.iter().copied().map(BrokerId).collect())
                .with_isr_nodes(p.isr.iter().copied().map(BrokerId).collect())
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(str_bytes(topic.name.clone()))))
        .with_topic_id(topic.id)
        .with_is_internal(INTERNAL_TOPICS.contains(&topic.name.as_str()))
        .with_partitions(partitions)
        .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}

fn error_topic(name: Option<&str>, error: ResponseError) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(error.code())
        .with_name(name.map(|n| TopicName(str_bytes(n))))
        .with_topic_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED)
}
