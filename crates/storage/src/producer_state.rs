//! Idempotent and transactional producer state of one partition, after Kafka's
//! `ProducerStateManager`, `ProducerStateEntry`, `BatchMetadata`, `ProducerAppendInfo`
//! and `CompletedTxn`.
//!
//! Per producer id: its current epoch, the last [`BATCHES_TO_RETAIN`] batches
//! (sequence range and offsets), so a retried batch is answered with its original
//! offsets instead of being appended twice, the coordinator epoch of its last marker,
//! and the first offset of its open transaction. The open transactions, ordered by
//! first offset, give the first unstable offset (and so the last stable offset).
//! Updates are two-phase as in Kafka: `check_*` before the append, `record*` after it
//! succeeded; a completed transaction leaves the open set only with
//! [`ProducerStateManager::complete_txn`], after its abort is in the transaction index.
//!
//! Data batches (Kafka 4 `ProducerAppendInfo`, transactions v1):
//! - client origin: a batch equal (same epoch and sequence range) to one of the last 5
//!   is a duplicate, checked first, as `UnifiedLog.analyzeAndValidateProducerState` does;
//! - epoch below the current one: INVALID_PRODUCER_EPOCH;
//! - client origin: a new (higher) epoch must start at sequence 0, unless the producer
//!   had no epoch yet; the same epoch needs base sequence = last sequence + 1
//!   (`i32::MAX` wraps to 0), else OUT_OF_ORDER_SEQUENCE_NUMBER; an unknown producer
//!   (never seen, expired, or truncated away) is accepted at any sequence (KIP-360).
//!   Coordinator-origin batches (e.g. transactional offset commits) skip sequences;
//! - a non-transactional batch while the producer's transaction is open:
//!   INVALID_TXN_STATE; a transactional batch with none open begins one at its base
//!   offset, later ones continue it (also across an epoch bump, as in Kafka).
//!
//! Markers (`appendEndTxnMarker`, transactions v1): an epoch below the current one is
//! INVALID_PRODUCER_EPOCH, a coordinator epoch below the last marker's is
//! TRANSACTION_COORDINATOR_FENCED; otherwise the marker takes the producer's epoch
//! (a newer one forgets the retained batches) and coordinator epoch and ends the open
//! transaction, if any. A marker with no open transaction is still written and
//! completes nothing (nor is it indexed), as in Kafka.
//!
//! Before a transaction's first write to the partition the broker may verify it with
//! the coordinator (KIP-890 part 1, see [`verification`]). Not done: transactions v2
//! (epoch-bumping markers).
//!
//! Snapshots keep all retained batches per producer (Kafka keeps only the last one), so
//! dedup of any of the last 5 still works after a restart.

use std::collections::{BTreeMap, VecDeque};

use thiserror::Error;

use crate::batch::{decrement_sequence, BatchHeader, NO_SEQUENCE};
use crate::control::EndTxnMarker;
use crate::txn_index::AbortedTxn;

/// Batches remembered per producer (Kafka's `NUM_BATCHES_TO_RETAIN`; also the
/// producer's `max.in.flight.requests.per.connection` limit for idempotence).
pub const BATCHES_TO_RETAIN: usize = 5;

/// No producer epoch known.
pub const NO_PRODUCER_EPOCH: i16 = -1;

/// Kafka error codes used here.
pub mod error_codes {
    pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
    pub const INVALID_PRODUCER_EPOCH: i16 = 47;
    pub const INVALID_TXN_STATE: i16 = 48;
    pub const TRANSACTION_COORDINATOR_FENCED: i16 = 52;
    pub const CORRUPT_MESSAGE: i16 = 2;
}

/// Who is appending, which decides how much is checked (Kafka's `AppendOrigin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOrigin {
    /// A Produce request: duplicates and sequences are checked.
    Client,
    /// A coordinator writing on a producer's behalf (transactional offset commits):
    /// only epochs and transaction state are checked.
    Coordinator,
}

/// What to do with a batch, by its producer's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// New data: append it, then call [`ProducerStateManager::record`].
    Append,
    /// A retry of a batch already in the log: answer with these offsets, append nothing.
    Duplicate { base_offset: i64, last_offset: i64 },
}

