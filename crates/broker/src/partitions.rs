//! Keeps the storage layer's partition logs in step with cluster metadata.
//! Registered as a metadata publisher: every new image opens the logs of
//! partitions this broker hosts, applies changed topic configs, and deletes
//! the logs of topics that are gone. Also holds the fetches waiting for
//! data on those logs ([`FetchWaiters`]): whoever appends to a log wakes them.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use strom_storage::config::LogConfig;
use strom_storage::error::StorageError;
use strom_storage::layout::parse_partition_dir;
use strom_storage::log::PartitionLog;
use strom_storage::manager::{LogManager, LogToOpen};
use strom_storage::batch::TimestampType;

use crate::fetch_waiters::FetchWaiters;
use crate::metadata::log::METADATA_DIR;
use crate::metadata::{topic_config, MetadataImage};

/// The partition logs this broker hosts.
pub struct Partitions {
    data_dir: PathBuf,
    node_id: i32,
    manager: LogManager,
    strays_removed: AtomicBool,
    /// Broker-wide `max_decompressed_batch_bytes`, given to every log.
    max_decompressed_bytes: u64,
    /// Long-polling fetches, by the partitions they wait on.
    waiters: FetchWaiters,
}

impl Partitions {
    pub fn open(data_dir: &Path, node_id: i32) -> Result<Self, StorageError> {
        Self::open_in(&strom_storage::fs::os(), data_dir, node_id)
    }

    /// [`Self::open`] on the file system `fs` (tests inject disk faults with it).
    pub fn open_in(fs: &strom_storage::fs::Fs, data_dir: &Path, node_id: i32) -> Result<Self, StorageError> {
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
            node_id,
            manager: LogManager::open_in(fs, data_dir)?,
            strays_removed: AtomicBool::new(false),
            max_decompressed_bytes: strom_storage::validator::MAX_DECOMPRESSED_BYTES,
            waiters: FetchWaiters::default(),
        })
    }

    /// Bounds what one batch's records may decompress to in every log.
    pub fn with_max_decompressed_bytes(mut self, bytes: u64) -> Self {
        self.max_decompressed_bytes = bytes;
        self
    }

    /// The log of a partition this broker hosts.
    pub fn log(&self, topic: &str, partition: i32) -> Option<Arc<PartitionLog>> {
        self.manager.get(topic, partition)
    }

    pub fn manager(&self) -> &LogManager {
        &self.manager
    }

    /// Fetches waiting for data. Every successful append (or a log going
    /// offline) must [`FetchWaiters::wake`] its partition.
    pub fn waiters(&self) -> &FetchWaiters {
        &self.waiters
    }

    /// Brings the open logs in line with `image`. Failures are logged: the
    /// partition then answers KAFKA_STORAGE_ERROR until the next change.
    /// Missing logs open together, on a few threads (see
    /// [`LogManager::open_logs`]): at startup that is every log.
    pub fn publish(&self, image: &MetadataImage) {
        let mut hosted = HashSet::new();
        let mut missing = Vec::new();
        for topic in image.topics.values() {
            let config = LogConfig { max_decompressed_bytes: self.max_decompressed_bytes, ..log_config(&topic.configs) };
            for partition in topic.partitions.iter().filter(|p| p.replicas.contains(&self.node_id)) {
                hosted.insert((topic.name.clone(), partition.partition));
                match self.manager.get(&topic.name, partition.partition) {
                    Some(log) => log.set_config(config.clone()),
                    None => missing.push(LogToOpen {
                        topic: topic.name.clone(),
                        partition: partition.partition,
                        topic_id: *topic.id.as_bytes(),
                        config: config.clone(),
                    }),
                }
            }
        }
        let started = std::time::Instant::now();
        for (log, opened) in missing.iter().zip(self.manager.open_logs(&missing)) {
            if let Err(error) = opened {
                tracing::error!(topic = %log.topic, partition = log.partition, %error, "cannot open partition log");
            }
        }
        if missing.len() > 1 {
            tracing::debug!(logs = missing.len(), ms = started.elapsed().as_millis() as u64, "opened partition logs");
        }
        for ((topic, partition), _) in self.manager.logs() {
            if !hosted.contains(&(topic.clone(), partition)) {
                if let Err(error) = self.manager.delete_log(&topic, partition) {
                    tracing::error!(%topic, partition, %error, "cannot delete partition log");
                }
                // Its waiting fetches answer now (UNKNOWN_TOPIC_OR_PARTITION), as
                // Kafka completes delayed fetches of a partition it stops hosting.
                self.waiters.wake(&topic, partition);
            }
        }
        if !self.strays_removed.swap(true, Ordering::AcqRel) {
            self.remove_strays(&hosted);
            if let Err(error) = self.manager.finish_startup() {
                tracing::error!(%error, "cannot clear the clean-shutdown marker");
            }
        }
    }

    /// Deletes partition directories no topic owns any more (deleted while
    /// this broker was down), as Kafka does with stray logs.
    fn remove_strays(&self, hosted: &HashSet<(String, i32)>) {
        let Ok(entries) = std::fs::read_dir(&self.data_dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            // The listing's file type spares a stat per partition (a symlink is followed).
            let is_dir = match entry.file_type() {
                Ok(kind) if !kind.is_symlink() => kind.is_dir(),
                _ => entry.path().is_dir(),
            };
            if name == METADATA_DIR || !is_dir {
                continue;
            }
            let Some((topic, partition)) = parse_partition_dir(name) else { continue };
            if !hosted.contains(&(topic.to_string(), partition)) {
                tracing::info!(dir = %entry.path().display(), "deleting the log of a partition that no longer exists");
                if let Err(error) = std::fs::remove_dir_all(entry.path()) {
                    tracing::error!(dir = %entry.path().display(), %error, "cannot delete stray partition log");
                }
            }
        }
    }

    /// Flushes every log and marks the shutdown clean.
    pub fn close(&self) -> Result<(), StorageError> {
        self.manager.close()
    }
}

