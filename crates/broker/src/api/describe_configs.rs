//! DescribeConfigs (key 32), versions 1-4, for topics (resource type 2) and
//! this broker (type 4). Topic entries come from `metadata::topic_config`
//! (overrides over defaults); broker entries from the running config, all
//! read-only since Strom has no dynamic broker configs yet. Synonyms (v1+)
//! list the value and where it came from; config types and documentation
//! are v3+.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};

use super::{str_bytes, RequestContext};
use crate::auth::acl::{AclOperation, ResourceType};
use crate::config::Listener;
use crate::metadata::topic_config::{self, ConfigSource, ConfigType};

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;

/// One config as this handler reports it.
struct Entry {
    name: String,
    value: String,
    source: ConfigSource,
    config_type: ConfigType,
    read_only: bool,
    doc: &'static str,
}

pub fn handle(ctx: &RequestContext<'_>, req: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let results = req
        .resources
        .into_iter()
        .map(|resource| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            // Kafka: DESCRIBE_CONFIGS on the topic, or on the cluster for broker configs.
            let entries = match resource.resource_type {
                RESOURCE_TOPIC if !ctx.authorized(AclOperation::DescribeConfigs, ResourceType::Topic, &resource.resource_name) => {
                    Err((ResponseError::TopicAuthorizationFailed, "Topic authorization failed.".to_string()))
                }
                RESOURCE_BROKER if !ctx.cluster_authorized(AclOperation::DescribeConfigs) => {
                    Err((ResponseError::ClusterAuthorizationFailed, "Cluster authorization failed.".to_string()))
                }
                RESOURCE_TOPIC => topic_entries(ctx, &resource.resource_name),
                RESOURCE_BROKER => broker_entries(ctx, &resource.resource_name),
                other => Err((ResponseError::InvalidRequest, format!("Unsupported resource type {other}"))),
            };
            match entries {
                Ok(entries) => {
                    // Null or empty: every config.
                    let wanted = resource.configuration_keys.as_ref().filter(|keys| !keys.is_empty());
                    let configs = entries
                        .into_iter()
                        .filter(|e| wanted.is_none_or(|keys| keys.iter().any(|k| k.as_str() == e.name)))
                        .map(|e| to_result(e, req.include_synonyms, req.include_documentation))
                        .collect();
                    result.with_configs(configs)
                }
                Err((error, message)) => result.with_error_code(error.code()).with_error_message(Some(str_bytes(message))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

fn topic_entries(ctx: &RequestContext<'_>, name: &str) -> Result<Vec<Entry>, (ResponseError, String)> {
    let image = ctx.broker.metadata.image();
    let topic = image.topic(name).ok_or_else(|| {
        (ResponseError::UnknownTopicOrPartition, format!("Topic '{name}' does not exist."))
    })?;
    Ok(topic_config::describe(&topic.configs)
        .into_iter()
        .map(|c| Entry {
            name: c.name.to_string(),
            value: c.value,
            source: c.source,
            config_type: c.config_type,
            read_only: false,
            doc: c.doc,
        })
        .collect())
}

fn broker_entries(ctx: &RequestContext<'_>, name: &str) -> Result<Vec<Entry>, (ResponseError, String)> {
    let config = &ctx.broker.config;
    if name.is_empty() {
        return Ok(Vec::new()); // cluster-wide dynamic defaults: none
    }
    if name.parse::<i32>().ok() != Some(config.node_id) {
        return Err((
            ResponseError::InvalidRequest,
            format!("Unexpected broker id, expected {} or empty string, but received {name}", config.node_id),
        ));
    }
    let listeners = |ls: &[Listener]| ls.iter().map(|l| format!("{}://{}:{}", l.name, l.host, l.port)).collect::<Vec<_>>().join(",");
    let statics = [
        ("advertised.listeners", listeners(&config.advertised), ConfigType::String, "Addresses clients are told to connect to, per listener."),
        ("auto.create.topics.enable", config.auto_create_topics.to_string(), ConfigType::Boolean, "Create unknown topics on first use."),
        ("broker.id", config.node_id.to_string(), ConfigType::Int, "This broker's id."),
        ("default.replication.factor", config.default_replication_factor.to_string(), ConfigType::Int, "Replication factor of auto-created topics."),
        ("listeners", listeners(&config.listeners), ConfigType::List, "Addresses the broker accepts clients on."),
        ("log.cleaner.backoff.ms", config.log_cleaner_backoff_ms.to_string(), ConfigType::Long, "How often compacted logs are checked for compaction."),
        ("log.cleaner.dedupe.buffer.size", config.log_cleaner_dedupe_buffer_size.to_string(), ConfigType::Long, "Memory for one compaction pass's key map."),
        ("log.dirs", config.data_dir.display().to_string(), ConfigType::String, "Where partition logs and cluster metadata are kept."),
        ("node.id", config.node_id.to_string(), ConfigType::Int, "This broker's id."),
        ("num.partitions", config.num_partitions.to_string(), ConfigType::Int, "Partitions of auto-created topics."),
        ("socket.request.max.bytes", config.max_frame_bytes.to_string(), ConfigType::Int, "Largest request accepted."),
    ];
    let mut entries: Vec<Entry> = statics
        .into_iter()
        .map(|(name, value, config_type, doc)| Entry {
            name: name.to_string(),
            value,
            source: ConfigSource::StaticBroker,
            config_type,
            read_only: true,
            doc,
        })
        .collect();
    // Broker-level defaults of topic configs, under Kafka's broker names.
    for (broker_name, topic_name) in [
        ("log.cleaner.delete.retention.ms", "delete.retention.ms"),
        ("log.cleaner.max.compaction.lag.ms", "max.compaction.lag.ms"),
        ("log.cleaner.min.cleanable.ratio", "min.cleanable.dirty.ratio"),
        ("log.cleaner.min.compaction.lag.ms", "min.compaction.lag.ms"),
        ("log.cleanup.policy", "cleanup.policy"),
        ("log.retention.bytes", "retention.bytes"),
        ("log.retention.ms", "retention.ms"),
        ("log.roll.ms", "segment.ms"),
        ("log.segment.bytes", "segment.bytes"),
        ("message.max.bytes", "max.message.bytes"),
        ("min.insync.replicas", "min.insync.replicas"),
    ] {
        if let Some(def) = topic_config::find(topic_name) {
            entries.push(Entry {
                name: broker_name.to_string(),
                value: def.default.to_string(),
                source: ConfigSource::Default,
                config_type: def.config_type,
                read_only: true,
                doc: def.doc,
            });
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

fn to_result(e: Entry, include_synonyms: bool, include_documentation: bool) -> DescribeConfigsResourceResult {
    let synonyms = if include_synonyms {
        vec![DescribeConfigsSynonym::default()
            .with_name(str_bytes(e.name.clone()))
            .with_value(Some(str_bytes(e.value.clone())))
            .with_source(e.source as i8)]
    } else {
        Vec::new()
    };
    DescribeConfigsResourceResult::default()
        .with_name(str_bytes(e.name))
        .with_value(Some(str_bytes(e.value)))
        .with_read_only(e.read_only)
        .with_config_source(e.source as i8)
        .with_synonyms(synonyms)
        .with_config_type(e.config_type as i8)
        .with_documentation(include_documentation.then(|| str_bytes(e.doc)))
}
