//! The in-memory image of cluster metadata: what every record applied so far
//! adds up to. Readers hold an `Arc<MetadataImage>` snapshot; writers build the
//! next image and swap it in (see `store`).

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

/// The whole cluster as the metadata log describes it.
#[derive(Debug, Clone, Default)]
pub struct MetadataImage {
    /// Set once, by the first record of a new log.
    pub cluster_id: String,
    /// Registered brokers by node id.
    pub brokers: BTreeMap<i32, BrokerRegistration>,
    /// Topics by name.
    pub topics: BTreeMap<String, TopicImage>,
    /// Topic names by topic id.
    pub topic_names_by_id: HashMap<Uuid, String>,
    /// The node id of the active controller.
    pub controller_id: i32,
}

/// One broker as it registered itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRegistration {
    pub node_id: i32,
    /// Advertised host and port clients should connect to.
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

/// One topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicImage {
    pub name: String,
    pub id: Uuid,
    pub partitions: Vec<PartitionImage>,
    /// Topic-level config overrides only; defaults come from `topic_config`.
    pub configs: BTreeMap<String, String>,
}

/// One partition of a topic. `partition` equals its index in `TopicImage::partitions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionImage {
    pub partition: i32,
    pub leader: i32,
    /// Bumped on every leader change; never goes backwards.
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

impl MetadataImage {
    pub fn topic(&self, name: &str) -> Option<&TopicImage> {
        self.topics.get(name)
    }

    pub fn topic_by_id(&self, id: &Uuid) -> Option<&TopicImage> {
        self.topic_names_by_id.get(id).and_then(|name| self.topics.get(name))
    }
}
