//! The in-memory image of cluster metadata: what every record applied so far
//! adds up to. Readers hold an `Arc<MetadataImage>` snapshot; the store builds
//! the next image by applying a batch to a copy, and swaps it in.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::records::{EndpointRecord, MetadataRecord};
use crate::auth::acl::AclBinding;
use crate::auth::sasl::Credentials;
use crate::auth::scram::{ScramCredential, ScramMechanism};

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
    /// The node id of the active controller; -1 until one is recorded.
    pub controller_id: i32,
    /// The first producer id not yet handed out.
    pub next_producer_id: i64,
    /// Salted SCRAM credentials by user name and mechanism.
    pub scram_credentials: BTreeMap<String, BTreeMap<ScramMechanism, ScramCredential>>,
    /// ACLs by their id.
    pub acls: BTreeMap<Uuid, AclBinding>,
}

/// One broker as it registered itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRegistration {
    pub node_id: i32,
    /// Advertised endpoints, one per listener.
    pub endpoints: Vec<Endpoint>,
    pub rack: Option<String>,
}

/// Where clients reach a broker through one listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Listener name, e.g. "PLAINTEXT".
    pub listener: String,
    pub host: String,
    pub port: i32,
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

/// A record that does not fit the image it is applied to: the log is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot apply {record}: {reason}")]
pub struct ApplyError {
    pub record: String,
    pub reason: String,
}

impl MetadataImage {
    /// An empty image, before any record.
    pub fn empty() -> Self {
        Self { controller_id: -1, ..Self::default() }
    }

    pub fn topic(&self, name: &str) -> Option<&TopicImage> {
        self.topics.get(name)
    }

    pub fn topic_by_id(&self, id: &Uuid) -> Option<&TopicImage> {
        self.topic_names_by_id.get(id).and_then(|name| self.topics.get(name))
    }

    /// Applies one record. On error the image may be partly changed: callers
    /// apply batches to a copy and drop it on error.
    pub fn apply(&mut self, record: &MetadataRecord) -> Result<(), ApplyError> {
        let fail = |reason: &str| ApplyError { record: format!("{record:?}"), reason: reason.to_string() };
        match record {
            MetadataRecord::ClusterId { cluster_id } => {
                if !self.cluster_id.is_empty() && &self.cluster_id != cluster_id {
                    return Err(fail("the cluster id is already set"));
                }
                self.cluster_id = cluster_id.clone();
            }
            MetadataRecord::RegisterBroker { node_id, endpoints, rack } => {
                let endpoints = endpoints.iter().map(Endpoint::from).collect();
                let registration = BrokerRegistration { node_id: *node_id, endpoints, rack: rack.clone() };
                self.brokers.insert(*node_id, registration);
            }
            MetadataRecord::Controller { node_id } => self.controller_id = *node_id,
            MetadataRecord::Topic { name, topic_id } => {
                if self.topics.contains_key(name) || self.topic_names_by_id.contains_key(topic_id) {
                    return Err(fail("the topic already exists"));
                }
                self.topic_names_by_id.insert(*topic_id, name.clone());
                let topic = TopicImage { name: name.clone(), id: *topic_id, partitions: Vec::new(), configs: BTreeMap::new() };
                self.topics.insert(name.clone(), topic);
            }
            MetadataRecord::Partition { topic_id, partition, replicas, isr, leader, leader_epoch } => {
                let topic = self.topic_mut(topic_id).ok_or_else(|| fail("unknown topic id"))?;
                let image = PartitionImage {
                    partition: *partition,
                    leader: *leader,
                    leader_epoch: *leader_epoch,
                    replicas: replicas.clone(),
                    isr: isr.clone(),
                };
                let index = usize::try_from(*partition).map_err(|_| fail("negative partition"))?;
                match index.cmp(&topic.partitions.len()) {
                    std::cmp::Ordering::Less => {
                        if *leader_epoch < topic.partitions[index].leader_epoch {
                            return Err(fail("the leader epoch would go backwards"));
                        }
                        topic.partitions[index] = image;
                    }
                    std::cmp::Ordering::Equal => topic.partitions.push(image),
                    std::cmp::Ordering::Greater => return Err(fail("partitions must be added in order")),
                }
            }
            MetadataRecord::TopicConfig { topic_id, name, value } => {
                let topic = self.topic_mut(topic_id).ok_or_else(|| fail("unknown topic id"))?;
                match value {
                    Some(value) => topic.configs.insert(name.clone(), value.clone()),
                    None => topic.configs.remove(name),
                };
            }
            MetadataRecord::ProducerIds { next_producer_id, .. } => {
                if *next_producer_id < self.next_producer_id {
                    return Err(fail("producer ids would be handed out twice"));
                }
                self.next_producer_id = *next_producer_id;
            }
            MetadataRecord::RemoveTopic { topic_id } => {
                let name = self.topic_names_by_id.remove(topic_id).ok_or_else(|| fail("unknown topic id"))?;
                self.topics.remove(&name);
            }
            MetadataRecord::UserScramCredential { name, mechanism, credential } => {
                self.scram_credentials.entry(name.clone()).or_default().insert(*mechanism, credential.clone());
            }
            MetadataRecord::RemoveUserScramCredential { name, mechanism } => {
                let user = self.scram_credentials.get_mut(name).ok_or_else(|| fail("unknown user"))?;
                user.remove(mechanism).ok_or_else(|| fail("unknown credential"))?;
                if user.is_empty() {
                    self.scram_credentials.remove(name);
                }
            }
            MetadataRecord::AccessControlEntry { id, acl } => {
                if self.acls.insert(*id, acl.clone()).is_some() {
                    return Err(fail("the ACL id is already used"));
                }
            }
            MetadataRecord::RemoveAccessControlEntry { id } => {
                self.acls.remove(id).ok_or_else(|| fail("unknown ACL id"))?;
            }
        }
        Ok(())
    }

