//! The records of the cluster metadata log, after Kafka's KRaft records
//! (`RegisterBrokerRecord`, `TopicRecord`, `PartitionRecord`, `ConfigRecord`,
//! `RemoveTopicRecord`). One log entry holds one [`RecordBatch`]: the records of
//! one change, applied all together or not at all.
//!
//! Entries are JSON so the log stays readable with `less` during an incident;
//! metadata changes are rare, so compactness does not matter here.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::acl::AclBinding;
use crate::auth::scram::{ScramCredential, ScramMechanism};

/// Version of the entry format, stored in every batch so later formats can be told apart.
pub const FORMAT_VERSION: u16 = 1;

/// The records of one metadata change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordBatch {
    pub version: u16,
    pub records: Vec<MetadataRecord>,
}

impl RecordBatch {
    pub fn new(records: Vec<MetadataRecord>) -> Self {
        Self { version: FORMAT_VERSION, records }
    }
}

/// One fact about the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MetadataRecord {
    /// The first record of every new log: the cluster's identity.
    ClusterId { cluster_id: String },
    /// A broker (re)registered with the endpoints clients should use.
    RegisterBroker {
        node_id: i32,
        endpoints: Vec<EndpointRecord>,
        rack: Option<String>,
    },
    /// A broker became the active controller.
    Controller { node_id: i32 },
    /// A topic was created.
    Topic { name: String, topic_id: Uuid },
    /// A partition was created or changed leadership.
    Partition {
        topic_id: Uuid,
        partition: i32,
        replicas: Vec<i32>,
        isr: Vec<i32>,
        leader: i32,
        leader_epoch: i32,
    },
    /// A topic config override was set (`Some`) or removed (`None`).
    TopicConfig { topic_id: Uuid, name: String, value: Option<String> },
    /// A topic and everything under it was deleted.
    RemoveTopic { topic_id: Uuid },
    /// A block of producer ids was handed to a broker; the next block starts
    /// at `next_producer_id` (Kafka's `ProducerIdsRecord`).
    ProducerIds { node_id: i32, next_producer_id: i64 },
    /// A user's salted SCRAM credential was set (Kafka's `UserScramCredentialRecord`).
    UserScramCredential { name: String, mechanism: ScramMechanism, credential: ScramCredential },
    /// Kafka's `RemoveUserScramCredentialRecord`.
    RemoveUserScramCredential { name: String, mechanism: ScramMechanism },
    /// An ACL was created (Kafka's `AccessControlEntryRecord`); `id` is unique.
    AccessControlEntry { id: Uuid, acl: AclBinding },
    /// Kafka's `RemoveAccessControlEntryRecord`.
    RemoveAccessControlEntry { id: Uuid },
}

/// One advertised listener endpoint of a broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub listener: String,
    pub host: String,
    pub port: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_through_json() {
        let batch = RecordBatch::new(vec![
            MetadataRecord::ClusterId { cluster_id: "abc".into() },
            MetadataRecord::Topic { name: "t".into(), topic_id: Uuid::from_u128(7) },
            MetadataRecord::TopicConfig { topic_id: Uuid::from_u128(7), name: "retention.ms".into(), value: None },
        ]);
        let json = serde_json::to_vec(&batch).unwrap();
        assert_eq!(serde_json::from_slice::<RecordBatch>(&json).unwrap(), batch);
    }
}
