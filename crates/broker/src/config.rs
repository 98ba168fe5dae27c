//! Broker configuration: built-in defaults, then a YAML file, then `STROM_*`
//! environment variables, then command-line flags, each overriding the last.
//! Every problem is reported with where the value came from and what is wrong.

use std::path::{Path, PathBuf};

use serde::Deserialize;

mod limits;
pub mod security;

pub use security::{SecurityConfig, SecurityProtocol};

/// Kafka's `socket.request.max.bytes` default.
pub const DEFAULT_MAX_FRAME_BYTES: usize = strom_protocol::frame::DEFAULT_MAX_FRAME_BYTES;
/// Connections served at once; each costs a task and a read buffer. Kafka has
/// no default limit; this one keeps a connection flood from exhausting memory.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Request bytes held at once across connections (see `crate::limits`): two
/// maximum-size produces, or thousands of ordinary ones, at a bounded cost.
pub const DEFAULT_QUEUED_MAX_REQUEST_BYTES: usize = 512 * 1024 * 1024;
/// Largest request other than Produce. A decoded request can take about 40
/// times its wire size in memory (a 2-byte topic entry becomes a 72-byte
/// struct), so only Produce, whose records stay raw bytes, gets the full
/// `max_frame_bytes`; 8 MiB is far above any real admin or fetch request.
pub const DEFAULT_MAX_NON_PRODUCE_REQUEST_BYTES: usize = 8 * 1024 * 1024;
/// What one batch's records may decompress to (see `strom_storage::validator::MAX_DECOMPRESSED_BYTES`).
pub const DEFAULT_MAX_DECOMPRESSED_BATCH_BYTES: u64 = strom_storage::validator::MAX_DECOMPRESSED_BYTES;
/// Kafka's `connections.max.idle.ms` default: 10 minutes.
pub const DEFAULT_CONNECTIONS_MAX_IDLE_MS: u64 = 600_000;
/// Kafka's default is 50, and tokio's 128: a burst of new connections (a
/// client fleet restarting) then overflows the queue, and every connection the
/// kernel drops waits a whole second for its SYN to be retransmitted.
pub const DEFAULT_SOCKET_LISTEN_BACKLOG_SIZE: u32 = 4096;
/// SO_SNDBUF of each connection (Kafka's `socket.send.buffer.bytes`, whose
/// default is 100 KiB). Bounded is cheaper than the kernel's autotuning: with
/// that, one sendfile(2) pushes a whole 1 MiB fetch while the client drains it,
/// and the broker paid 2.5-3x the CPU per byte fetched; at 192 KiB fetches ran
/// 10-20% faster than at Kafka's 100 KiB (docs/benchmarks.md, optimisation 12).
pub const DEFAULT_SOCKET_SEND_BUFFER_BYTES: i32 = 196_608;
/// SO_RCVBUF (Kafka's `socket.receive.buffer.bytes`, default 100 KiB): -1,
/// the kernel's autotuning, which measured the same for produce here and does
/// not cap a producer's window on a long-round-trip link.
pub const DEFAULT_SOCKET_RECEIVE_BUFFER_BYTES: i32 = -1;

