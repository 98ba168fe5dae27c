//! [`LogManager`]: every partition log under one data directory, after
//! Kafka's `LogManager`.
//!
//! - A clean-shutdown marker file tells the next start that every log was
//!   flushed and closed, so recovery can trust indexes and skip CRC scans.
//!   It is removed as soon as the logs are open, so a crash after that is seen.
//! - Each partition directory holds `partition.metadata` with the topic id, so
//!   a topic deleted and re-created under the same name (while this broker was
//!   down) never serves the old topic's data.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::cleaner::{CleanStats, CleanerConfig};
use crate::config::LogConfig;
use crate::error::{Result, StorageError};
use crate::fs::{self, Fs};
use crate::layout::partition_dir;
use crate::log::PartitionLog;

mod parallel;

/// Marker written after a clean shutdown (Kafka: `.kafka_cleanshutdown`).
pub const CLEAN_SHUTDOWN_FILE: &str = ".strom_cleanshutdown";
/// Per-partition file naming the topic id the log belongs to.
const PARTITION_METADATA_FILE: &str = "partition.metadata";

/// A partition log for [`LogManager::open_logs`] to open.
#[derive(Debug, Clone)]
pub struct LogToOpen {
    pub topic: String,
    pub partition: i32,
    pub topic_id: [u8; 16],
    pub config: LogConfig,
}

/// Every open partition log, by (topic, partition).
pub struct LogManager {
    fs: Fs,
    data_dir: PathBuf,
    clean_start: bool,
    logs: RwLock<HashMap<(String, i32), Arc<PartitionLog>>>,
    /// Set by [`Self::close`]: a compaction pass running stops at once.
    stopping: AtomicBool,
}

/// Compaction passes one [`LogManager::clean_logs`] call runs at most, so a
/// round ends even while producers keep every log dirty.
const MAX_PASSES_PER_ROUND: usize = 1000;

impl LogManager {
    /// Prepares the data directory. Logs are opened on demand with
    /// [`Self::open_log`], as the cluster metadata names them.
    pub fn open(data_dir: &Path) -> Result<Self> {
        Self::open_in(&fs::os(), data_dir)
    }

    /// [`Self::open`] on the file system `fs`.
    pub fn open_in(fs: &Fs, data_dir: &Path) -> Result<Self> {
        fs.create_dir_all(data_dir).map_err(StorageError::io("create", data_dir))?;
        let marker = data_dir.join(CLEAN_SHUTDOWN_FILE);
        let clean_start = fs.exists(&marker).map_err(StorageError::io("stat", &marker))?;
        let fresh = fs.list_dir(data_dir).map_err(StorageError::io("list", data_dir))?.is_empty();
        if !clean_start && !fresh {
            tracing::info!(data_dir = %data_dir.display(), "no clean shutdown marker: partition logs will be recovered");
        }
        Ok(Self {
            fs: fs.clone(),
            data_dir: data_dir.to_path_buf(),
            clean_start,
            logs: RwLock::new(HashMap::new()),
            stopping: AtomicBool::new(false),
        })
    }

    /// Call once every existing log is open: from now on a crash must lead to
    /// recovery, so the clean-shutdown marker goes.
    pub fn finish_startup(&self) -> Result<()> {
        let marker = self.data_dir.join(CLEAN_SHUTDOWN_FILE);
        match self.fs.remove_file(&marker) {
            Ok(()) => self.sync_dir(&self.data_dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::io("remove", &marker)(e)),
        }
    }

    /// Whether the previous run shut down cleanly.
    pub fn clean_start(&self) -> bool {
        self.clean_start
    }

    /// The log of a partition, if open.
    pub fn get(&self, topic: &str, partition: i32) -> Option<Arc<PartitionLog>> {
        self.read().get(&(topic.to_string(), partition)).cloned()
    }

    /// Opens (creating or recovering) a partition's log. A directory left by
    /// another topic of the same name (a different `topic_id`) is deleted first.
    pub fn open_log(&self, topic: &str, partition: i32, topic_id: [u8; 16], config: LogConfig) -> Result<Arc<PartitionLog>> {
        let key = (topic.to_string(), partition);
        if let Some(log) = self.read().get(&key) {
            return Ok(Arc::clone(log));
        }
        let dir = partition_dir(&self.data_dir, topic, partition);
        let id_file = dir.join(PARTITION_METADATA_FILE);
        let expected = format!("version: 0\ntopic_id: {}\n", hex(&topic_id));
        let found = fs::read(&*self.fs, &id_file).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        // Only a readable, different id proves the data belongs to another
        // topic; a missing or torn file (a crash right after creation) does not.
        let found_id = found.lines().find_map(|l| l.strip_prefix("topic_id: ")).map(str::trim);
        if found_id.is_some_and(|id| id.len() == 32 && id != hex(&topic_id)) {
            tracing::warn!(dir = %dir.display(), "deleting a log left by an earlier topic of the same name");
            self.fs.remove_dir_all(&dir).map_err(StorageError::io("delete", &dir))?;
        }
        let log = Arc::new(PartitionLog::open_in(&self.fs, &dir, config, self.clean_start)?);
        if found != expected {
            // Not fsynced here: creating 10,000 partitions must stay fast, and
            // the log's first flush makes the directory entries durable.
            fs::write(&*self.fs, &id_file, expected.as_bytes()).map_err(StorageError::io("write", &id_file))?;
        }
        let mut logs = self.write();
        Ok(Arc::clone(logs.entry(key).or_insert(log)))
    }

