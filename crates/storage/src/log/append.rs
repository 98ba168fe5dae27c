//! The produce path of a partition log: validate a client's batch, check its
//! producer sequence and transaction state, assign offsets, write it, and
//! remember the sequence (and any transaction it begins), all under the
//! partition's append lock. Also producer-state snapshots, which make
//! idempotence and open transactions survive restarts without replaying the
//! whole log.

use std::path::Path;

use crate::error::StorageError;
use crate::fs::{self, Fs};
use crate::layout::{offset_file, parse_offset_file, SNAPSHOT_SUFFIX};
use crate::producer_state::{AppendOrigin, ProducerStateError, SequenceCheck, VerificationGuard};
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
    /// Transactional batches begin or continue their producer's transaction.
    pub fn append_records(&self, records: &[u8], leader_epoch: i32, now_ms: i64) -> Result<AppendInfo, AppendError> {
        self.append_records_from(records, leader_epoch, now_ms, AppendOrigin::Client)
    }

    /// [`Self::append_records`] for a batch from `origin`: a coordinator's batch
    /// (a transactional offset commit) is checked for epoch and transaction state
    /// only, not for duplicates or sequences, as in Kafka.
    pub fn append_records_from(
        &self,
        records: &[u8],
        leader_epoch: i32,
        now_ms: i64,
        origin: AppendOrigin,
    ) -> Result<AppendInfo, AppendError> {
        self.append_checked(records, leader_epoch, now_ms, origin, Verification::Off)
    }

    /// Starts verifying `producer_id`'s transaction before its first write here
    /// (KIP-890): the guard to append with once the coordinator confirmed the
    /// partition is in the transaction, or `None` when it is already open here.
    pub fn start_txn_verification(&self, producer_id: i64, sequence: i32, epoch: i16, now_ms: i64) -> Option<VerificationGuard> {
        self.write().producers.start_verification(producer_id, sequence, epoch, now_ms)
    }

    /// [`Self::append_records`] with transaction verification on: a transactional
    /// batch that would begin its producer's transaction needs the guard of
    /// [`Self::start_txn_verification`], still current, else INVALID_TXN_STATE
    /// ("Record was not part of an ongoing transaction"), as Kafka.
    pub fn append_records_verified(
        &self,
        records: &[u8],
        leader_epoch: i32,
        now_ms: i64,
        guard: Option<VerificationGuard>,
    ) -> Result<AppendInfo, AppendError> {
        self.append_checked(records, leader_epoch, now_ms, AppendOrigin::Client, Verification::Guard(guard))
    }

    /// [`Self::append_records_verified`] for a batch from `origin`: a coordinator
    /// writing a transactional batch on a producer's behalf (a transactional
    /// offset commit) after verifying the partition is in its transaction.
    pub fn append_records_verified_from(
        &self,
        records: &[u8],
        leader_epoch: i32,
        now_ms: i64,
        origin: AppendOrigin,
        guard: Option<VerificationGuard>,
    ) -> Result<AppendInfo, AppendError> {
        self.append_checked(records, leader_epoch, now_ms, origin, Verification::Guard(guard))
    }

    fn append_checked(
        &self,
        records: &[u8],
        leader_epoch: i32,
        now_ms: i64,
        origin: AppendOrigin,
        verification: Verification,
    ) -> Result<AppendInfo, AppendError> {
        let mut inner = self.write();
        inner.check_online(&self.dir)?;
        let next_offset = inner.log_end_offset();
        let validation = inner.config.validation();
        let validated = validator::validate_and_assign_from(records, next_offset, leader_epoch, now_ms, &validation, origin)?;
        let header = validated.header;
        let duplicate = |base_offset, last_offset, log_start_offset| AppendInfo {
            base_offset,
            last_offset,
            log_append_time: validated.log_append_time,
            log_start_offset,
            duplicate: true,
            needs_flush: false,
        };
        // Kafka checks sequences after validation: a retry that is now invalid gets
        // the validation error. A duplicate is answered before verification.
        if header.has_producer_id() {
            if let (AppendOrigin::Client, Some(batch)) = (origin, inner.producers.duplicate_of(&header)) {
                return Ok(duplicate(batch.first_offset(), batch.last_offset, inner.log_start_offset));
            }
            if let Verification::Guard(guard) = verification {
                inner.producers.check_verified(&header, guard)?;
            }
            if let SequenceCheck::Duplicate { base_offset, last_offset } = inner.producers.check_append(&header, origin)? {
                return Ok(duplicate(base_offset, last_offset, inner.log_start_offset));
            }
        }
        // The producer's bytes go to the file as they came, behind the patched header.
        let body = records.get(crate::batch::HEADER_BYTES..validated.size).unwrap_or_default();
        let needs_flush = inner.append_parts(&self.fs, &self.dir, &validated.head, body, &header, now_ms)?;
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

    /// Writes a producer-state snapshot at the log end offset (clean
    /// shutdown), unless the producer state on disk is already the one at
    /// this offset: nothing was appended since a snapshot was written or
    /// loaded (or since a log with nothing to replay was opened). Returns
    /// whether a snapshot was written.
    pub fn snapshot_producers(&self) -> Result<bool, StorageError> {
        let mut inner = self.write();
        inner.check_online(&self.dir)?;
        if inner.producers_on_disk_at == Some(inner.log_end_offset()) {
            return Ok(false);
        }
        write_snapshot(&self.fs, &self.dir, &mut inner)?;
        Ok(true)
    }
}