/// The settings the broker runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub node_id: i32,
    pub data_dir: PathBuf,
    pub listeners: Vec<Listener>,
    /// One advertised address per listener, same order as `listeners`.
    pub advertised: Vec<Listener>,
    pub auto_create_topics: bool,
    pub num_partitions: i32,
    pub default_replication_factor: i16,
    pub max_frame_bytes: usize,
    pub max_connections: usize,
    /// Kafka's `max.connections.per.ip` (default: `max_connections`, no extra limit, as Kafka).
    pub max_connections_per_ip: usize,
    /// Kafka's `queued.max.request.bytes`: request bytes held at once, all connections together.
    pub queued_max_request_bytes: usize,
    /// Largest request of any API but Produce (which has `max_frame_bytes`).
    pub max_non_produce_request_bytes: usize,
    /// Per-API request size limits over the two above: (api key, bytes).
    pub max_request_bytes_per_api: Vec<(i16, usize)>,
    /// Most bytes one record batch may decompress to when the broker reads its records.
    pub max_decompressed_batch_bytes: u64,
    /// Kafka's `connections.max.idle.ms`: a connection with no read or write for this long is closed.
    pub connections_max_idle_ms: u64,
    /// Kafka's `socket.listen.backlog.size`: connections the kernel queues for
    /// each listener until the broker accepts them (Linux caps it at `net.core.somaxconn`).
    pub socket_listen_backlog_size: u32,
    /// Kafka's `socket.send.buffer.bytes`: SO_SNDBUF of every connection, or
    /// `None` (configured -1) for the kernel's default and autotuning.
    pub socket_send_buffer_bytes: Option<u32>,
    /// Kafka's `socket.receive.buffer.bytes`: SO_RCVBUF, set on each listener
    /// before it listens so the TCP window scale fits it; `None` (-1) as above.
    pub socket_receive_buffer_bytes: Option<u32>,
    /// Kafka's `group.initial.rebalance.delay.ms`: how long a new group waits
    /// for more members before its first rebalance.
    pub group_initial_rebalance_delay_ms: i64,
    /// Kafka's `group.min.session.timeout.ms` and `group.max.session.timeout.ms`.
    pub group_min_session_timeout_ms: i32,
    pub group_max_session_timeout_ms: i32,
    /// Kafka's `offsets.topic.num.partitions`, used when `__consumer_offsets` is created.
    pub offsets_topic_num_partitions: i32,
    /// Kafka's `offsets.topic.segment.bytes`: segment size of `__consumer_offsets`
    /// (small segments let compaction reclaim superseded commits sooner).
    pub offsets_topic_segment_bytes: i64,
    /// Kafka's `log.cleaner.backoff.ms`: how often compacted logs are checked for compaction.
    pub log_cleaner_backoff_ms: u64,
    /// Kafka's `log.cleaner.dedupe.buffer.size`: memory for one compaction pass's key map.
    pub log_cleaner_dedupe_buffer_size: usize,
    /// Kafka's `transaction.state.log.num.partitions`, used when `__transaction_state` is created.
    pub transaction_state_log_num_partitions: i32,
    /// Kafka's `transaction.max.timeout.ms`: the longest `transaction.timeout.ms` a producer may ask for.
    pub transaction_max_timeout_ms: i32,
    /// Kafka's `transactional.id.expiration.ms`: idle transactional ids are forgotten after this.
    pub transactional_id_expiration_ms: i64,
    /// Kafka's `transaction.partition.verification.enable` (KIP-890): a
    /// transaction's first write to a partition is checked with the coordinator.
    pub transaction_partition_verification_enable: bool,
    /// Testing only: how long the coordinator waits before writing a decided
    /// transaction's markers, so crash tests can stop the broker between
    /// PrepareCommit/PrepareAbort and the markers. 0 (no wait) outside tests.
    pub test_txn_marker_delay_ms: u64,
    /// `tracing` filter directive.
    pub log: String,
    /// Where `/metrics` and `/health` are served over HTTP; `None`: nowhere.
    pub metrics_listen: Option<String>,
    /// Listener protocols, TLS, SASL and ACL settings.
    pub security: SecurityConfig,
}

/// A named `host:port`, as in Kafka's `NAME://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub host: String,
    pub port: u16,
}

impl Listener {
    /// The `host:port` to bind; an empty host means every interface.
    pub fn bind_address(&self) -> String {
        let host = if self.host.is_empty() { "0.0.0.0" } else { &self.host };
        format!("{host}:{}", self.port)
    }
}

