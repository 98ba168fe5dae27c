//! [`MetadataStore`]: the only writer of cluster metadata. A change is
//! validated against the current image, turned into a [`RecordBatch`],
//! appended (fsynced) to the metadata log, applied to a copy of the image, and
//! the copy is published. Readers never wait for writers.
//!
//! Writes are rare admin operations; the append's fsync happens under a std
//! mutex on the calling task, which is fine at that rate.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine;
use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::image::{BrokerRegistration, MetadataImage, TopicImage};
use super::log::MetadataLog;
use super::records::{EndpointRecord, MetadataRecord, RecordBatch};
use super::{topic_config, topic_name};

/// The name of the metadata log as a topic: no user topic may take it.
pub const METADATA_TOPIC: &str = "__cluster_metadata";

/// Broker-wide defaults used when a request leaves a value to the broker (-1).
#[derive(Debug, Clone, Copy)]
pub struct TopicDefaults {
    /// Kafka `num.partitions`.
    pub num_partitions: i32,
    /// Kafka `default.replication.factor`.
    pub replication_factor: i16,
}

/// A topic to create, as a CreateTopics request or auto-creation asks for it.
#[derive(Debug, Clone)]
pub struct NewTopic {
    pub name: String,
    /// -1 means the broker default.
    pub num_partitions: i32,
    /// -1 means the broker default.
    pub replication_factor: i16,
    /// Topic config overrides; `None` values are ignored, as Kafka does.
    pub configs: BTreeMap<String, Option<String>>,
}

impl NewTopic {
    /// A topic with every setting left to the broker, as auto-creation makes it.
    pub fn with_defaults(name: impl Into<String>) -> Self {
        Self { name: name.into(), num_partitions: -1, replication_factor: -1, configs: BTreeMap::new() }
    }
}

/// A rejected topic operation: the Kafka error code and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TopicError {
    pub error: ResponseError,
    pub message: String,
}

impl TopicError {
    pub fn new(error: ResponseError, message: impl Into<String>) -> Self {
        Self { error, message: message.into() }
    }

    pub fn code(&self) -> i16 {
        self.error.code()
    }

    fn unknown_topic() -> Self {
        Self::new(ResponseError::UnknownTopicOrPartition, "This server does not host this topic-partition.")
    }

    fn storage(error: MetadataError) -> Self {
        tracing::error!(%error, "cannot write the metadata log");
        Self::new(ResponseError::KafkaStorageError, format!("cannot write the metadata log: {error}"))
    }
}

/// The metadata log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("metadata log {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("metadata log {path} is corrupt at byte {offset}: {reason}")]
    Corrupt { path: String, offset: u64, reason: String },
}

/// Called with every newly published image, in order, before the change that
/// produced it is acknowledged (Kafka's metadata publishers). The broker uses
/// it to keep partition logs in step with topics.
pub type Publisher = Box<dyn Fn(&MetadataImage) + Send + Sync>;

/// The only writer of cluster metadata. Share it behind an `Arc`.
pub struct MetadataStore {
    defaults: TopicDefaults,
    /// The log; its mutex also serialises writers (validate + append + apply).
    log: Mutex<MetadataLog>,
    image: RwLock<Arc<MetadataImage>>,
    publishers: RwLock<Vec<Publisher>>,
}

impl MetadataStore {
    /// Opens (creating if needed) the metadata log under `data_dir`, replays it,
    /// and registers this broker, as controller, with its advertised endpoints.
    pub fn open(
        data_dir: &Path,
        defaults: TopicDefaults,
        registration: BrokerRegistration,
    ) -> Result<Self, MetadataError> {
        let (log, batches) = MetadataLog::open(data_dir)?;
        let mut image = MetadataImage::empty();
        for (index, batch) in batches.iter().enumerate() {
            for record in &batch.records {
                image.apply(record).map_err(|e| MetadataError::Corrupt {
                    path: data_dir.display().to_string(),
                    offset: index as u64,
                    reason: e.to_string(),
                })?;
            }
        }
        tracing::debug!(batches = batches.len(), topics = image.topics.len(), "replayed the metadata log");
        let store = Self {
            defaults,
            log: Mutex::new(log),
            image: RwLock::new(Arc::new(image)),
            publishers: RwLock::new(Vec::new()),
        };
        store.register(registration)?;
        Ok(store)
    }

