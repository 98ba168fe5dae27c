//! The state every connection shares: config, cluster metadata, partition
//! logs (with the fetches waiting on them), the coordinators, and the
//! producer id block.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use strom_storage::buffer_pool::BufferPool;

use crate::auth::limiter::FailedLogins;
use crate::auth::tls::TlsSource;
use crate::auth::Authorizer;
use crate::config::Config;
use crate::group::coordinator::GroupConfig;
use crate::group::service::GroupService;
use crate::metadata::{Endpoint, MetadataImage, MetadataStore};
use crate::partitions::Partitions;
use crate::txn::coordinator::TxnConfig;
use crate::txn::service::TxnService;

/// Producer ids reserved from the metadata log at a time (Kafka: 1000).
const PRODUCER_ID_BLOCK: i64 = 1000;

pub struct Broker {
    pub config: Config,
    pub metadata: Arc<MetadataStore>,
    pub partitions: Arc<Partitions>,
    /// Consumer groups and their committed offsets.
    pub groups: Arc<GroupService>,
    /// Transactions and `__transaction_state`.
    pub txns: Arc<TxnService>,
    /// ACL checks for every handler.
    pub authorizer: Authorizer,
    /// Failed logins per client address.
    pub failed_logins: FailedLogins,
    /// Certificates of SSL and SASL_SSL listeners, if any.
    pub tls: Option<Arc<TlsSource>>,
    /// Buffers the fetched records sent on TLS listeners are read into
    /// (plain TCP sends them from the file), back once written.
    pub read_buffers: BufferPool,
    producer_ids: Arc<ProducerIds>,
}

/// Producer ids this broker may still hand out, refilled in durable blocks.
pub struct ProducerIds {
    metadata: Arc<MetadataStore>,
    node_id: i32,
    ids: Mutex<Range<i64>>,
}

impl ProducerIds {
    /// A producer id never handed out before, by any broker, across restarts.
    pub fn next(&self) -> Result<i64, String> {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        if ids.is_empty() {
            *ids = self.metadata.allocate_producer_ids(self.node_id, PRODUCER_ID_BLOCK).map_err(|e| e.to_string())?;
        }
        let id = ids.start;
        ids.start += 1;
        Ok(id)
    }
}

impl Broker {
    pub fn new(config: Config, metadata: Arc<MetadataStore>, partitions: Arc<Partitions>) -> Self {
        let group_config = GroupConfig {
            initial_rebalance_delay_ms: config.group_initial_rebalance_delay_ms,
            min_session_timeout_ms: config.group_min_session_timeout_ms,
            max_session_timeout_ms: config.group_max_session_timeout_ms,
            ..GroupConfig::default()
        };
        let groups = Arc::new(GroupService::new(
            group_config,
            (config.offsets_topic_num_partitions, config.offsets_topic_segment_bytes),
            Arc::clone(&metadata),
            Arc::clone(&partitions),
        ));
        let producer_ids = Arc::new(ProducerIds { metadata: Arc::clone(&metadata), node_id: config.node_id, ids: Mutex::new(0..0) });
        let txn_config = TxnConfig {
            max_timeout_ms: config.transaction_max_timeout_ms,
            transactional_id_expiration_ms: config.transactional_id_expiration_ms,
            ..TxnConfig::default()
        };
        let txns = Arc::new(TxnService::new(
            txn_config,
            config.transaction_state_log_num_partitions,
            Arc::clone(&metadata),
            Arc::clone(&partitions),
            Arc::clone(&groups),
            Arc::clone(&producer_ids),
            std::time::Duration::from_millis(config.test_txn_marker_delay_ms),
        ));
        let authorizer = Authorizer::new(&config.security);
        let failed_logins = FailedLogins::new(config.security.max_failed_authentications_per_minute);
        Self { config, metadata, partitions, groups, txns, authorizer, failed_logins, tls: None, read_buffers: BufferPool::new(), producer_ids }
    }

    /// Serves TLS listeners with these certificates.
    pub fn with_tls(mut self, tls: Option<Arc<TlsSource>>) -> Self {
        self.tls = tls;
        self
    }

    /// A producer id never handed out before, by any broker, across restarts.
    pub fn next_producer_id(&self) -> Result<i64, String> {
        self.producer_ids.next()
    }
}

/// The endpoint of `node` for the listener a client came in on, as Kafka
/// answers: clients only ever see addresses of their own listener. Falls back
/// to the broker's first endpoint if it lacks that listener.
pub fn endpoint_for<'a>(image: &'a MetadataImage, node: i32, listener: &str) -> Option<&'a Endpoint> {
    let broker = image.brokers.get(&node)?;
    broker.endpoints.iter().find(|e| e.listener == listener).or_else(|| broker.endpoints.first())
}