/// Why a batch is refused, or a snapshot unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProducerStateError {
    #[error("Epoch of producer {producer_id} is {epoch}, which is smaller than the last seen epoch {current}")]
    InvalidProducerEpoch {
        producer_id: i64,
        epoch: i16,
        current: i16,
    },
    #[error("Invalid sequence number for new epoch of producer {producer_id}: {epoch} (request epoch), {sequence} (seq. number), {current} (current producer epoch)")]
    NewEpochNotAtZero {
        producer_id: i64,
        epoch: i16,
        sequence: i32,
        current: i16,
    },
    #[error("Out of order sequence number for producer {producer_id}: {sequence} (incoming seq. number), {last_sequence} (current end sequence number)")]
    OutOfOrderSequence {
        producer_id: i64,
        sequence: i32,
        last_sequence: i32,
    },
    #[error("Expected transactional write from producer {producer_id}")]
    ExpectedTransactional { producer_id: i64 },
    #[error("Record was not part of an ongoing transaction")]
    NotInTransaction { producer_id: i64 },
    #[error("Out of order sequence number for producer {producer_id}: {sequence} (incoming seq. number), {lowest_sequence} (earliest seen sequence)")]
    AboveVerifiedSequence {
        producer_id: i64,
        sequence: i32,
        lowest_sequence: i32,
    },
    #[error("Invalid coordinator epoch for producerId {producer_id}: {coordinator_epoch} (zombie), {current} (current)")]
    CoordinatorFenced {
        producer_id: i64,
        coordinator_epoch: i32,
        current: i32,
    },
    #[error("producer state snapshot is invalid: {0}")]
    CorruptSnapshot(String),
}

impl ProducerStateError {
    /// The Kafka error code for the partition, as Apache Kafka returns it.
    pub fn kafka_error_code(&self) -> i16 {
        use error_codes::*;
        match self {
            ProducerStateError::InvalidProducerEpoch { .. } => INVALID_PRODUCER_EPOCH,
            ProducerStateError::NewEpochNotAtZero { .. }
            | ProducerStateError::OutOfOrderSequence { .. }
            | ProducerStateError::AboveVerifiedSequence { .. } => OUT_OF_ORDER_SEQUENCE_NUMBER,
            ProducerStateError::ExpectedTransactional { .. }
            | ProducerStateError::NotInTransaction { .. } => INVALID_TXN_STATE,
            ProducerStateError::CoordinatorFenced { .. } => TRANSACTION_COORDINATOR_FENCED,
            ProducerStateError::CorruptSnapshot(_) => CORRUPT_MESSAGE,
        }
    }
}

/// One appended batch of a producer (Kafka's `BatchMetadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    pub last_sequence: i32,
    pub last_offset: i64,
    /// last offset - first offset (= last sequence - first sequence).
    pub offset_delta: i32,
    /// The batch's maxTimestamp, returned with a duplicate.
    pub timestamp: i64,
}

impl BatchMetadata {
    pub fn first_sequence(&self) -> i32 {
        decrement_sequence(self.last_sequence, self.offset_delta)
    }

    pub fn first_offset(&self) -> i64 {
        self.last_offset
            .saturating_sub(i64::from(self.offset_delta))
    }
}

/// One producer's state (Kafka's `ProducerStateEntry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerEntry {
    pub epoch: i16,
    /// Oldest first, at most [`BATCHES_TO_RETAIN`].
    pub batches: VecDeque<BatchMetadata>,
    /// When the producer last appended (for `producer.id.expiration.ms`).
    pub last_timestamp: i64,
    /// First offset of the producer's open transaction, if any.
    pub current_txn_first_offset: Option<i64>,
    /// Coordinator epoch of the producer's last marker (-1: none yet).
    pub coordinator_epoch: i32,
}

impl ProducerEntry {
    fn empty() -> Self {
        ProducerEntry {
            epoch: NO_PRODUCER_EPOCH,
            batches: VecDeque::new(),
            last_timestamp: -1,
            current_txn_first_offset: None,
            coordinator_epoch: -1,
        }
    }

    fn last_sequence(&self) -> i32 {
        self.batches.back().map_or(NO_SEQUENCE, |b| b.last_sequence)
    }

