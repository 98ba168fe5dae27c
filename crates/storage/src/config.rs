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
    /// `cleanup.policy` contains `compact`: the cleaner keeps the latest record per key.
    pub cleanup_compact: bool,
    /// `delete.retention.ms`: how long a tombstone outlives the compaction that
    /// first saw it (Kafka's delete horizon, KIP-534).
    pub delete_retention_ms: i64,
    /// `min.cleanable.dirty.ratio`: share of the log's bytes not yet compacted
    /// at which it is compacted.
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms`: a segment whose newest record is younger stays uncompacted.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`: a log whose oldest uncompacted record is older is
    /// compacted whatever its dirty ratio.
    pub max_compaction_lag_ms: i64,
    /// `max.message.bytes`.
    pub max_message_bytes: usize,
    /// `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// `message.timestamp.before.max.ms`.
    pub timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms`.
    pub timestamp_after_max_ms: i64,
    /// Most bytes one batch's records may decompress to wherever they are
    /// read (broker-wide: `max_decompressed_batch_bytes`).
    pub max_decompressed_bytes: u64,
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
            delete_retention_ms: 86_400_000,
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            max_message_bytes: 1_048_588,
            timestamp_type: TimestampType::CreateTime,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: 3_600_000,
            max_decompressed_bytes: crate::validator::MAX_DECOMPRESSED_BYTES,
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
            max_decompressed_bytes: self.max_decompressed_bytes,
        }
    }
}