/// Maps Kafka topic configs (overrides over defaults) onto storage's settings.
pub fn log_config(overrides: &BTreeMap<String, String>) -> LogConfig {
    let value = |name: &str| -> String {
        overrides
            .get(name)
            .cloned()
            .or_else(|| topic_config::find(name).map(|d| d.default.to_string()))
            .unwrap_or_default()
    };
    let long = |name: &str, fallback: i64| value(name).trim().parse::<i64>().unwrap_or(fallback);
    let defaults = LogConfig::default();
    let policy = value("cleanup.policy");
    let to_u64 = |n: i64| u64::try_from(n).unwrap_or(u64::MAX);
    LogConfig {
        segment_bytes: to_u64(long("segment.bytes", defaults.segment_bytes as i64)),
        segment_ms: long("segment.ms", defaults.segment_ms),
        retention_ms: long("retention.ms", defaults.retention_ms),
        retention_bytes: long("retention.bytes", defaults.retention_bytes),
        index_interval_bytes: to_u64(long("index.interval.bytes", 4096)),
        flush_messages: to_u64(long("flush.messages", i64::MAX)),
        flush_ms: long("flush.ms", i64::MAX),
        cleanup_delete: policy.split(',').any(|p| p.trim() == "delete"),
        cleanup_compact: policy.split(',').any(|p| p.trim() == "compact"),
        delete_retention_ms: long("delete.retention.ms", defaults.delete_retention_ms),
        min_cleanable_dirty_ratio: value("min.cleanable.dirty.ratio").trim().parse().unwrap_or(defaults.min_cleanable_dirty_ratio),
        min_compaction_lag_ms: long("min.compaction.lag.ms", defaults.min_compaction_lag_ms),
        max_compaction_lag_ms: long("max.compaction.lag.ms", defaults.max_compaction_lag_ms),
        max_message_bytes: usize::try_from(long("max.message.bytes", 1_048_588)).unwrap_or(defaults.max_message_bytes),
        timestamp_type: if value("message.timestamp.type") == "LogAppendTime" {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        },
        timestamp_before_max_ms: long("message.timestamp.before.max.ms", i64::MAX),
        timestamp_after_max_ms: long("message.timestamp.after.max.ms", defaults.timestamp_after_max_ms),
        max_decompressed_bytes: defaults.max_decompressed_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{BrokerRegistration, Endpoint, MetadataStore, NewTopic, TopicDefaults};

    fn store(dir: &Path) -> MetadataStore {
        let registration = BrokerRegistration {
            node_id: 1,
            endpoints: vec![Endpoint { listener: "PLAINTEXT".into(), host: "localhost".into(), port: 9092 }],
            rack: None,
        };
        MetadataStore::open(dir, TopicDefaults { num_partitions: 2, replication_factor: 1 }, registration).unwrap()
    }

    #[test]
    fn logs_follow_topics_and_strays_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ghost-0")).unwrap();
        let store = store(dir.path());
        let partitions = Arc::new(Partitions::open(dir.path(), 1).unwrap());
        let publisher = Arc::clone(&partitions);
        store.add_publisher(Box::new(move |image| publisher.publish(image)));
        assert!(!dir.path().join("ghost-0").exists(), "stray removed");
        assert!(dir.path().join(METADATA_DIR).exists(), "metadata log kept");

        let mut t = NewTopic::with_defaults("t");
        t.configs.insert("retention.ms".into(), Some("1234".into()));
        store.create_topic(t, false).unwrap();
        assert!(partitions.log("t", 0).is_some() && partitions.log("t", 1).is_some());
        assert_eq!(partitions.log("t", 0).unwrap().config().retention_ms, 1234);
        store.create_partitions("t", 3, false).unwrap();
        assert!(partitions.log("t", 2).is_some());
        store.delete_topic("t").unwrap();
        assert!(partitions.log("t", 0).is_none());
        assert!(!dir.path().join("t-0").exists());
    }

    #[test]
    fn topic_configs_map_onto_log_settings() {
        let defaults = log_config(&BTreeMap::new());
        assert_eq!((defaults.segment_bytes, defaults.retention_ms, defaults.flush_messages), (1 << 30, 604_800_000, i64::MAX as u64));
        assert!(defaults.cleanup_delete && !defaults.cleanup_compact);
        assert_eq!((defaults.delete_retention_ms, defaults.min_compaction_lag_ms, defaults.max_compaction_lag_ms), (86_400_000, 0, i64::MAX));
        assert!((defaults.min_cleanable_dirty_ratio - 0.5).abs() < f64::EPSILON);
        let overrides = BTreeMap::from([
            ("delete.retention.ms".to_string(), "0".to_string()),
            ("min.cleanable.dirty.ratio".to_string(), "0.01".to_string()),
            ("min.compaction.lag.ms".to_string(), "5".to_string()),
            ("max.compaction.lag.ms".to_string(), "60000".to_string()),
            ("cleanup.policy".to_string(), "compact,delete".to_string()),
            ("flush.messages".to_string(), "1".to_string()),
            ("message.timestamp.type".to_string(), "LogAppendTime".to_string()),
        ]);
        let config = log_config(&overrides);
        assert!(config.cleanup_delete && config.cleanup_compact);
        assert_eq!(config.flush_messages, 1);
        assert_eq!(config.timestamp_type, TimestampType::LogAppendTime);
        assert_eq!((config.delete_retention_ms, config.min_compaction_lag_ms, config.max_compaction_lag_ms), (0, 5, 60_000));
        assert!((config.min_cleanable_dirty_ratio - 0.01).abs() < f64::EPSILON);
    }
}