    /// Opens many logs, as [`Self::open_log`] each, on a few threads at once:
    /// a broker starting with 10,000 partitions spends its startup here.
    /// Returns each log's result, in the order of `logs`.
    pub fn open_logs(&self, logs: &[LogToOpen]) -> Vec<Result<Arc<PartitionLog>>> {
        parallel::map(logs, |log| self.open_log(&log.topic, log.partition, log.topic_id, log.config.clone()))
    }

    /// Closes and deletes a partition's log and its directory.
    pub fn delete_log(&self, topic: &str, partition: i32) -> Result<()> {
        self.write().remove(&(topic.to_string(), partition));
        let dir = partition_dir(&self.data_dir, topic, partition);
        match self.fs.remove_dir_all(&dir) {
            Ok(()) => self.sync_dir(&self.data_dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::io("delete", &dir)(e)),
        }
    }

    /// Every open log.
    pub fn logs(&self) -> Vec<((String, i32), Arc<PartitionLog>)> {
        self.read().iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect()
    }

    /// Applies `flush.ms` to every log.
    pub fn flush_due(&self, now_ms: i64) {
        for ((topic, partition), log) in self.logs() {
            if let Err(error) = log.flush_if_due(now_ms) {
                tracing::error!(%topic, partition, %error, "scheduled flush failed");
            }
        }
    }

    /// Applies retention to every log; returns the segments deleted.
    pub fn apply_retention(&self, now_ms: i64) -> usize {
        let mut deleted = 0;
        for ((topic, partition), log) in self.logs() {
            match log.apply_retention(now_ms) {
                Ok(n) => deleted += n,
                Err(error) => tracing::error!(%topic, partition, %error, "retention failed"),
            }
        }
        deleted
    }

    /// One round of compaction, as Kafka's cleaner threads run it: again and
    /// again the dirtiest compacted log that is due (dirty ratio above
    /// `min.cleanable.dirty.ratio`, or a record older than
    /// `max.compaction.lag.ms`) gets a pass, until none is due (Kafka's
    /// `grabFilthiestCompactedLog`). Each pass logs one line. Blocks: call
    /// from a thread that may.
    pub fn clean_logs(&self, now_ms: i64, cleaner: &CleanerConfig) -> Vec<((String, i32), CleanStats)> {
        let mut cleaned = Vec::new();
        let mut done: HashSet<(String, i32)> = HashSet::new();
        for _ in 0..MAX_PASSES_PER_ROUND {
            if self.stopping.load(Ordering::Acquire) {
                break;
            }
            let dirtiest = self
                .logs()
                .into_iter()
                .filter(|(key, _)| !done.contains(key))
                .filter_map(|(key, log)| {
                    let plan = log.cleanable(now_ms)?;
                    plan.is_due(log.config().min_cleanable_dirty_ratio).then(|| (plan.cleanable_ratio(), key, log))
                })
                .max_by(|a, b| a.0.total_cmp(&b.0));
            let Some((ratio, (topic, partition), log)) = dirtiest else { break };
            match log.clean(now_ms, cleaner, &self.stopping) {
                Ok(Some(stats)) => {
                    tracing::info!(
                        %topic,
                        partition,
                        dirty_ratio = format!("{ratio:.2}"),
                        offsets = format!("[{}, {})", stats.first_dirty_offset, stats.end_offset),
                        segments = format!("{} -> {}", stats.segments_read, stats.segments_written),
                        bytes = format!("{} -> {}", stats.bytes_read, stats.bytes_written),
                        records = format!("{} -> {}", stats.records_read, stats.records_retained),
                        map_keys = stats.map_keys,
                        ms = stats.elapsed.as_millis() as u64,
                        "compacted log"
                    );
                    if stats.end_offset >= stats.first_uncleanable_offset || stats.segments_written == 0 {
                        done.insert((topic.clone(), partition));
                    }
                    cleaned.push(((topic, partition), stats));
                }
                Ok(None) => {
                    done.insert((topic, partition));
                }
                Err(StorageError::CleaningStopped) => break,
                Err(error) => {
                    tracing::error!(%topic, partition, %error, "compaction failed");
                    done.insert((topic, partition));
                }
            }
        }
        cleaned
    }