    /// A snapshot of the current image.
    pub fn image(&self) -> Arc<MetadataImage> {
        match self.image.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Adds a publisher and calls it once with the current image.
    pub fn add_publisher(&self, publisher: Publisher) {
        let _writers = self.lock_log();
        publisher(&self.image());
        self.publishers.write().unwrap_or_else(|p| p.into_inner()).push(publisher);
    }

    /// Creates a compacted internal topic (`__consumer_offsets`,
    /// `__transaction_state`) unless it exists, as Kafka does on its first
    /// use; COORDINATOR_NOT_AVAILABLE when it cannot be created.
    pub fn ensure_internal_topic(&self, name: &str, partitions: i32, segment_bytes: i64) -> Result<(), ResponseError> {
        if self.image().topic(name).is_some() {
            return Ok(());
        }
        let mut topic = NewTopic::with_defaults(name);
        topic.num_partitions = partitions;
        topic.replication_factor = 1;
        topic.configs.insert("cleanup.policy".into(), Some("compact".into()));
        topic.configs.insert("segment.bytes".into(), Some(segment_bytes.to_string()));
        match self.create_topic(topic, false) {
            Ok(_) => {
                tracing::info!(partitions, "created {name}");
                Ok(())
            }
            Err(e) if e.error == ResponseError::TopicAlreadyExists => Ok(()),
            Err(e) => {
                tracing::error!(error = %e.message, "cannot create {name}");
                Err(ResponseError::CoordinatorNotAvailable)
            }
        }
    }

    /// Creates a topic, or with `validate_only` only checks that it could be.
    /// Returns the topic as it is (or would be) created.
    pub fn create_topic(&self, topic: NewTopic, validate_only: bool) -> Result<TopicImage, TopicError> {
        let mut log = self.lock_log();
        let image = self.image();
        let created = self.plan_topic(&image, topic)?;
        if !validate_only {
            let mut records = vec![MetadataRecord::Topic { name: created.name.clone(), topic_id: created.id }];
            records.extend(created.partitions.iter().map(|p| partition_record(created.id, p)));
            records.extend(created.configs.iter().map(|(name, value)| MetadataRecord::TopicConfig {
                topic_id: created.id,
                name: name.clone(),
                value: Some(value.clone()),
            }));
            self.commit(&mut log, &image, records).map_err(TopicError::storage)?;
            tracing::info!(topic = %created.name, partitions = created.partitions.len(), "created topic");
            if topic_name::has_collision_chars(&created.name) {
                // Kafka's own warning: metric names treat '.' and '_' alike.
                tracing::warn!(topic = %created.name, "topic names with a period ('.') or underscore ('_') could collide; it is best to use either, but not both");
            }
        }
        Ok(created)
    }

    /// Deletes a topic by name; returns its id.
    pub fn delete_topic(&self, name: &str) -> Result<Uuid, TopicError> {
        let mut log = self.lock_log();
        let image = self.image();
        let id = image.topic(name).ok_or_else(TopicError::unknown_topic)?.id;
        self.remove_topic(&mut log, &image, id)?;
        Ok(id)
    }

    /// Deletes a topic by id; returns its name.
    pub fn delete_topic_by_id(&self, id: Uuid) -> Result<String, TopicError> {
        let mut log = self.lock_log();
        let image = self.image();
        let name = image
            .topic_by_id(&id)
            .ok_or_else(|| TopicError::new(ResponseError::UnknownTopicId, "This server does not host this topic ID."))?
            .name
            .clone();
        self.remove_topic(&mut log, &image, id)?;
        Ok(name)
    }

    /// Grows a topic to `new_total` partitions, or with `validate_only` only
    /// checks that it could be.
    pub fn create_partitions(&self, name: &str, new_total: i32, validate_only: bool) -> Result<(), TopicError> {
        let mut log = self.lock_log();
        let image = self.image();
        let topic = image.topic(name).ok_or_else(TopicError::unknown_topic)?;
        let current = topic.partitions.len() as i32;
        if new_total < current {
            return Err(TopicError::new(
                ResponseError::InvalidPartitions,
                format!("The topic {name} currently has {current} partition(s); {new_total} would not be an increase."),
            ));
        }
        if new_total == current {
            return Err(TopicError::new(
                ResponseError::InvalidPartitions,
                format!("Topic already has {current} partition(s)."),
            ));
        }
        let replication = topic.partitions.first().map_or(1, |p| p.replicas.len());
        let partitions = assign_partitions(&image, current..new_total, replication);
        if !validate_only {
            let records = partitions.iter().map(|p| partition_record(topic.id, p)).collect();
            self.commit(&mut log, &image, records).map_err(TopicError::storage)?;
            tracing::info!(topic = %name, partitions = new_total, "added partitions");
        }
        Ok(())
    }

    /// Replaces a topic's config overrides with `overrides` (already merged
    /// by the caller), or with `validate_only` only checks them.
    pub fn set_topic_configs(
        &self,
        name: &str,
        overrides: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), TopicError> {
        let mut log = self.lock_log();
        let image = self.image();
        let topic = image.topic(name).ok_or_else(TopicError::unknown_topic)?;
        for (key, value) in &overrides {
            topic_config::validate(key, value).map_err(|m| TopicError::new(ResponseError::InvalidConfig, m))?;
        }
        topic_config::validate_set(&overrides).map_err(|m| TopicError::new(ResponseError::InvalidConfig, m))?;
        if validate_only {
            return Ok(());
        }
        let removed = topic.configs.keys().filter(|k| !overrides.contains_key(*k)).map(|k| (k.clone(), None));
        let set = overrides.iter().filter(|(k, v)| topic.configs.get(*k) != Some(v)).map(|(k, v)| (k.clone(), Some(v.clone())));
        let records: Vec<MetadataRecord> = removed
            .chain(set)
            .map(|(name, value)| MetadataRecord::TopicConfig { topic_id: topic.id, name, value })
            .collect();
        if !records.is_empty() {
            self.commit(&mut log, &image, records).map_err(TopicError::storage)?;
            tracing::info!(topic = %name, "changed topic configs");
        }
        Ok(())
    }

    /// Reserves the next `count` producer ids for `node_id`, durably, so no id
    /// is ever handed out twice, across restarts and brokers.
    pub fn allocate_producer_ids(&self, node_id: i32, count: i64) -> Result<std::ops::Range<i64>, MetadataError> {
        let mut log = self.lock_log();
        let image = self.image();
        let start = image.next_producer_id;
        let end = start.saturating_add(count.max(1));
        self.commit(&mut log, &image, vec![MetadataRecord::ProducerIds { node_id, next_producer_id: end }])?;
        Ok(start..end)
    }

    /// Validates a new topic against `image` and fills in defaults and ids.
    fn plan_topic(&self, image: &MetadataImage, topic: NewTopic) -> Result<TopicImage, TopicError> {
        let name = topic.name;
        topic_name::validate(&name).map_err(|m| TopicError::new(ResponseError::InvalidTopicException, m))?;
        if name == METADATA_TOPIC {
            return Err(TopicError::new(
                ResponseError::InvalidTopicException,
                format!("Creation of internal topic {name} is prohibited."),
            ));
        }
        if image.topics.contains_key(&name) {
            return Err(TopicError::new(ResponseError::TopicAlreadyExists, format!("Topic '{name}' already exists.")));
        }
        if topic_name::has_collision_chars(&name) {
            let key = topic_name::collision_key(&name);
            if let Some(other) = image.topics.keys().find(|t| topic_name::collision_key(t) == key) {
                return Err(TopicError::new(
                    ResponseError::InvalidTopicException,
                    format!("Topic '{name}' collides with existing topic: {other}"),
                ));
            }
        }
        let num_partitions = if topic.num_partitions == -1 { self.defaults.num_partitions } else { topic.num_partitions };
        if num_partitions <= 0 {
            return Err(TopicError::new(
                ResponseError::InvalidPartitions,
                "Number of partitions was set to an invalid non-positive value.",
            ));
        }
        let replication =
            if topic.replication_factor == -1 { self.defaults.replication_factor } else { topic.replication_factor };
        if replication <= 0 {
            return Err(TopicError::new(
                ResponseError::InvalidReplicationFactor,
                "Replication factor must be larger than 0, or -1 to use the default value.",
            ));
        }
        let brokers = image.brokers.len();
        if replication as usize > brokers {
            return Err(TopicError::new(
                ResponseError::InvalidReplicationFactor,
                format!(
                    "Unable to replicate the partition {replication} time(s): The target replication factor of \
                     {replication} cannot be reached because only {brokers} broker(s) are registered."
                ),
            ));
        }
        let mut configs = BTreeMap::new();
        for (key, value) in topic.configs {
            let Some(value) = value else { continue };
            topic_config::validate(&key, &value).map_err(|m| TopicError::new(ResponseError::InvalidConfig, m))?;
            configs.insert(key, value);
        }
        topic_config::validate_set(&configs).map_err(|m| TopicError::new(ResponseError::InvalidConfig, m))?;
        Ok(TopicImage {
            partitions: assign_partitions(image, 0..num_partitions, replication as usize),
            name,
            id: new_topic_id(image),
            configs,
        })
    }

    fn remove_topic(&self, log: &mut MetadataLog, image: &MetadataImage, id: Uuid) -> Result<(), TopicError> {
        self.commit(log, image, vec![MetadataRecord::RemoveTopic { topic_id: id }]).map_err(TopicError::storage)?;
        tracing::info!(topic_id = %id, "deleted topic");
        Ok(())
    }

    /// Records this broker's registration and controllership if they changed.
    fn register(&self, registration: BrokerRegistration) -> Result<(), MetadataError> {
        let mut log = self.lock_log();
        let image = self.image();
        let mut records = Vec::new();
        if image.cluster_id.is_empty() {
            let cluster_id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Uuid::new_v4().as_bytes());
            records.push(MetadataRecord::ClusterId { cluster_id });
        }
        if image.brokers.get(&registration.node_id) != Some(&registration) {
            records.push(MetadataRecord::RegisterBroker {
                node_id: registration.node_id,
                endpoints: registration.endpoints.iter().map(EndpointRecord::from).collect(),
                rack: registration.rack.clone(),
            });
        }
        if image.controller_id != registration.node_id {
            records.push(MetadataRecord::Controller { node_id: registration.node_id });
        }
        if records.is_empty() {
            return Ok(());
        }
        self.commit(&mut log, &image, records)
    }

