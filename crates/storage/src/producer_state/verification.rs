//! Transaction verification before a transaction's first write to a partition
//! (KIP-890 part 1), after Kafka's `VerificationStateEntry`, `VerificationGuard`
//! and `UnifiedLog.maybeStartTransactionVerification`.
//!
//! A transactional batch from a producer with no open transaction here may only be
//! written once the transaction coordinator confirmed the partition is in the
//! producer's transaction. The broker first takes a guard
//! ([`ProducerStateManager::start_verification`]), asks the coordinator, then
//! appends with the guard: if a marker or another transactional write came in
//! between (the entry was cleared, perhaps replaced), the guard no longer matches
//! and the write fails with INVALID_TXN_STATE, so a late produce can never open a
//! transaction the coordinator does not know about (a hanging transaction).
//!
//! Verification state is in memory only, as in Kafka. At most
//! [`MAX_PENDING_VERIFICATIONS`] per partition are kept (Kafka has no bound; it
//! expires them with idle producers): past it the oldest is dropped, whose write
//! then fails and is retried by its producer.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{ProducerStateError, ProducerStateManager};
use crate::batch::BatchHeader;

/// Pending verifications per partition. Each is a producer between its first
/// transactional produce and the coordinator's answer, so real ones are few.
pub const MAX_PENDING_VERIFICATIONS: usize = 10_000;

/// Guard values, unique in the process (Kafka's `INCREMENTING_ID`); 0 is never used.
static NEXT_GUARD: AtomicU64 = AtomicU64::new(1);

/// Proof that a verification was started and not overtaken (Kafka's `VerificationGuard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VerificationGuard(u64);

/// One producer's pending verification (Kafka's `VerificationStateEntry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerificationEntry {
    pub guard: VerificationGuard,
    /// The lowest sequence seen while verifying: higher ones wait (OUT_OF_ORDER_SEQUENCE_NUMBER)
    /// so a retried lower batch cannot loop on out-of-order errors.
    pub lowest_sequence: i32,
    pub epoch: i16,
    pub created_ms: i64,
}

impl ProducerStateManager {
    /// Starts (or joins) the verification of `producer_id`'s transaction before its
    /// first write here; `None` when its transaction is already open here (no
    /// verification needed). Kafka's `maybeStartTransactionVerification`.
    pub fn start_verification(&mut self, producer_id: i64, sequence: i32, epoch: i16, now_ms: i64) -> Option<VerificationGuard> {
        if self.producers.get(&producer_id).is_some_and(|e| e.current_txn_first_offset.is_some()) {
            return None;
        }
        if !self.verifications.contains_key(&producer_id) && self.verifications.len() >= MAX_PENDING_VERIFICATIONS {
            let oldest = self.verifications.iter().min_by_key(|(_, v)| v.created_ms).map(|(&id, _)| id);
            if let Some(oldest) = oldest {
                self.verifications.remove(&oldest);
            }
        }
        let entry = self.verifications.entry(producer_id).or_insert_with(|| VerificationEntry {
            guard: VerificationGuard(NEXT_GUARD.fetch_add(1, Ordering::Relaxed)),
            lowest_sequence: sequence,
            epoch,
            created_ms: now_ms,
        });
        // Kafka's maybeUpdateLowestSequenceAndEpoch.
        if epoch == entry.epoch && sequence < entry.lowest_sequence {
            entry.lowest_sequence = sequence;
        }
        if epoch > entry.epoch {
            entry.epoch = epoch;
            entry.lowest_sequence = sequence;
        }
        Some(entry.guard)
    }

    /// The pending verification of a producer, if any.
    pub fn verification(&self, producer_id: i64) -> Option<&VerificationEntry> {
        self.verifications.get(&producer_id)
    }

    /// Refuses a transactional batch that would begin a transaction without a
    /// matching guard (Kafka's `batchMissingRequiredVerification`): INVALID_TXN_STATE.
    pub fn check_verified(&self, header: &BatchHeader, guard: Option<VerificationGuard>) -> Result<(), ProducerStateError> {
        let producer_id = header.producer_id;
        let open = self.producers.get(&producer_id).is_some_and(|e| e.current_txn_first_offset.is_some());
        if !header.is_transactional() || header.is_control() || open {
            return Ok(());
        }
        match (self.verifications.get(&producer_id), guard) {
            (Some(entry), Some(guard)) if entry.guard == guard => Ok(()),
            _ => Err(ProducerStateError::NotInTransaction { producer_id }),
        }
    }

    /// Drops a producer's verification: its transactional write (data or marker) is in.
    pub(super) fn clear_verification(&mut self, producer_id: i64) {
        self.verifications.remove(&producer_id);
    }
}
