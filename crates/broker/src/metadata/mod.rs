//! Cluster metadata, kept the way Kafka's KRaft keeps it: a log of records
//! (`records`) appended to a file under the data directory (`log`) and applied
//! to an in-memory image (`image`). Every change goes through one place,
//! [`MetadataStore`], which validates, appends durably, then applies; readers
//! take a cheap snapshot of the image. A later step replicates the same log
//! across brokers with a consensus engine, so nothing here assumes one node.

pub mod image;
pub mod log;
pub mod records;
pub mod store;
pub mod topic_config;
pub mod topic_name;

pub use image::{BrokerRegistration, Endpoint, MetadataImage, TopicImage};
pub use store::{MetadataStore, NewTopic, TopicDefaults, TopicError};