    /// Flushes every log, snapshots the producer state of those appended to
    /// since their last snapshot, and writes the clean-shutdown marker.
    /// Nothing may be appended afterwards. Logs close on a few threads at
    /// once; one with nothing unflushed and no new producer state costs no
    /// I/O. Every log is closed even when one fails; the marker is written
    /// only when all were, so an offline log (or one that failed now) is
    /// recovered at the next start.
    pub fn close(&self) -> Result<()> {
        self.stopping.store(true, Ordering::Release);
        let started = std::time::Instant::now();
        let logs = self.logs();
        let closed = parallel::map(&logs, |(_, log)| {
            log.write_index_files()?;
            log.flush()?;
            log.snapshot_producers()
        });
        let (mut first_error, mut snapshots) = (None, 0usize);
        for (((topic, partition), _), result) in logs.iter().zip(closed) {
            match result {
                Ok(written) => snapshots += usize::from(written),
                Err(error) => {
                    tracing::error!(%topic, partition, %error, "cannot close partition log: it will be recovered at the next start");
                    first_error.get_or_insert(error);
                }
            }
        }
        tracing::debug!(logs = logs.len(), snapshots, ms = started.elapsed().as_millis() as u64, "closed partition logs");
        if let Some(error) = first_error {
            return Err(error);
        }
        let marker = self.data_dir.join(CLEAN_SHUTDOWN_FILE);
        fs::write(&*self.fs, &marker, b"").map_err(StorageError::io("write", &marker))?;
        self.sync_dir(&self.data_dir)
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        self.fs.sync_dir(dir).map_err(StorageError::io("fsync", dir))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<(String, i32), Arc<PartitionLog>>> {
        self.logs.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<(String, i32), Arc<PartitionLog>>> {
        self.logs.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::tests::make_batch;

    const ID: [u8; 16] = [7; 16];

    #[test]
    fn a_clean_close_is_seen_by_the_next_start_and_a_crash_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let manager = LogManager::open(dir.path()).unwrap();
        assert!(!manager.clean_start());
        let log = manager.open_log("t", 0, ID, LogConfig::default()).unwrap();
        log.append_assigned(&make_batch(0, 1, 0, 10), 0).unwrap();
        manager.finish_startup().unwrap();
        manager.close().unwrap();
        drop(manager);
        let manager = LogManager::open(dir.path()).unwrap();
        assert!(manager.clean_start());
        assert_eq!(manager.open_log("t", 0, ID, LogConfig::default()).unwrap().log_end_offset(), 1);
        manager.finish_startup().unwrap();
        drop(manager); // crash: no close
        assert!(!LogManager::open(dir.path()).unwrap().clean_start());
    }

    #[test]
    fn a_recreated_topic_never_sees_the_old_data() {
        let dir = tempfile::tempdir().unwrap();
        let manager = LogManager::open(dir.path()).unwrap();
        let log = manager.open_log("t", 0, ID, LogConfig::default()).unwrap();
        log.append_assigned(&make_batch(0, 1, 0, 10), 0).unwrap();
        drop(log);
        drop(manager);
        let manager = LogManager::open(dir.path()).unwrap();
        assert_eq!(manager.open_log("t", 0, ID, LogConfig::default()).unwrap().log_end_offset(), 1);
        let manager = LogManager::open(dir.path()).unwrap();
        assert_eq!(manager.open_log("t", 0, [9; 16], LogConfig::default()).unwrap().log_end_offset(), 0);
    }

    #[test]
    fn a_torn_partition_metadata_file_never_deletes_data() {
        let dir = tempfile::tempdir().unwrap();
        let manager = LogManager::open(dir.path()).unwrap();
        manager.open_log("t", 0, ID, LogConfig::default()).unwrap().append_assigned(&make_batch(0, 1, 0, 10), 0).unwrap();
        drop(manager);
        for torn in ["", "version: 0\n", "version: 0\ntopic_id: 0707"] {
            std::fs::write(dir.path().join("t-0").join(PARTITION_METADATA_FILE), torn).unwrap();
            let manager = LogManager::open(dir.path()).unwrap();
            assert_eq!(manager.open_log("t", 0, ID, LogConfig::default()).unwrap().log_end_offset(), 1, "{torn:?}");
        }
    }

    #[test]
    fn clean_logs_compacts_the_logs_that_are_due_and_stops_when_closing() {
        use crate::batch::test_support::{build, Spec};
        let dir = tempfile::tempdir().unwrap();
        let manager = LogManager::open(dir.path()).unwrap();
        let compacted = |ratio: f64| LogConfig { segment_bytes: 1024, cleanup_compact: true, min_cleanable_dirty_ratio: ratio, ..LogConfig::default() };
        let now = 1_700_000_000_000;
        let fill = |log: &PartitionLog| {
            for i in 0..60 {
                let spec = Spec { records: vec![(Some(format!("k{}", i % 3).into_bytes()), Some(b"v".to_vec()))], ..Spec::default() };
                log.append_records(&build(&spec), 0, now).unwrap();
            }
        };
        let due = manager.open_log("due", 0, ID, compacted(0.5)).unwrap();
        let never = manager.open_log("never", 0, ID, compacted(1.0)).unwrap();
        let deleted = manager.open_log("deleted", 0, ID, LogConfig { segment_bytes: 1024, ..LogConfig::default() }).unwrap();
        for log in [&due, &never, &deleted] {
            fill(log);
        }
        let cleaned = manager.clean_logs(now, &CleanerConfig::default());
        assert_eq!(cleaned.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(), vec![("due".to_string(), 0)]);
        assert!(due.size_bytes() < never.size_bytes() && never.size_bytes() == deleted.size_bytes());
        assert!(manager.clean_logs(now, &CleanerConfig::default()).is_empty(), "nothing is due any more");
        fill(&due);
        manager.close().unwrap();
        assert!(manager.clean_logs(now, &CleanerConfig::default()).is_empty(), "closing stops the cleaner");
    }

    #[test]
    fn logs_open_together_each_with_its_own_result() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad-0"), b"not a directory").unwrap();
        let manager = LogManager::open(dir.path()).unwrap();
        let wanted: Vec<LogToOpen> = (0..20)
            .map(|p| ("t", p))
            .chain([("bad", 0)])
            .map(|(topic, partition)| LogToOpen { topic: topic.into(), partition, topic_id: ID, config: LogConfig::default() })
            .collect();
        let opened = manager.open_logs(&wanted);
        assert_eq!(opened.len(), wanted.len());
        for (want, got) in wanted.iter().zip(&opened).take(20) {
            assert_eq!(got.as_ref().unwrap().dir(), dir.path().join(format!("t-{}", want.partition)));
            assert!(manager.get("t", want.partition).is_some());
        }
        assert!(opened[20].is_err(), "only the broken partition fails");
        assert!(manager.get("bad", 0).is_none());
    }

    #[test]
    fn a_clean_close_snapshots_only_the_logs_appended_to() {
        use crate::batch::test_support::{build, Spec};
        let dir = tempfile::tempdir().unwrap();
        let now = 1_700_000_000_000;
        let batch = build(&Spec::with_records(2).idempotent(5, 0, 0));
        let snapshots = |topic: &str| {
            let names = std::fs::read_dir(dir.path().join(format!("{topic}-0"))).unwrap();
            names.filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".snapshot")).count()
        };
        let manager = LogManager::open(dir.path()).unwrap();
        manager.open_log("quiet", 0, ID, LogConfig::default()).unwrap();
        let busy = manager.open_log("busy", 0, ID, LogConfig::default()).unwrap();
        busy.append_records(&batch, 0, now).unwrap();
        manager.finish_startup().unwrap();
        manager.close().unwrap();
        assert_eq!((snapshots("quiet"), snapshots("busy")), (0, 1));
        for round in 0..2 {
            let manager = LogManager::open(dir.path()).unwrap();
            assert!(manager.clean_start(), "round {round}");
            let busy = manager.open_log("busy", 0, ID, LogConfig::default()).unwrap();
            assert!(busy.append_records(&batch, 0, now).unwrap().duplicate, "round {round}: producer state reloaded");
            assert_eq!(manager.open_log("quiet", 0, ID, LogConfig::default()).unwrap().log_end_offset(), 0);
            manager.finish_startup().unwrap();
            manager.close().unwrap();
            assert_eq!((snapshots("quiet"), snapshots("busy")), (0, 1), "round {round}");
        }
        assert!(LogManager::open(dir.path()).unwrap().clean_start());
    }

    #[test]
    fn deleting_a_log_removes_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let manager = LogManager::open(dir.path()).unwrap();
        manager.open_log("t", 3, ID, LogConfig::default()).unwrap();
        assert!(dir.path().join("t-3").is_dir());
        manager.delete_log("t", 3).unwrap();
        assert!(!dir.path().join("t-3").exists());
        assert!(manager.get("t", 3).is_none());
        manager.delete_log("t", 3).unwrap();
    }
}