    /// Kafka's `maybeUpdateProducerEpoch`: a new epoch forgets the old epoch's batches.
    fn set_epoch(&mut self, epoch: i16) {
        if self.epoch != epoch {
            self.batches.clear();
            self.epoch = epoch;
        }
    }

    fn add_batch(&mut self, batch: BatchMetadata) {
        if self.batches.len() == BATCHES_TO_RETAIN {
            self.batches.pop_front();
        }
        self.batches.push_back(batch);
    }
}

/// A transaction a marker just ended (Kafka's `CompletedTxn`, with the last stable
/// offset Kafka computes for its index entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The marker's offset.
    pub last_offset: i64,
    pub aborted: bool,
    /// The first offset of the oldest transaction of another producer still open,
    /// or `last_offset + 1` (Kafka's `ProducerStateManager.lastStableOffset`).
    pub last_stable_offset: i64,
}

impl CompletedTxn {
    /// The transaction index entry of an aborted transaction.
    pub fn aborted_txn(&self) -> AbortedTxn {
        AbortedTxn {
            producer_id: self.producer_id,
            first_offset: self.first_offset,
            last_offset: self.last_offset,
            last_stable_offset: self.last_stable_offset,
        }
    }
}

/// Producer state of one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerStateManager {
    producers: BTreeMap<i64, ProducerEntry>,
    /// Open transactions: first offset -> producer id (Kafka's `ongoingTxns`).
    ongoing: BTreeMap<i64, i64>,
    /// Pending verifications by producer id; in memory only, as in Kafka.
    verifications: BTreeMap<i64, VerificationEntry>,
}

impl ProducerStateManager {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks a client batch against the state. Batches without a producer id always append.
    pub fn check(&self, header: &BatchHeader) -> Result<SequenceCheck, ProducerStateError> {
        self.check_append(header, AppendOrigin::Client)
    }

    /// Checks a data batch from `origin` against the state.
    pub fn check_append(
        &self,
        header: &BatchHeader,
        origin: AppendOrigin,
    ) -> Result<SequenceCheck, ProducerStateError> {
        if !header.has_producer_id() {
            return Ok(SequenceCheck::Append);
        }
        let producer_id = header.producer_id;
        if origin == AppendOrigin::Client {
            if let Some(batch) = self.duplicate_of(header) {
                return Ok(SequenceCheck::Duplicate {
                    base_offset: batch.first_offset(),
                    last_offset: batch.last_offset,
                });
            }
            if let Some(verifying) = self.verifications.get(&producer_id) {
                if header.base_sequence > verifying.lowest_sequence {
                    return Err(ProducerStateError::AboveVerifiedSequence {
                        producer_id,
                        sequence: header.base_sequence,
                        lowest_sequence: verifying.lowest_sequence,
                    });
                }
            }
        }
        let Some(entry) = self.producers.get(&producer_id) else {
            return Ok(SequenceCheck::Append);
        };
        let epoch = header.producer_epoch;
        if epoch < entry.epoch {
            return Err(ProducerStateError::InvalidProducerEpoch {
                producer_id,
                epoch,
                current: entry.epoch,
            });
        }
        let sequence = header.base_sequence;
        if origin == AppendOrigin::Coordinator {
            // No sequences to check.
        } else if epoch != entry.epoch {
            if sequence != 0 && entry.epoch != NO_PRODUCER_EPOCH {
                return Err(ProducerStateError::NewEpochNotAtZero {
                    producer_id,
                    epoch,
                    sequence,
                    current: entry.epoch,
                });
            }
        } else if entry.epoch != NO_PRODUCER_EPOCH {
            // With no batch retained (e.g. only a marker seen in this epoch) the last
            // sequence is NO_SEQUENCE, so only 0 follows, as in Kafka.
            let last_sequence = entry.last_sequence();
            if !in_sequence(last_sequence, sequence) {
                return Err(ProducerStateError::OutOfOrderSequence {
                    producer_id,
                    sequence,
                    last_sequence,
                });
            }
        }
        if entry.current_txn_first_offset.is_some()
            && !header.is_transactional()
            && !header.is_control()
        {
            return Err(ProducerStateError::ExpectedTransactional { producer_id });
        }
        Ok(SequenceCheck::Append)
    }

