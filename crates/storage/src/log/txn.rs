//! Transactions in a partition log (KIP-98, transactions v1), after Kafka's
//! `UnifiedLog`: writing COMMIT/ABORT markers for the transaction coordinator, the
//! last stable offset, and the aborted transactions a read_committed fetch needs.
//!
//! The high watermark is the log end offset (one replica), so a marker is
//! "replicated" as soon as it is written and the last stable offset is
//! `min(max(first unstable offset, log start offset), log end offset)`, where the
//! first unstable offset is the first offset of the oldest open transaction.

use crate::batch::{self, BatchHeader, TimestampType};
use crate::control::{self, ControlRecordType, EndTxnMarker};
use crate::error::{Result, StorageError};
use crate::producer_state::ProducerEntry;
use crate::txn_index::AbortedTxn;

use super::{AppendError, AppendInfo, Inner, PartitionLog, ReadResult};

/// A transaction marker for one partition: a WriteTxnMarkers entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnMarker {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub coordinator_epoch: i32,
    pub control_type: ControlRecordType,
}

impl PartitionLog {
    /// Writes a COMMIT or ABORT marker for `marker.producer_id` at the log end offset,
    /// as Kafka's `appendAsLeader` of a coordinator's control batch does: the batch is
    /// built as Kafka builds it (see [`crate::control`]), stamped `leader_epoch` and
    /// `now_ms` (the append time on LogAppendTime topics), appended, and ends the
    /// producer's open transaction; an aborted one goes into the segment's transaction
    /// index first, and only then does the last stable offset move past it.
    ///
    /// Refused (nothing written) with INVALID_PRODUCER_EPOCH when the epoch is below
    /// the producer's, TRANSACTION_COORDINATOR_FENCED when the coordinator epoch is
    /// below that of the producer's last marker. A marker for a producer with no open
    /// transaction (or none known) is written all the same and completes nothing, as
    /// in Kafka. Returns the marker's offset (`base_offset` = `last_offset`) and
    /// whether the flush policy asks for an fsync.
    pub fn write_txn_marker(&self, marker: TxnMarker, leader_epoch: i32, now_ms: i64) -> Result<AppendInfo, AppendError> {
        let mut inner = self.write();
        inner.check_online(&self.dir)?;
        inner.producers.check_marker(marker.producer_id, marker.producer_epoch, marker.coordinator_epoch)?;
        let offset = inner.log_end_offset();
        let end = EndTxnMarker { control_type: marker.control_type, coordinator_epoch: marker.coordinator_epoch };
        let mut bytes = control::marker_batch(offset, leader_epoch, marker.producer_id, marker.producer_epoch, now_ms, end);
        let log_append_time = (inner.config.timestamp_type == TimestampType::LogAppendTime).then(|| {
            batch::set_log_append_time(&mut bytes, now_ms);
            now_ms
        });
        let header = BatchHeader::parse(&bytes)
            .map_err(|e| StorageError::Corrupt { path: self.dir.clone(), reason: format!("built an unparsable marker: {e}") })?;
        let needs_flush = inner.append(&self.fs, &self.dir, &bytes, &header, now_ms)?;
        if let Some(txn) = inner.producers.record_marker(&header, &end, now_ms) {
            if txn.aborted {
                match inner.active_mut().append_aborted_txn(txn.aborted_txn()) {
                    Ok(created) => inner.dir_dirty |= created,
                    Err(error) => {
                        // The marker is in the log but its index entry is not.
                        inner.take_offline(&self.dir, &error);
                        return Err(error.into());
                    }
                }
            }
            inner.producers.complete_txn(&txn);
        }
        Ok(AppendInfo {
            base_offset: offset,
            last_offset: offset,
            log_append_time,
            log_start_offset: inner.log_start_offset,
            duplicate: false,
            needs_flush,
        })
    }

    /// The last stable offset: below it every transaction is decided (Kafka's
    /// `lastStableOffset`). Read committed consumers see only offsets below it.
    pub fn last_stable_offset(&self) -> i64 {
        self.read_lock().last_stable_offset()
    }

    /// The first offset of the oldest open transaction, if any (never below the log
    /// start offset; Kafka's `firstUnstableOffset`).
    pub fn first_unstable_offset(&self) -> Option<i64> {
        let inner = self.read_lock();
        inner.producers.first_unstable_offset().map(|first| first.max(inner.log_start_offset))
    }

    /// The first offset of `producer_id`'s open transaction in this partition, if any.
    pub fn open_transaction(&self, producer_id: i64) -> Option<i64> {
        self.read_lock().producers.entry(producer_id).and_then(|e| e.current_txn_first_offset)
    }

    /// The state of one producer (epoch, retained batches, open transaction).
    pub fn producer_entry(&self, producer_id: i64) -> Option<ProducerEntry> {
        self.read_lock().producers.entry(producer_id).cloned()
    }

    /// Every producer this partition remembers, by id (DescribeProducers).
    pub fn producers(&self) -> Vec<(i64, ProducerEntry)> {
        self.read_lock().producers.entries().map(|(&id, entry)| (id, entry.clone())).collect()
    }

    /// The aborted transactions overlapping `[fetch_offset, upper_bound_offset)`, in
    /// marker order, as Kafka's `collectAbortedTransactions` answers: from the segment
    /// holding `fetch_offset` on, until an index says no later abort can overlap.
    pub fn aborted_transactions(&self, fetch_offset: i64, upper_bound_offset: i64) -> Result<Vec<AbortedTxn>> {
        self.read_lock().aborted_transactions(fetch_offset, upper_bound_offset)
    }

    /// A read_committed read (Kafka's `FetchIsolation.TXN_COMMITTED`): as
    /// [`Self::read`] but never at or past the last stable offset, with the aborted
    /// transactions overlapping the returned batches (an empty list without data).
    pub fn read_committed(&self, offset: i64, max_bytes: usize, max_offset: i64) -> Result<ReadResult> {
        let inner = self.read_lock();
        let (mut result, end) = inner.read(&self.dir, offset, max_bytes, max_offset.min(inner.last_stable_offset()))?;
        let aborted = match end {
            // The bound is the offset right after the returned batches (Kafka rounds
            // it up to an index entry; the extra transactions change nothing for clients).
            Some((base, end_position)) => match inner.segments.get(&base) {
                Some(segment) => inner.aborted_transactions(offset, segment.offset_at_position(end_position)?)?,
                None => Vec::new(),
            },
            None => Vec::new(),
        };
        result.aborted_transactions = Some(aborted);
        Ok(result)
    }
}

impl Inner {
    pub(super) fn last_stable_offset(&self) -> i64 {
        let log_end_offset = self.log_end_offset();
        self.producers
            .first_unstable_offset()
            .map_or(log_end_offset, |first| first.max(self.log_start_offset).min(log_end_offset))
    }

    fn aborted_transactions(&self, fetch_offset: i64, upper_bound_offset: i64) -> Result<Vec<AbortedTxn>> {
        let start = self.segments.range(..=fetch_offset).next_back().map_or(i64::MIN, |(&base, _)| base);
        let mut aborted = Vec::new();
        for segment in self.segments.range(start..).map(|(_, s)| s) {
            let search = segment.collect_aborted_txns(fetch_offset, upper_bound_offset)?;
            aborted.extend(search.aborted);
            if search.complete {
                break;
            }
        }
        Ok(aborted)
    }
}

#[cfg(test)]
#[path = "txn_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "txn_recovery_tests.rs"]
mod recovery_tests;
