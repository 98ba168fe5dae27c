//! The state every connection shares: config, cluster metadata, partition logs.

use std::sync::Arc;

use crate::config::Config;
use crate::metadata::{Endpoint, MetadataImage, MetadataStore};
use crate::partitions::Partitions;

pub struct Broker {
    pub config: Config,
    pub metadata: Arc<MetadataStore>,
    pub partitions: Arc<Partitions>,
}

/// The endpoint of `node` for the listener a client came in on, as Kafka
/// answers: clients only ever see addresses of their own listener. Falls back
/// to the broker's first endpoint if it lacks that listener.
pub fn endpoint_for<'a>(image: &'a MetadataImage, node: i32, listener: &str) -> Option<&'a Endpoint> {
    let broker = image.brokers.get(&node)?;
    broker.endpoints.iter().find(|e| e.listener == listener).or_else(|| broker.endpoints.first())
}
