//! The produce path of a partition log: validate a client's batch, check its
//! producer sequence, assign offsets, write it, and remember the sequence, all
//! under the partition's append lock. Also producer-state snapshots, which
//! make idempotence survive restarts without replaying the whole log.

use std::path::Path;

use crate::error::StorageError;
use crate::layout::{offset_file, parse_offset_file, SNAPSHOT_SUFFIX};
use crate::producer_state::{ProducerStateError, ProducerStateManager, SequenceCheck};
use crate::validator::{self, ValidationError};

use super::{Inner, PartitionLog};

/// Where an appended (or duplicate) batch landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    /// Set when the topic uses LogAppendTime.
    pub log_append_time: Option<i64>,
    pub log_start_offset: i64,
    /// The batch was a retry of one already in the log; nothing was written.
    pub duplicate: bool,
    /// The flush policy asks for an fsync now.
    pub needs_flush: bool,
}

/// Why a produced batch was not appended.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Producer(#[from] ProducerStateError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl PartitionLog {
    /// Validates and appends the records of one partition from a Produce request.
    pub fn append_records(&self, records: &mut [u8], leader_epoch: i32, now_ms: i64) -> Result<AppendInfo, AppendError> {
        let mut inner = self.write();
        let next_offset = inner.log_end_offset();
        let validation = inner.config.validation();
        let validated = validator::validate_and_assign(records, next_offset, leader_epoch, now_ms, &validation)?;
        let header = validated.header;
        // Kafka checks sequences after validation: a retry that is now invalid gets the validation error.
        if header.has_producer_id() {
            if let SequenceCheck::Duplicate { base_offset, last_offset } = inner.producers.check(&header)? {
                return Ok(AppendInfo {
                    base_offset,
                    last_offset,
                    log_append_time: validated.log_append_time,
                    log_start_offset: inner.log_start_offset,
                    duplicate: true,
                    needs_flush: false,
                });
            }
        }
        let needs_flush = inner.append(&self.dir, records, &header, now_ms)?;
        if header.has_producer_id() {
            inner.producers.record(&header, now_ms);
        }
        Ok(AppendInfo {
            base_offset: validated.base_offset,
            last_offset: validated.last_offset,
            log_append_time: validated.log_append_time,
            log_start_offset: inner.log_start_offset,
            duplicate: false,
            needs_flush,
        })
    }

    /// Writes a producer-state snapshot at the log end offset (clean shutdown).
    pub fn snapshot_producers(&self) -> Result<(), StorageError> {
        let inner = self.read_lock();
        write_snapshot(&self.dir, &inner)
    }
}

/// Writes `<leo>.snapshot` and deletes older snapshots but the previous one.
pub(super) fn write_snapshot(dir: &Path, inner: &Inner) -> Result<(), StorageError> {
    let offset = inner.log_end_offset();
    let path = offset_file(dir, offset, SNAPSHOT_SUFFIX);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, inner.producers.snapshot(offset)).map_err(StorageError::io("write", &tmp))?;
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(StorageError::io("fsync", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(StorageError::io("rename", &path))?;
    let mut older = snapshot_offsets(dir)?;
    older.retain(|&o| o < offset);
    for stale in older.iter().rev().skip(1) {
        let stale_path = offset_file(dir, *stale, SNAPSHOT_SUFFIX);
        std::fs::remove_file(&stale_path).map_err(StorageError::io("delete", &stale_path))?;
    }
    Ok(())
}

/// Producer state for a log ending at `log_end_offset`: the newest usable
/// snapshot, then every batch after it replayed from the log's headers.
pub(super) fn load_producers(log: &PartitionLog, log_end_offset: i64) -> Result<ProducerStateManager, StorageError> {
    let dir = log.dir.clone();
    let mut offsets = snapshot_offsets(&dir)?;
    // Snapshots beyond the end (the log was truncated by recovery) are stale.
    for stale in offsets.iter().filter(|&&o| o > log_end_offset) {
        let path = offset_file(&dir, *stale, SNAPSHOT_SUFFIX);
        std::fs::remove_file(&path).map_err(StorageError::io("delete", &path))?;
    }
    offsets.retain(|&o| o <= log_end_offset);
    let mut state = None;
    for offset in offsets.iter().rev() {
        let path = offset_file(&dir, *offset, SNAPSHOT_SUFFIX);
        let bytes = std::fs::read(&path).map_err(StorageError::io("read", &path))?;
        match ProducerStateManager::from_snapshot(&bytes) {
            Ok((producers, _)) => {
                state = Some((producers, *offset));
                break;
            }
            Err(error) => tracing::warn!(snapshot = %path.display(), %error, "ignoring an unreadable producer snapshot"),
        }
    }
    let (mut producers, from) = state.unwrap_or_else(|| (ProducerStateManager::new(), 0));
    for header in log.headers_from(from)? {
        if header.producer_id >= 0 && header.base_offset >= from {
            producers.record(&header, header.max_timestamp);
        }
    }
    Ok(producers)
}

fn snapshot_offsets(dir: &Path) -> Result<Vec<i64>, StorageError> {
    let mut offsets = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(StorageError::io("list", dir))? {
        let entry = entry.map_err(StorageError::io("list", dir))?;
        if let Some(offset) = entry.file_name().to_str().and_then(|n| parse_offset_file(n, SNAPSHOT_SUFFIX)) {
            offsets.push(offset);
        }
    }
    offsets.sort_unstable();
    Ok(offsets)
}

#[cfg(test)]
#[path = "append_tests.rs"]
mod tests;