    fn topic_mut(&mut self, id: &Uuid) -> Option<&mut TopicImage> {
        let name = self.topic_names_by_id.get(id)?;
        self.topics.get_mut(name)
    }
}

impl Credentials for MetadataImage {
    fn scram(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        self.scram_credentials.get(user)?.get(&mechanism).cloned()
    }
}

impl From<&EndpointRecord> for Endpoint {
    fn from(r: &EndpointRecord) -> Self {
        Self { listener: r.listener.clone(), host: r.host.clone(), port: r.port }
    }
}

impl From<&Endpoint> for EndpointRecord {
    fn from(e: &Endpoint) -> Self {
        Self { listener: e.listener.clone(), host: e.host.clone(), port: e.port }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(topic_id: Uuid, partition: i32, leader_epoch: i32) -> MetadataRecord {
        MetadataRecord::Partition { topic_id, partition, replicas: vec![1], isr: vec![1], leader: 1, leader_epoch }
    }

    #[test]
    fn topics_partitions_and_configs_apply_and_remove() {
        let id = Uuid::from_u128(1);
        let mut image = MetadataImage::empty();
        image.apply(&MetadataRecord::Topic { name: "t".into(), topic_id: id }).unwrap();
        image.apply(&partition(id, 0, 0)).unwrap();
        image.apply(&partition(id, 1, 0)).unwrap();
        let set = MetadataRecord::TopicConfig { topic_id: id, name: "retention.ms".into(), value: Some("5".into()) };
        image.apply(&set).unwrap();
        let topic = image.topic("t").unwrap();
        assert_eq!(topic.partitions.len(), 2);
        assert_eq!(topic.configs.get("retention.ms").map(String::as_str), Some("5"));
        assert_eq!(image.topic_by_id(&id).map(|t| t.name.as_str()), Some("t"));
        image.apply(&MetadataRecord::TopicConfig { topic_id: id, name: "retention.ms".into(), value: None }).unwrap();
        assert!(image.topic("t").unwrap().configs.is_empty());
        image.apply(&MetadataRecord::RemoveTopic { topic_id: id }).unwrap();
        assert!(image.topics.is_empty() && image.topic_names_by_id.is_empty());
    }

    #[test]
    fn inconsistent_records_are_refused() {
        let id = Uuid::from_u128(1);
        let mut image = MetadataImage::empty();
        assert!(image.apply(&partition(id, 0, 0)).is_err());
        image.apply(&MetadataRecord::Topic { name: "t".into(), topic_id: id }).unwrap();
        assert!(image.apply(&MetadataRecord::Topic { name: "t".into(), topic_id: Uuid::from_u128(2) }).is_err());
        assert!(image.apply(&partition(id, 1, 0)).is_err(), "gap in partitions");
        image.apply(&partition(id, 0, 3)).unwrap();
        assert!(image.apply(&partition(id, 0, 2)).is_err(), "epoch going backwards");
        assert!(image.apply(&MetadataRecord::RemoveTopic { topic_id: Uuid::from_u128(9) }).is_err());
        image.apply(&MetadataRecord::ClusterId { cluster_id: "a".into() }).unwrap();
        assert!(image.apply(&MetadataRecord::ClusterId { cluster_id: "b".into() }).is_err());
    }
}