    /// The retained batch this one repeats (same producer, epoch and sequence range),
    /// with its offsets and timestamp (Kafka's `findDuplicateBatch`).
    pub fn duplicate_of(&self, header: &BatchHeader) -> Option<BatchMetadata> {
        let entry = self.producers.get(&header.producer_id)?;
        if entry.epoch != header.producer_epoch || header.base_sequence == NO_SEQUENCE {
            return None;
        }
        let (first, last) = (header.base_sequence, header.last_sequence());
        entry
            .batches
            .iter()
            .find(|b| b.first_sequence() == first && b.last_sequence == last)
            .copied()
    }

    /// Records a data batch after it was appended (its header carries the assigned
    /// offsets), or while rebuilding from the log. A transactional batch begins the
    /// producer's transaction if none is open. Control batches are recorded with
    /// [`Self::record_marker`] and ignored here. `append_time_ms` is when it was
    /// appended, for expiration.
    pub fn record(&mut self, header: &BatchHeader, append_time_ms: i64) {
        if !header.has_producer_id() || header.is_control() {
            return;
        }
        let entry = self
            .producers
            .entry(header.producer_id)
            .or_insert_with(ProducerEntry::empty);
        entry.set_epoch(header.producer_epoch);
        if header.base_sequence != NO_SEQUENCE {
            entry.add_batch(BatchMetadata {
                last_sequence: header.last_sequence(),
                last_offset: header.last_offset(),
                offset_delta: header.last_offset_delta,
                timestamp: header.max_timestamp,
            });
        }
        entry.last_timestamp = append_time_ms;
        if header.is_transactional() && entry.current_txn_first_offset.is_none() {
            entry.current_txn_first_offset = Some(header.base_offset);
            self.ongoing.insert(header.base_offset, header.producer_id);
        }
        if header.is_transactional() {
            self.clear_verification(header.producer_id);
        }
    }

