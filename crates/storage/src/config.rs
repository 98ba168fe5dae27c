//! Per-partition log settings, in storage's own terms. The broker maps
//! Kafka's topic configs (`segment.bytes`, `retention.ms`, ...) onto this.

use crate::batch::TimestampType;
use crate::validator::ValidationConfig;

/// How a partition log behaves. `Default` gives Apache Kafka's defaults.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `segment.bytes`: roll a new segment at this size.
    pub segment_bytes: u64,
    /// `segment.ms`: roll a new segment when its first batch is this old.
    pub segment_ms: i64,
    /// `retention.ms`: delete segments whose newest batch is older; -1 keeps forever.
    pub retention_ms: i64,
    /// `retention.bytes`: delete oldest segments while the log is larger; -1 = no limit.
    pub retention_bytes: i64,
    /// `index.interval.bytes`: bytes of log between two index entries.
    pub index_interval_bytes: u64,
    /// `flush.messages`: fsync after this many messages; `u64::MAX` leaves it to the OS.
    pub flush_messages: u64,
    /// `flush.ms`: fsync when the oldest unflushed data is this old; `i64::MAX` = never.
    pub flush_ms: i64,
    /// `cleanup.policy` contains `delete`: time and size retention apply.
    pub cleanup_delete: bool,
    /// `cleanup.policy` contains `compact`.
    pub cleanup_compact: bool,
    /// `max.message.bytes`.
    pub max_message_bytes: usize,
    /// `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// `message.timestamp.before.max.ms`.
    pub timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms`.
    pub timestamp_after_max_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            index_interval_bytes: 4096,
            flush_messages: u64::MAX,
            flush_ms: i64::MAX,
            cleanup_delete: true,
            cleanup_compact: false,
            max_message_bytes: 1_048_588,
            timestamp_type: TimestampType::CreateTime,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: 3_600_000,
        }
    }
}

impl LogConfig {
    /// What the validator needs of this config.
    pub fn validation(&self) -> ValidationConfig {
        ValidationConfig {
            max_message_bytes: self.max_message_bytes,
            compacted: self.cleanup_compact,
            timestamp_type: self.timestamp_type,
            timestamp_before_max_ms: self.timestamp_before_max_ms,
            timestamp_after_max_ms: self.timestamp_after_max_ms,
        }
    }
}