    /// Appends `records` as one batch and publishes the image they produce.
    fn commit(&self, log: &mut MetadataLog, image: &MetadataImage, records: Vec<MetadataRecord>) -> Result<(), MetadataError> {
        let mut next = image.clone();
        for record in &records {
            next.apply(record).map_err(|e| MetadataError::Corrupt {
                path: "in-memory image".to_string(),
                offset: 0,
                reason: e.to_string(),
            })?;
        }
        log.append(&RecordBatch::new(records))?;
        let next = Arc::new(next);
        match self.image.write() {
            Ok(mut guard) => *guard = Arc::clone(&next),
            Err(poisoned) => *poisoned.into_inner() = Arc::clone(&next),
        }
        for publish in self.publishers.read().unwrap_or_else(|p| p.into_inner()).iter() {
            publish(&next);
        }
        Ok(())
    }

    fn lock_log(&self) -> std::sync::MutexGuard<'_, MetadataLog> {
        // A panic while holding the lock cannot leave the log half-applied:
        // the image is only published after a successful append.
        self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Places partitions round-robin over the registered brokers, leader first.
fn assign_partitions(
    image: &MetadataImage,
    partitions: std::ops::Range<i32>,
    replication: usize,
) -> Vec<super::image::PartitionImage> {
    let brokers: Vec<i32> = image.brokers.keys().copied().collect();
    partitions
        .map(|partition| {
            let replicas: Vec<i32> = (0..replication.min(brokers.len()))
                .map(|i| brokers[(partition as usize + i) % brokers.len()])
                .collect();
            super::image::PartitionImage {
                partition,
                leader: replicas.first().copied().unwrap_or(-1),
                leader_epoch: 0,
                isr: replicas.clone(),
                replicas,
            }
        })
        .collect()
}

fn partition_record(topic_id: Uuid, p: &super::image::PartitionImage) -> MetadataRecord {
    MetadataRecord::Partition {
        topic_id,
        partition: p.partition,
        replicas: p.replicas.clone(),
        isr: p.isr.clone(),
        leader: p.leader,
        leader_epoch: p.leader_epoch,
    }
}

/// A fresh topic id, never the nil id and never one in use.
fn new_topic_id(image: &MetadataImage) -> Uuid {
    loop {
        let id = Uuid::new_v4();
        if !id.is_nil() && !image.topic_names_by_id.contains_key(&id) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests;

mod security;
pub use security::ScramChange;