/// The YAML file's shape; also what env vars and flags fill in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    pub node_id: Option<i32>,
    pub data_dir: Option<PathBuf>,
    pub listeners: Option<String>,
    pub advertised_listeners: Option<String>,
    pub auto_create_topics: Option<bool>,
    pub num_partitions: Option<i32>,
    pub default_replication_factor: Option<i16>,
    pub max_frame_bytes: Option<usize>,
    pub max_connections: Option<usize>,
    pub max_connections_per_ip: Option<usize>,
    pub queued_max_request_bytes: Option<usize>,
    pub max_non_produce_request_bytes: Option<usize>,
    pub max_request_bytes_per_api: Option<String>,
    pub max_decompressed_batch_bytes: Option<u64>,
    pub connections_max_idle_ms: Option<u64>,
    pub socket_listen_backlog_size: Option<u32>,
    pub socket_send_buffer_bytes: Option<i32>,
    pub socket_receive_buffer_bytes: Option<i32>,
    pub group_initial_rebalance_delay_ms: Option<i64>,
    pub group_min_session_timeout_ms: Option<i32>,
    pub group_max_session_timeout_ms: Option<i32>,
    pub offsets_topic_num_partitions: Option<i32>,
    pub offsets_topic_segment_bytes: Option<i64>,
    pub log_cleaner_backoff_ms: Option<u64>,
    pub log_cleaner_dedupe_buffer_size: Option<usize>,
    pub transaction_state_log_num_partitions: Option<i32>,
    pub transaction_max_timeout_ms: Option<i32>,
    pub transactional_id_expiration_ms: Option<i64>,
    pub transaction_partition_verification_enable: Option<bool>,
    pub test_txn_marker_delay_ms: Option<u64>,
    pub log: Option<String>,
    pub metrics_listen: Option<String>,
    pub listener_security_protocol_map: Option<String>,
    pub ssl_certificate_chain_file: Option<PathBuf>,
    pub ssl_private_key_file: Option<PathBuf>,
    pub ssl_truststore_file: Option<PathBuf>,
    pub ssl_client_auth: Option<String>,
    pub ssl_reload_interval_ms: Option<u64>,
    pub sasl_enabled_mechanisms: Option<String>,
    pub sasl_users: Option<security::SaslUsers>,
    pub scram_iterations: Option<i32>,
    pub authorizer: Option<String>,
    pub super_users: Option<String>,
    pub ssl_principal_mapping_rules: Option<String>,
    pub allow_everyone_if_no_acl_found: Option<bool>,
    pub connection_failed_authentication_delay_ms: Option<u64>,
    pub max_failed_authentications_per_minute: Option<u32>,
    pub authentication_timeout_ms: Option<u64>,
    pub connections_max_reauth_ms: Option<i64>,
}

/// A configuration problem, naming its source and key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {key}: {problem}")]
pub struct ConfigError {
    pub source_name: String,
    pub key: String,
    pub problem: String,
}

fn problem(source_name: &str, key: &str, problem: impl Into<String>) -> ConfigError {
    // Name the key the way the user wrote it: STROM_NUM_PARTITIONS in the environment.
    let key = if source_name == "environment" && !key.starts_with("STROM_") {
        format!("STROM_{}", key.to_uppercase())
    } else {
        key.to_string()
    };
    ConfigError { source_name: source_name.to_string(), key, problem: problem.into() }
}