    /// Checks a marker for `producer_id` before it is written (Kafka's
    /// `appendEndTxnMarker` checks, transactions v1).
    pub fn check_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
    ) -> Result<(), ProducerStateError> {
        let Some(entry) = self.producers.get(&producer_id) else {
            return Ok(());
        };
        if producer_epoch < entry.epoch {
            return Err(ProducerStateError::InvalidProducerEpoch {
                producer_id,
                epoch: producer_epoch,
                current: entry.epoch,
            });
        }
        if entry.coordinator_epoch > coordinator_epoch {
            return Err(ProducerStateError::CoordinatorFenced {
                producer_id,
                coordinator_epoch,
                current: entry.coordinator_epoch,
            });
        }
        Ok(())
    }

    /// Records a marker after it was appended, or while rebuilding from the log: the
    /// producer takes its epoch and coordinator epoch and its transaction ends. Returns
    /// the transaction it completed, if one was open; it stays among the open ones (so
    /// the last stable offset does not pass it) until [`Self::complete_txn`].
    pub fn record_marker(
        &mut self,
        header: &BatchHeader,
        marker: &EndTxnMarker,
        append_time_ms: i64,
    ) -> Option<CompletedTxn> {
        let producer_id = header.producer_id;
        let marker_offset = header.base_offset;
        let first_offset = self
            .producers
            .get(&producer_id)
            .and_then(|e| e.current_txn_first_offset);
        let completed = first_offset.map(|first_offset| CompletedTxn {
            producer_id,
            first_offset,
            last_offset: marker_offset,
            aborted: marker.is_abort(),
            last_stable_offset: self
                .ongoing
                .iter()
                .find(|&(_, &other)| other != producer_id)
                .map_or(marker_offset.saturating_add(1), |(&first, _)| first),
        });
        let entry = self
            .producers
            .entry(producer_id)
            .or_insert_with(ProducerEntry::empty);
        entry.set_epoch(header.producer_epoch);
        entry.coordinator_epoch = marker.coordinator_epoch;
        entry.current_txn_first_offset = None;
        entry.last_timestamp = append_time_ms;
        self.clear_verification(producer_id);
        completed
    }

    /// Takes a completed transaction out of the open ones (Kafka's `completeTxn`).
    pub fn complete_txn(&mut self, txn: &CompletedTxn) {
        if self.ongoing.get(&txn.first_offset) == Some(&txn.producer_id) {
            self.ongoing.remove(&txn.first_offset);
        }
    }

    /// Forgets producers idle for at least `producer_id_expiration_ms`, except those with
    /// an open transaction (Kafka's `removeExpiredProducers`).
    pub fn remove_expired(&mut self, now_ms: i64, producer_id_expiration_ms: i64) {
        self.producers.retain(|_, entry| {
            entry.current_txn_first_offset.is_some()
                || now_ms.saturating_sub(entry.last_timestamp) < producer_id_expiration_ms
        });
        self.verifications
            .retain(|_, v| now_ms.saturating_sub(v.created_ms) < producer_id_expiration_ms);
    }

    /// Forgets batches at or above `log_end_offset` (the log was truncated there). A
    /// producer left with no batch and no open transaction is forgotten: it is then
    /// unknown and accepted at any sequence, as after expiration. For exact state,
    /// reload the latest snapshot below `log_end_offset` and replay the log from it.
    pub fn truncate_to(&mut self, log_end_offset: i64) {
        self.producers.retain(|_, entry| {
            entry.batches.retain(|b| b.last_offset < log_end_offset);
            if entry
                .current_txn_first_offset
                .is_some_and(|first| first >= log_end_offset)
            {
                entry.current_txn_first_offset = None;
            }
            !entry.batches.is_empty() || entry.current_txn_first_offset.is_some()
        });
        self.ongoing = open_transactions(&self.producers);
    }

    /// The state of one producer.
    pub fn entry(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    /// Every producer's state, by producer id.
    pub fn entries(&self) -> impl Iterator<Item = (&i64, &ProducerEntry)> + '_ {
        self.producers.iter()
    }

    /// Number of producers known.
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// Each producer's last data batch: producer id -> its last offset.
    /// Compaction keeps these batches (maybe emptied) so sequences survive
    /// (Kafka's `lastRecordsOfActiveProducers`).
    pub fn last_data_offsets(&self) -> std::collections::HashMap<i64, i64> {
        self.producers
            .iter()
            .filter_map(|(&id, e)| e.batches.back().map(|b| (id, b.last_offset)))
            .collect()
    }

    /// The smallest first offset of an open transaction (bounds the last stable offset).
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.ongoing.keys().next().copied()
    }

    /// The open transactions as (first offset, producer id), oldest first.
    pub fn ongoing_transactions(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.ongoing.iter().map(|(&first, &producer)| (first, producer))
    }

    /// Serializes the state as of `up_to_offset` (the log end offset it reflects).
    pub fn snapshot(&self, up_to_offset: i64) -> Vec<u8> {
        snapshot::encode(&self.producers, up_to_offset)
    }

    /// Reads a snapshot written by [`ProducerStateManager::snapshot`]; returns the state
    /// and its `up_to_offset`. Refuses bad magic, unknown versions, CRC mismatches and
    /// truncated or trailing bytes.
    pub fn from_snapshot(bytes: &[u8]) -> Result<(Self, i64), ProducerStateError> {
        let (producers, up_to_offset) = snapshot::decode(bytes)?;
        let ongoing = open_transactions(&producers);
        let verifications = BTreeMap::new();
        Ok((ProducerStateManager { producers, ongoing, verifications }, up_to_offset))
    }
}

/// The open-transaction set implied by the producers' entries.
fn open_transactions(producers: &BTreeMap<i64, ProducerEntry>) -> BTreeMap<i64, i64> {
    producers
        .iter()
        .filter_map(|(&id, e)| e.current_txn_first_offset.map(|first| (first, id)))
        .collect()
}

/// Kafka's `inSequence`: next = last + 1, or a wrap from `i32::MAX` to 0.
fn in_sequence(last_sequence: i32, next_sequence: i32) -> bool {
    i64::from(next_sequence) == i64::from(last_sequence) + 1
        || (next_sequence == 0 && last_sequence == i32::MAX)
}

mod snapshot;
pub mod verification;
pub use verification::{VerificationEntry, VerificationGuard};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod txn_tests;
