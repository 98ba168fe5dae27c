//! Producer state and transaction indexes at open, after Kafka's `LogLoader` and
//! `UnifiedLog.rebuildProducerState`: the log is the truth.
//!
//! The newest usable snapshot is loaded and every batch after it replayed. A
//! segment whose transaction index was dropped by recovery (an unclean start
//! recovers every segment from the recovery point) or did not load cleanly gets
//! it rebuilt, as does every segment after it: their aborted transactions are
//! re-derived from the markers, with the last stable offsets the producer state
//! gives at each. For that the replay starts from a snapshot at or below the
//! first such segment, which holds the state there.

use std::path::Path;

use crate::control;
use crate::error::StorageError;
use crate::fs::{self, Fs};
use crate::layout::{offset_file, SNAPSHOT_SUFFIX};
use crate::producer_state::ProducerStateManager;
use crate::segment::Segment;

use super::Inner;

/// Rebuilds `inner.producers` and the transaction indexes that need it.
/// `snapshots` are the offsets of the snapshots in `dir`, ascending.
pub(super) fn load_state(fs: &Fs, dir: &Path, inner: &mut Inner, snapshots: &[i64]) -> Result<(), StorageError> {
    let log_end_offset = inner.log_end_offset();
    let rebuild_from = inner.segments.values().find(|s| s.txn_index_lost()).map_or(i64::MAX, Segment::base_offset);
    for segment in inner.segments.range_mut(rebuild_from..).map(|(_, s)| s) {
        segment.reset_txn_index()?;
    }
    let (live, stale) = snapshots.split_at(snapshots.partition_point(|&o| o <= log_end_offset));
    delete_stale_snapshots(fs, dir, stale)?;
    let (mut producers, from) = latest_snapshot(fs, dir, live, log_end_offset.min(rebuild_from))?;
    for segment in inner.segments.values_mut().filter(|s| s.next_offset() > from) {
        let rebuild = segment.base_offset() >= rebuild_from;
        replay_segment(segment, from, rebuild, &mut producers)?;
        if rebuild {
            // A clean shutdown later trusts these without recovery.
            if let Some(file) = segment.take_unsynced_txn_index() {
                file.sync_data().map_err(StorageError::io("fsync", dir))?;
            }
        }
    }
    if rebuild_from != i64::MAX {
        tracing::info!(dir = %dir.display(), from_offset = rebuild_from, open_transactions = producers.ongoing_transactions().count(), "rebuilt producer state and transaction indexes from the log");
    }
    inner.producers = producers;
    // Nothing to replay past the state loaded: a snapshot now would hold it again.
    inner.producers_on_disk_at = (from == log_end_offset).then_some(log_end_offset);
    Ok(())
}

/// Replays the batches of `segment` from offset `from` into `producers`, adding
/// the aborted transactions to its index when `rebuild`.
fn replay_segment(segment: &mut Segment, from: i64, rebuild: bool, producers: &mut ProducerStateManager) -> Result<(), StorageError> {
    for at in segment.batches()? {
        let header = at.header;
        if header.base_offset < from || !header.has_producer_id() {
            continue;
        }
        if !header.is_control() {
            producers.record(&header, header.max_timestamp);
            continue;
        }
        let marker = match control::read_marker(&segment.read_batch(&at)?) {
            Ok(Some(marker)) => marker,
            Ok(None) => continue, // an empty control batch: its transaction was cleaned away
            Err(error) => {
                tracing::warn!(offset = header.base_offset, %error, "ignoring an unreadable control batch");
                continue;
            }
        };
        if let Some(txn) = producers.record_marker(&header, &marker, header.max_timestamp) {
            if rebuild && txn.aborted {
                segment.append_aborted_txn(txn.aborted_txn())?;
            }
            producers.complete_txn(&txn);
        }
    }
    Ok(())
}

/// The newest readable snapshot among `offsets` (ascending) at or below
/// `at_most`, and its offset (else an empty state from offset 0, before the
/// whole log is replayed).
fn latest_snapshot(fs: &Fs, dir: &Path, offsets: &[i64], at_most: i64) -> Result<(ProducerStateManager, i64), StorageError> {
    for offset in offsets.iter().rev().filter(|&&o| o <= at_most) {
        let path = offset_file(dir, *offset, SNAPSHOT_SUFFIX);
        let bytes = fs::read(&**fs, &path).map_err(StorageError::io("read", &path))?;
        match ProducerStateManager::from_snapshot(&bytes) {
            Ok((producers, _)) => return Ok((producers, *offset)),
            Err(error) => tracing::warn!(snapshot = %path.display(), %error, "ignoring an unreadable producer snapshot"),
        }
    }
    Ok((ProducerStateManager::new(), 0))
}

/// Deletes the snapshots at `stale`, above the log end offset: recovery
/// truncated the log below them.
fn delete_stale_snapshots(fs: &Fs, dir: &Path, stale: &[i64]) -> Result<(), StorageError> {
    for &offset in stale {
        let path = offset_file(dir, offset, SNAPSHOT_SUFFIX);
        fs::remove_if_exists(&**fs, &path).map_err(StorageError::io("delete", &path))?;
    }
    Ok(())
}