impl Overrides {
    /// Reads a YAML config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| problem(&source, "(file)", format!("cannot read: {e}")))?;
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml::from_str(&text).map_err(|e| {
            let key = e.location().map_or("(file)".to_string(), |l| format!("line {}", l.line()));
            problem(&source, &key, e.to_string())
        })
    }

    /// Reads `STROM_<KEY>` variables through `var` (the process environment in main).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        fn parse<T: std::str::FromStr>(var: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<T>, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            match var(name) {
                None => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|e| problem("environment", name, format!("{e}: {v:?}"))),
            }
        }
        Ok(Self {
            node_id: parse(&var, "STROM_NODE_ID")?,
            data_dir: var("STROM_DATA_DIR").map(PathBuf::from),
            listeners: var("STROM_LISTENERS"),
            advertised_listeners: var("STROM_ADVERTISED_LISTENERS"),
            auto_create_topics: parse(&var, "STROM_AUTO_CREATE_TOPICS")?,
            num_partitions: parse(&var, "STROM_NUM_PARTITIONS")?,
            default_replication_factor: parse(&var, "STROM_DEFAULT_REPLICATION_FACTOR")?,
            max_frame_bytes: parse(&var, "STROM_MAX_FRAME_BYTES")?,
            max_connections: parse(&var, "STROM_MAX_CONNECTIONS")?,
            max_connections_per_ip: parse(&var, "STROM_MAX_CONNECTIONS_PER_IP")?,
            queued_max_request_bytes: parse(&var, "STROM_QUEUED_MAX_REQUEST_BYTES")?,
            max_non_produce_request_bytes: parse(&var, "STROM_MAX_NON_PRODUCE_REQUEST_BYTES")?,
            max_request_bytes_per_api: var("STROM_MAX_REQUEST_BYTES_PER_API"),
            max_decompressed_batch_bytes: parse(&var, "STROM_MAX_DECOMPRESSED_BATCH_BYTES")?,
            connections_max_idle_ms: parse(&var, "STROM_CONNECTIONS_MAX_IDLE_MS")?,
            socket_listen_backlog_size: parse(&var, "STROM_SOCKET_LISTEN_BACKLOG_SIZE")?,
            socket_send_buffer_bytes: parse(&var, "STROM_SOCKET_SEND_BUFFER_BYTES")?,
            socket_receive_buffer_bytes: parse(&var, "STROM_SOCKET_RECEIVE_BUFFER_BYTES")?,
            group_initial_rebalance_delay_ms: parse(&var, "STROM_GROUP_INITIAL_REBALANCE_DELAY_MS")?,
            group_min_session_timeout_ms: parse(&var, "STROM_GROUP_MIN_SESSION_TIMEOUT_MS")?,
            group_max_session_timeout_ms: parse(&var, "STROM_GROUP_MAX_SESSION_TIMEOUT_MS")?,
            offsets_topic_num_partitions: parse(&var, "STROM_OFFSETS_TOPIC_NUM_PARTITIONS")?,
            offsets_topic_segment_bytes: parse(&var, "STROM_OFFSETS_TOPIC_SEGMENT_BYTES")?,
            log_cleaner_backoff_ms: parse(&var, "STROM_LOG_CLEANER_BACKOFF_MS")?,
            log_cleaner_dedupe_buffer_size: parse(&var, "STROM_LOG_CLEANER_DEDUPE_BUFFER_SIZE")?,
            transaction_state_log_num_partitions: parse(&var, "STROM_TRANSACTION_STATE_LOG_NUM_PARTITIONS")?,
            transaction_max_timeout_ms: parse(&var, "STROM_TRANSACTION_MAX_TIMEOUT_MS")?,
            transactional_id_expiration_ms: parse(&var, "STROM_TRANSACTIONAL_ID_EXPIRATION_MS")?,
            transaction_partition_verification_enable: parse(&var, "STROM_TRANSACTION_PARTITION_VERIFICATION_ENABLE")?,
            test_txn_marker_delay_ms: parse(&var, "STROM_TEST_TXN_MARKER_DELAY_MS")?,
            log: var("STROM_LOG"),
            metrics_listen: var("STROM_METRICS_LISTEN"),
            listener_security_protocol_map: var("STROM_LISTENER_SECURITY_PROTOCOL_MAP"),
            ssl_certificate_chain_file: var("STROM_SSL_CERTIFICATE_CHAIN_FILE").map(PathBuf::from),
            ssl_private_key_file: var("STROM_SSL_PRIVATE_KEY_FILE").map(PathBuf::from),
            ssl_truststore_file: var("STROM_SSL_TRUSTSTORE_FILE").map(PathBuf::from),
            ssl_client_auth: var("STROM_SSL_CLIENT_AUTH"),
            ssl_reload_interval_ms: parse(&var, "STROM_SSL_RELOAD_INTERVAL_MS")?,
            sasl_enabled_mechanisms: var("STROM_SASL_ENABLED_MECHANISMS"),
            sasl_users: var("STROM_SASL_USERS").map(security::SaslUsers::Text),
            scram_iterations: parse(&var, "STROM_SCRAM_ITERATIONS")?,
            authorizer: var("STROM_AUTHORIZER"),
            super_users: var("STROM_SUPER_USERS"),
            ssl_principal_mapping_rules: var("STROM_SSL_PRINCIPAL_MAPPING_RULES"),
            allow_everyone_if_no_acl_found: parse(&var, "STROM_ALLOW_EVERYONE_IF_NO_ACL_FOUND")?,
            connection_failed_authentication_delay_ms: parse(&var, "STROM_CONNECTION_FAILED_AUTHENTICATION_DELAY_MS")?,
            max_failed_authentications_per_minute: parse(&var, "STROM_MAX_FAILED_AUTHENTICATIONS_PER_MINUTE")?,
            authentication_timeout_ms: parse(&var, "STROM_AUTHENTICATION_TIMEOUT_MS")?,
            connections_max_reauth_ms: parse(&var, "STROM_CONNECTIONS_MAX_REAUTH_MS")?,
        })
    }

    /// Keeps every value of `self`, taking `other`'s where it has one.
    pub fn then(self, other: Self) -> Self {
        Self {
            node_id: other.node_id.or(self.node_id),
            data_dir: other.data_dir.or(self.data_dir),
            listeners: other.listeners.or(self.listeners),
            advertised_listeners: other.advertised_listeners.or(self.advertised_listeners),
            auto_create_topics: other.auto_create_topics.or(self.auto_create_topics),
            num_partitions: other.num_partitions.or(self.num_partitions),
            default_replication_factor: other.default_replication_factor.or(self.default_replication_factor),
            max_frame_bytes: other.max_frame_bytes.or(self.max_frame_bytes),
            max_connections: other.max_connections.or(self.max_connections),
            max_connections_per_ip: other.max_connections_per_ip.or(self.max_connections_per_ip),
            queued_max_request_bytes: other.queued_max_request_bytes.or(self.queued_max_request_bytes),
            max_non_produce_request_bytes: other.max_non_produce_request_bytes.or(self.max_non_produce_request_bytes),
            max_request_bytes_per_api: other.max_request_bytes_per_api.or(self.max_request_bytes_per_api),
            max_decompressed_batch_bytes: other.max_decompressed_batch_bytes.or(self.max_decompressed_batch_bytes),
            connections_max_idle_ms: other.connections_max_idle_ms.or(self.connections_max_idle_ms),
            socket_listen_backlog_size: other.socket_listen_backlog_size.or(self.socket_listen_backlog_size),
            socket_send_buffer_bytes: other.socket_send_buffer_bytes.or(self.socket_send_buffer_bytes),
            socket_receive_buffer_bytes: other.socket_receive_buffer_bytes.or(self.socket_receive_buffer_bytes),
            group_initial_rebalance_delay_ms: other.group_initial_rebalance_delay_ms.or(self.group_initial_rebalance_delay_ms),
            group_min_session_timeout_ms: other.group_min_session_timeout_ms.or(self.group_min_session_timeout_ms),
            group_max_session_timeout_ms: other.group_max_session_timeout_ms.or(self.group_max_session_timeout_ms),
            offsets_topic_num_partitions: other.offsets_topic_num_partitions.or(self.offsets_topic_num_partitions),
            offsets_topic_segment_bytes: other.offsets_topic_segment_bytes.or(self.offsets_topic_segment_bytes),
            log_cleaner_backoff_ms: other.log_cleaner_backoff_ms.or(self.log_cleaner_backoff_ms),
            log_cleaner_dedupe_buffer_size: other.log_cleaner_dedupe_buffer_size.or(self.log_cleaner_dedupe_buffer_size),
            transaction_state_log_num_partitions: other.transaction_state_log_num_partitions.or(self.transaction_state_log_num_partitions),
            transaction_max_timeout_ms: other.transaction_max_timeout_ms.or(self.transaction_max_timeout_ms),
            transactional_id_expiration_ms: other.transactional_id_expiration_ms.or(self.transactional_id_expiration_ms),
            transaction_partition_verification_enable: other
                .transaction_partition_verification_enable
                .or(self.transaction_partition_verification_enable),
            test_txn_marker_delay_ms: other.test_txn_marker_delay_ms.or(self.test_txn_marker_delay_ms),
            log: other.log.or(self.log),
            metrics_listen: other.metrics_listen.or(self.metrics_listen),
            listener_security_protocol_map: other.listener_security_protocol_map.or(self.listener_security_protocol_map),
            ssl_certificate_chain_file: other.ssl_certificate_chain_file.or(self.ssl_certificate_chain_file),
            ssl_private_key_file: other.ssl_private_key_file.or(self.ssl_private_key_file),
            ssl_truststore_file: other.ssl_truststore_file.or(self.ssl_truststore_file),
            ssl_client_auth: other.ssl_client_auth.or(self.ssl_client_auth),
            ssl_reload_interval_ms: other.ssl_reload_interval_ms.or(self.ssl_reload_interval_ms),
            sasl_enabled_mechanisms: other.sasl_enabled_mechanisms.or(self.sasl_enabled_mechanisms),
            sasl_users: other.sasl_users.or(self.sasl_users),
            scram_iterations: other.scram_iterations.or(self.scram_iterations),
            authorizer: other.authorizer.or(self.authorizer),
            super_users: other.super_users.or(self.super_users),
            ssl_principal_mapping_rules: other.ssl_principal_mapping_rules.or(self.ssl_principal_mapping_rules),
            allow_everyone_if_no_acl_found: other.allow_everyone_if_no_acl_found.or(self.allow_everyone_if_no_acl_found),
            connection_failed_authentication_delay_ms: other
                .connection_failed_authentication_delay_ms
                .or(self.connection_failed_authentication_delay_ms),
            max_failed_authentications_per_minute: other
                .max_failed_authentications_per_minute
                .or(self.max_failed_authentications_per_minute),
            authentication_timeout_ms: other.authentication_timeout_ms.or(self.authentication_timeout_ms),
            connections_max_reauth_ms: other.connections_max_reauth_ms.or(self.connections_max_reauth_ms),
        }
    }
}