/// Whether a transaction's first write must carry a verification guard.
enum Verification {
    Off,
    Guard(Option<VerificationGuard>),
}

/// Writes `<leo>.snapshot` and deletes older snapshots but the previous one and
/// the newest at or below the recovery point, where an unclean start replays
/// from (it recovers every segment from there on).
pub(super) fn write_snapshot(fs: &Fs, dir: &Path, inner: &mut Inner) -> Result<(), StorageError> {
    let offset = inner.log_end_offset();
    let path = offset_file(dir, offset, SNAPSHOT_SUFFIX);
    super::write_file_atomically(fs, &path, &inner.producers.snapshot(offset))?;
    inner.producers_on_disk_at = Some(offset);
    delete_older_snapshots(fs, dir, inner, offset)
}

/// The snapshot of a roll: [`write_snapshot`] without its fsync, which the
/// flush of the rolled segment does (Kafka's `takeSnapshot(sync = false)` in
/// `roll`). Torn by a crash before that, it fails its CRC and an unclean start
/// replays from an older one.
pub(super) fn write_roll_snapshot(fs: &Fs, dir: &Path, inner: &mut Inner) -> Result<(), StorageError> {
    let offset = inner.log_end_offset();
    let path = offset_file(dir, offset, SNAPSHOT_SUFFIX);
    let file = super::write_file_unsynced(fs, &path, &inner.producers.snapshot(offset))?;
    inner.unsynced_snapshot = Some((file, path));
    inner.producers_on_disk_at = Some(offset);
    delete_older_snapshots(fs, dir, inner, offset)
}

fn delete_older_snapshots(fs: &Fs, dir: &Path, inner: &Inner, offset: i64) -> Result<(), StorageError> {
    let mut older = snapshot_offsets(fs, dir)?;
    older.retain(|&o| o < offset);
    let previous = older.last().copied();
    let recovery = older.iter().rev().find(|&&o| o <= inner.recovery_point).copied();
    for stale in older.into_iter().filter(|&o| Some(o) != previous && Some(o) != recovery) {
        let stale_path = offset_file(dir, stale, SNAPSHOT_SUFFIX);
        fs::remove_if_exists(&**fs, &stale_path).map_err(StorageError::io("delete", &stale_path))?;
    }
    Ok(())
}

/// Offsets of the snapshots in `dir`, ascending.
fn snapshot_offsets(fs: &Fs, dir: &Path) -> Result<Vec<i64>, StorageError> {
    let names = fs.list_dir(dir).map_err(StorageError::io("list", dir))?;
    let mut offsets: Vec<i64> = names.iter().filter_map(|n| parse_offset_file(n, SNAPSHOT_SUFFIX)).collect();
    offsets.sort_unstable();
    Ok(offsets)
}

#[cfg(test)]
#[path = "append_tests.rs"]
mod tests;