/// Where each layer came from, for error messages.
pub struct Layers {
    pub file: Option<(String, Overrides)>,
    pub env: Overrides,
    pub flags: Overrides,
}

impl Config {
    /// Builds the config from its layers and checks it.
    pub fn resolve(layers: Layers) -> Result<Self, ConfigError> {
        let (file_name, file) = layers.file.unwrap_or_else(|| ("defaults".to_string(), Overrides::default()));
        // Errors name the most specific layer that set the key.
        let origin = |key_set: fn(&Overrides) -> bool| -> String {
            if key_set(&layers.flags) {
                "command line".to_string()
            } else if key_set(&layers.env) {
                "environment".to_string()
            } else {
                file_name.clone()
            }
        };
        let o = file.then(layers.env.clone()).then(layers.flags.clone());
        let listeners_text = o.listeners.clone().unwrap_or_else(|| "PLAINTEXT://0.0.0.0:9092".to_string());
        let listeners = parse_listeners(&listeners_text)
            .map_err(|p| problem(&origin(|o| o.listeners.is_some()), "listeners", p))?;
        let advertised = match &o.advertised_listeners {
            Some(text) => {
                let src = origin(|o| o.advertised_listeners.is_some());
                let given = parse_listeners(text).map_err(|p| problem(&src, "advertised_listeners", p))?;
                match_advertised(&listeners, given).map_err(|p| problem(&src, "advertised_listeners", p))?
            }
            None => listeners.iter().map(default_advertised).collect(),
        };
        let security = security::resolve(&o, &listeners, &origin)?;
        let mut config = Config {
            node_id: o.node_id.unwrap_or(1),
            data_dir: o.data_dir.unwrap_or_else(|| PathBuf::from("./data")),
            listeners,
            advertised,
            auto_create_topics: o.auto_create_topics.unwrap_or(true),
            num_partitions: o.num_partitions.unwrap_or(1),
            default_replication_factor: o.default_replication_factor.unwrap_or(1),
            max_frame_bytes: o.max_frame_bytes.unwrap_or(DEFAULT_MAX_FRAME_BYTES),
            max_connections: o.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
            max_connections_per_ip: o.max_connections_per_ip.or(o.max_connections).unwrap_or(DEFAULT_MAX_CONNECTIONS),
            queued_max_request_bytes: o.queued_max_request_bytes.unwrap_or(DEFAULT_QUEUED_MAX_REQUEST_BYTES),
            max_non_produce_request_bytes: o.max_non_produce_request_bytes.unwrap_or(DEFAULT_MAX_NON_PRODUCE_REQUEST_BYTES),
            max_request_bytes_per_api: Vec::new(), // checked below, against max_frame_bytes
            max_decompressed_batch_bytes: o.max_decompressed_batch_bytes.unwrap_or(DEFAULT_MAX_DECOMPRESSED_BATCH_BYTES),
            connections_max_idle_ms: o.connections_max_idle_ms.unwrap_or(DEFAULT_CONNECTIONS_MAX_IDLE_MS),
            socket_listen_backlog_size: o.socket_listen_backlog_size.unwrap_or(DEFAULT_SOCKET_LISTEN_BACKLOG_SIZE),
            socket_send_buffer_bytes: None,    // checked below
            socket_receive_buffer_bytes: None, // checked below
            group_initial_rebalance_delay_ms: o.group_initial_rebalance_delay_ms.unwrap_or(3000),
            group_min_session_timeout_ms: o.group_min_session_timeout_ms.unwrap_or(6000),
            group_max_session_timeout_ms: o.group_max_session_timeout_ms.unwrap_or(1_800_000),
            offsets_topic_num_partitions: o.offsets_topic_num_partitions.unwrap_or(50),
            offsets_topic_segment_bytes: o.offsets_topic_segment_bytes.unwrap_or(104_857_600),
            log_cleaner_backoff_ms: o.log_cleaner_backoff_ms.unwrap_or(15_000),
            log_cleaner_dedupe_buffer_size: o.log_cleaner_dedupe_buffer_size.unwrap_or(128 * 1024 * 1024),
            transaction_state_log_num_partitions: o.transaction_state_log_num_partitions.unwrap_or(50),
            transaction_max_timeout_ms: o.transaction_max_timeout_ms.unwrap_or(900_000),
            transactional_id_expiration_ms: o.transactional_id_expiration_ms.unwrap_or(604_800_000),
            transaction_partition_verification_enable: o.transaction_partition_verification_enable.unwrap_or(true),
            test_txn_marker_delay_ms: o.test_txn_marker_delay_ms.unwrap_or(0),
            log: o.log.unwrap_or_else(|| "info".to_string()),
            // An empty value turns the endpoint off, as leaving it unset does.
            metrics_listen: o.metrics_listen.filter(|a| !a.trim().is_empty()),
            security,
        };
        if config.node_id < 0 {
            return Err(problem(&origin(|o| o.node_id.is_some()), "node_id", format!("must be 0 or more, got {}", config.node_id)));
        }
        if config.num_partitions < 1 {
            let got = config.num_partitions;
            return Err(problem(&origin(|o| o.num_partitions.is_some()), "num_partitions", format!("must be at least 1, got {got}")));
        }
        if config.default_replication_factor < 1 {
            let got = config.default_replication_factor;
            return Err(problem(
                &origin(|o| o.default_replication_factor.is_some()),
                "default_replication_factor",
                format!("must be at least 1, got {got}"),
            ));
        }
        if config.max_frame_bytes < 1024 || config.max_frame_bytes > i32::MAX as usize {
            let got = config.max_frame_bytes;
            return Err(problem(
                &origin(|o| o.max_frame_bytes.is_some()),
                "max_frame_bytes",
                format!("must be between 1024 and {}, got {got}", i32::MAX),
            ));
        }
        if config.max_connections == 0 {
            return Err(problem(&origin(|o| o.max_connections.is_some()), "max_connections", "must be at least 1"));
        }
        if config.max_connections_per_ip == 0 {
            return Err(problem(&origin(|o| o.max_connections_per_ip.is_some()), "max_connections_per_ip", "must be at least 1"));
        }
        if !(1024..=u32::MAX as usize).contains(&config.queued_max_request_bytes) {
            let src = origin(|o| o.queued_max_request_bytes.is_some());
            return Err(problem(&src, "queued_max_request_bytes", format!("must be between 1024 and {}", u32::MAX)));
        }
        if config.max_non_produce_request_bytes < 1024 {
            let src = origin(|o| o.max_non_produce_request_bytes.is_some());
            return Err(problem(&src, "max_non_produce_request_bytes", "must be at least 1024"));
        }
        if let Some(text) = &o.max_request_bytes_per_api {
            let src = origin(|o| o.max_request_bytes_per_api.is_some());
            config.max_request_bytes_per_api = limits::parse_request_limits(text, config.max_frame_bytes)
                .map_err(|p| problem(&src, "max_request_bytes_per_api", p))?;
        }
        if config.max_decompressed_batch_bytes < 1 << 20 {
            let src = origin(|o| o.max_decompressed_batch_bytes.is_some());
            return Err(problem(&src, "max_decompressed_batch_bytes", "must be at least 1048576 (1 MiB)"));
        }
        if config.socket_listen_backlog_size < 1 {
            let src = origin(|o| o.socket_listen_backlog_size.is_some());
            return Err(problem(&src, "socket_listen_backlog_size", "must be at least 1"));
        }
        config.socket_send_buffer_bytes = socket_buffer_bytes(o.socket_send_buffer_bytes, DEFAULT_SOCKET_SEND_BUFFER_BYTES)
            .map_err(|p| problem(&origin(|o| o.socket_send_buffer_bytes.is_some()), "socket_send_buffer_bytes", p))?;
        config.socket_receive_buffer_bytes = socket_buffer_bytes(o.socket_receive_buffer_bytes, DEFAULT_SOCKET_RECEIVE_BUFFER_BYTES)
            .map_err(|p| problem(&origin(|o| o.socket_receive_buffer_bytes.is_some()), "socket_receive_buffer_bytes", p))?;
        if config.connections_max_idle_ms < 1 {
            let src = origin(|o| o.connections_max_idle_ms.is_some());
            return Err(problem(&src, "connections_max_idle_ms", "must be at least 1"));
        }
        if config.group_initial_rebalance_delay_ms < 0 {
            let src = origin(|o| o.group_initial_rebalance_delay_ms.is_some());
            return Err(problem(&src, "group_initial_rebalance_delay_ms", "must be 0 or more"));
        }
        if config.group_min_session_timeout_ms < 1 || config.group_max_session_timeout_ms < config.group_min_session_timeout_ms {
            let src = origin(|o| o.group_min_session_timeout_ms.is_some() || o.group_max_session_timeout_ms.is_some());
            return Err(problem(
                &src,
                "group_min_session_timeout_ms",
                format!(
                    "must be at least 1 and at most group_max_session_timeout_ms, got {} and {}",
                    config.group_min_session_timeout_ms, config.group_max_session_timeout_ms
                ),
            ));
        }
        if config.offsets_topic_num_partitions < 1 {
            let src = origin(|o| o.offsets_topic_num_partitions.is_some());
            return Err(problem(&src, "offsets_topic_num_partitions", "must be at least 1"));
        }
        if !(1 << 20..=i64::from(i32::MAX)).contains(&config.offsets_topic_segment_bytes) {
            // The range Kafka 4 allows any topic's segment.bytes.
            let src = origin(|o| o.offsets_topic_segment_bytes.is_some());
            return Err(problem(&src, "offsets_topic_segment_bytes", "must be at least 1048576 (1 MiB) and at most 2147483647"));
        }
        if config.log_cleaner_backoff_ms < 1 {
            let src = origin(|o| o.log_cleaner_backoff_ms.is_some());
            return Err(problem(&src, "log_cleaner_backoff_ms", "must be at least 1"));
        }
        if config.transaction_state_log_num_partitions < 1 {
            let src = origin(|o| o.transaction_state_log_num_partitions.is_some());
            return Err(problem(&src, "transaction_state_log_num_partitions", "must be at least 1"));
        }
        if config.transaction_max_timeout_ms < 1 {
            let src = origin(|o| o.transaction_max_timeout_ms.is_some());
            return Err(problem(&src, "transaction_max_timeout_ms", "must be at least 1"));
        }
        if config.transactional_id_expiration_ms < 1 {
            let src = origin(|o| o.transactional_id_expiration_ms.is_some());
            return Err(problem(&src, "transactional_id_expiration_ms", "must be at least 1"));
        }
        if config.log_cleaner_dedupe_buffer_size < 1024 * 1024 {
            let src = origin(|o| o.log_cleaner_dedupe_buffer_size.is_some());
            return Err(problem(&src, "log_cleaner_dedupe_buffer_size", "must be at least 1048576"));
        }
        Ok(config)
    }
}

/// A socket buffer size as Kafka takes it: bytes, or -1 for the kernel's
/// default and autotuning (`None`).
fn socket_buffer_bytes(value: Option<i32>, default: i32) -> Result<Option<u32>, &'static str> {
    match value.unwrap_or(default) {
        -1 => Ok(None),
        bytes if bytes >= 1 => Ok(u32::try_from(bytes).ok()),
        _ => Err("must be at least 1, or -1 for the operating system's default"),
    }
}

/// Parses Kafka's `NAME://host:port,NAME2://host:port`.
pub fn parse_listeners(text: &str) -> Result<Vec<Listener>, String> {
    let mut listeners: Vec<Listener> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, address) = item
            .split_once("://")
            .ok_or_else(|| format!("{item:?} is not of the form NAME://host:port"))?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(format!("{name:?} is not a valid listener name (letters, digits, '_' and '-')"));
        }
        let (host, port) = address.rsplit_once(':').ok_or_else(|| format!("{item:?} has no port"))?;
        let port: u16 = port.parse().map_err(|_| format!("{item:?} has an invalid port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        if listeners.iter().any(|l| l.name == name) {
            return Err(format!("listener name {name} is used twice"));
        }
        listeners.push(Listener { name: name.to_string(), host, port });
    }
    if listeners.is_empty() {
        return Err("at least one listener is needed".to_string());
    }
    Ok(listeners)
}

/// Orders advertised listeners like `listeners`; every listener needs one.
fn match_advertised(listeners: &[Listener], given: Vec<Listener>) -> Result<Vec<Listener>, String> {
    for a in &given {
        if !listeners.iter().any(|l| l.name == a.name) {
            return Err(format!("{} is not a listener name (listeners are {})", a.name, names(listeners)));
        }
        if a.host.is_empty() || a.host == "0.0.0.0" || a.host == "::" {
            return Err(format!("{}: {:?} cannot be advertised: clients cannot connect to it", a.name, a.host));
        }
    }
    listeners
        .iter()
        .map(|l| given.iter().find(|a| a.name == l.name).cloned().map_or_else(|| Ok(default_advertised(l)), Ok))
        .collect()
}

/// What a listener advertises when nothing is configured: its own address,
/// with `localhost` for a wildcard bind.
fn default_advertised(l: &Listener) -> Listener {
    let host = match l.host.as_str() {
        "" | "0.0.0.0" | "::" => "localhost".to_string(),
        h => h.to_string(),
    };
    Listener { name: l.name.clone(), host, port: l.port }
}

fn names(listeners: &[Listener]) -> String {
    listeners.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
