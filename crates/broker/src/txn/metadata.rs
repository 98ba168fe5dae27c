//! One transactional id's state and its transitions, after Kafka's
//! `TransactionState`, `TransactionMetadata` and `TxnTransitMetadata`
//! (transaction protocol v1: epochs move only with InitProducerId and fencing).
//!
//! A transition is two-phase, as in Kafka: `prepare_*` checks it, builds the
//! [`Transit`] (the state to be written to `__transaction_state`) and marks it
//! pending; once the record is in the log, [`TxnMetadata::complete`] applies it.
//! While a transition is pending every other request for the id is answered
//! CONCURRENT_TRANSACTIONS.

use std::collections::BTreeSet;

/// No producer id (Kafka's `RecordBatch.NO_PRODUCER_ID`).
pub const NO_PRODUCER_ID: i64 = -1;
/// No producer epoch (`RecordBatch.NO_PRODUCER_EPOCH`).
pub const NO_PRODUCER_EPOCH: i16 = -1;

/// A partition of a transaction: (topic, partition).
pub type TopicPartition = (String, i32);

/// Kafka's `TransactionState`; the ids are those stored in `__transaction_state`
/// and the names those DescribeTransactions and ListTransactions show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    /// No transaction yet (or the last one finished and a new epoch began).
    Empty,
    /// Partitions were added; the transaction is open.
    Ongoing,
    /// EndTxn(commit) was written; markers are going out.
    PrepareCommit,
    /// EndTxn(abort), a fence or a timeout was written; markers are going out.
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    /// The transactional id expired and is being removed.
    Dead,
    /// An InitProducerId or a timeout is fencing the producer of an open
    /// transaction; only ever pending, never stored.
    PrepareEpochFence,
}

impl TxnState {
    pub const ALL: [TxnState; 8] = [
        TxnState::Empty,
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
        TxnState::Dead,
        TxnState::PrepareEpochFence,
    ];

    pub fn id(self) -> i8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    pub fn from_id(id: i8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }

    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// The state of a name, exactly as spelled (Kafka's `TransactionState.fromName`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The states this one may follow (Kafka's `validPreviousStates`).
    fn valid_previous(self) -> &'static [TxnState] {
        use TxnState::*;
        match self {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            PrepareAbort => &[Ongoing, PrepareEpochFence],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            Dead => &[Empty, CompleteAbort, CompleteCommit],
            PrepareEpochFence => &[Ongoing],
        }
    }

    /// Whether an id in this state may expire (`transactional.id.expiration.ms`).
    pub fn expiration_allowed(self) -> bool {
        matches!(self, TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort)
    }
}

/// Kafka's `TransactionMetadata.isEpochExhausted`: the last epoch a client may
/// use is `i16::MAX - 1`, so the coordinator can always fence it once more.
pub fn is_epoch_exhausted(epoch: i16) -> bool {
    epoch >= i16::MAX - 1
}

/// The target of a transition: what is written to `__transaction_state`
/// (Kafka's `TxnTransitMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transit {
    pub producer_id: i64,
    /// The producer id before this transition (not stored in value v0).
    pub previous_producer_id: i64,
    pub producer_epoch: i16,
    /// Not stored; lets a KIP-360 retry of InitProducerId get its answer again.
    pub last_producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    pub partitions: BTreeSet<TopicPartition>,
    /// When the transaction began (its first partition), -1 when none.
    pub start_timestamp_ms: i64,
    pub last_update_timestamp_ms: i64,
}

/// Why a transition cannot even be prepared: a bug, as Kafka's
/// `IllegalStateException`s are. Answered UNKNOWN_SERVER_ERROR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transactional id {transactional_id}: {reason}")]
pub struct IllegalTransition {
    pub transactional_id: String,
    pub reason: String,
}

/// One transactional id (Kafka's `TransactionMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    pub previous_producer_id: i64,
    pub producer_epoch: i16,
    pub last_producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    pub partitions: BTreeSet<TopicPartition>,
    pub start_timestamp_ms: i64,
    pub last_update_timestamp_ms: i64,
    /// The state a written-but-not-yet-applied transition leads to.
    pub pending: Option<TxnState>,
    /// A fence's bumped epoch may not be in the log (its write failed): the
    /// next fence reuses it instead of bumping again (never returned to a client).
    pub has_failed_epoch_fence: bool,
}

impl TxnMetadata {
    /// A new id: no epoch yet, Empty.
    pub fn new(transactional_id: &str, producer_id: i64, timeout_ms: i32, now_ms: i64) -> Self {
        Self {
            transactional_id: transactional_id.to_string(),
            producer_id,
            previous_producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            start_timestamp_ms: -1,
            last_update_timestamp_ms: now_ms,
            pending: None,
            has_failed_epoch_fence: false,
        }
    }

    /// Rebuilds an id from its stored value.
    pub fn from_stored(transactional_id: &str, stored: Transit) -> Self {
        Self {
            transactional_id: transactional_id.to_string(),
            producer_id: stored.producer_id,
            previous_producer_id: stored.previous_producer_id,
            producer_epoch: stored.producer_epoch,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            timeout_ms: stored.timeout_ms,
            state: stored.state,
            partitions: if stored.state == TxnState::Empty { BTreeSet::new() } else { stored.partitions },
            start_timestamp_ms: stored.start_timestamp_ms,
            last_update_timestamp_ms: stored.last_update_timestamp_ms,
            pending: None,
            has_failed_epoch_fence: false,
        }
    }

    pub fn is_epoch_exhausted(&self) -> bool {
        is_epoch_exhausted(self.producer_epoch)
    }

    /// A transaction is open or being completed.
    fn has_pending_transaction(&self) -> bool {
        matches!(self.state, TxnState::Ongoing | TxnState::PrepareAbort | TxnState::PrepareCommit)
    }

    fn illegal(&self, reason: String) -> IllegalTransition {
        IllegalTransition { transactional_id: self.transactional_id.clone(), reason }
    }

    /// Fencing the producer of an open transaction: the epoch goes up by one
    /// (not again after a failed fence), the last epoch is forgotten.
    pub fn prepare_fence_producer_epoch(&mut self) -> Result<Transit, IllegalTransition> {
        if self.producer_epoch == i16::MAX {
            return Err(self.illegal("cannot fence a producer at epoch i16::MAX".into()));
        }
        let bumped = if self.has_failed_epoch_fence { self.producer_epoch } else { self.producer_epoch + 1 };
        let partitions = self.partitions.clone();
        let (start, update, timeout) = (self.start_timestamp_ms, self.last_update_timestamp_ms, self.timeout_ms);
        self.prepare(TxnState::PrepareEpochFence, self.producer_id, bumped, NO_PRODUCER_EPOCH, timeout, partitions, start, update)
    }

    /// InitProducerId's epoch bump (KIP-360 when `expected_epoch` is given):
    /// Ok(None) means the expected epoch is fenced (PRODUCER_FENCED).
    pub fn prepare_increment_producer_epoch(
        &mut self,
        timeout_ms: i32,
        expected_epoch: Option<i16>,
        now_ms: i64,
    ) -> Result<Option<Transit>, IllegalTransition> {
        if self.is_epoch_exhausted() {
            return Err(self.illegal(format!("cannot allocate more epochs for producer id {}", self.producer_id)));
        }
        let bumped = self.producer_epoch + 1;
        let (epoch, last_epoch) = match expected_epoch {
            // A new producer (or one not resuming): bump, forget the last epoch.
            None => (bumped, NO_PRODUCER_EPOCH),
            // Resuming after an error, nobody else initialized in between.
            Some(expected) if self.producer_epoch == NO_PRODUCER_EPOCH || expected == self.producer_epoch => (bumped, self.producer_epoch),
            // A retry of a bump that succeeded: the same answer again.
            Some(expected) if expected == self.last_producer_epoch => (self.producer_epoch, self.last_producer_epoch),
            Some(_) => return Ok(None),
        };
        let pid = self.producer_id;
        self.prepare(TxnState::Empty, pid, epoch, last_epoch, timeout_ms, BTreeSet::new(), -1, now_ms).map(Some)
    }

    /// InitProducerId when the epoch is exhausted: a new producer id at epoch 0.
    pub fn prepare_producer_id_rotation(
        &mut self,
        new_producer_id: i64,
        timeout_ms: i32,
        now_ms: i64,
        record_last_epoch: bool,
    ) -> Result<Transit, IllegalTransition> {
        if self.has_pending_transaction() {
            return Err(self.illegal("cannot rotate producer ids while a transaction is pending".into()));
        }
        let last = if record_last_epoch { self.producer_epoch } else { NO_PRODUCER_EPOCH };
        self.prepare(TxnState::Empty, new_producer_id, 0, last, timeout_ms, BTreeSet::new(), -1, now_ms)
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn: the transaction begins (now) or grows.
    pub fn prepare_add_partitions(&mut self, added: &BTreeSet<TopicPartition>, now_ms: i64) -> Result<Transit, IllegalTransition> {
        let start = match self.state {
            TxnState::Empty | TxnState::CompleteAbort | TxnState::CompleteCommit => now_ms,
            _ => self.start_timestamp_ms,
        };
        let partitions = self.partitions.union(added).cloned().collect();
        let (pid, epoch, last, timeout) = (self.producer_id, self.producer_epoch, self.last_producer_epoch, self.timeout_ms);
        self.prepare(TxnState::Ongoing, pid, epoch, last, timeout, partitions, start, now_ms)
    }

    /// EndTxn: PrepareCommit or PrepareAbort, epochs unchanged (protocol v1).
    pub fn prepare_abort_or_commit(&mut self, state: TxnState, now_ms: i64) -> Result<Transit, IllegalTransition> {
        let partitions = self.partitions.clone();
        let (pid, epoch, last, timeout, start) =
            (self.producer_id, self.producer_epoch, self.last_producer_epoch, self.timeout_ms, self.start_timestamp_ms);
        self.prepare(state, pid, epoch, last, timeout, partitions, start, now_ms)
    }

    /// Every marker is written: CompleteCommit or CompleteAbort, no partitions.
    pub fn prepare_complete(&mut self, now_ms: i64) -> Result<Transit, IllegalTransition> {
        let state = if self.state == TxnState::PrepareCommit { TxnState::CompleteCommit } else { TxnState::CompleteAbort };
        self.has_failed_epoch_fence = false;
        let (pid, epoch, timeout, start) = (self.producer_id, self.producer_epoch, self.timeout_ms, self.start_timestamp_ms);
        self.prepare(state, pid, epoch, epoch, timeout, BTreeSet::new(), start, now_ms)
    }

    /// The id expired: a tombstone will remove it.
    pub fn prepare_dead(&mut self) -> Result<Transit, IllegalTransition> {
        let (pid, epoch, last, timeout, start, update) = (
            self.producer_id,
            self.producer_epoch,
            self.last_producer_epoch,
            self.timeout_ms,
            self.start_timestamp_ms,
            self.last_update_timestamp_ms,
        );
        self.prepare(TxnState::Dead, pid, epoch, last, timeout, BTreeSet::new(), start, update)
    }

    /// Kafka's `prepareTransitionTo`: checks the transition and marks it pending.
    #[allow(clippy::too_many_arguments)]
    fn prepare(
        &mut self,
        state: TxnState,
        producer_id: i64,
        producer_epoch: i16,
        last_producer_epoch: i16,
        timeout_ms: i32,
        partitions: BTreeSet<TopicPartition>,
        start_timestamp_ms: i64,
        update_timestamp_ms: i64,
    ) -> Result<Transit, IllegalTransition> {
        if let Some(pending) = self.pending {
            return Err(self.illegal(format!("transition to {} while {} is pending", state.name(), pending.name())));
        }
        if producer_id < 0 {
            return Err(self.illegal(format!("illegal new producer id {producer_id}")));
        }
        if state != TxnState::Dead && producer_epoch < 0 {
            return Err(self.illegal(format!("illegal new producer epoch {producer_epoch}")));
        }
        if !state.valid_previous().contains(&self.state) {
            return Err(self.illegal(format!("{} cannot follow {}", state.name(), self.state.name())));
        }
        self.pending = Some(state);
        Ok(Transit {
            producer_id,
            previous_producer_id: self.producer_id,
            producer_epoch,
            last_producer_epoch,
            timeout_ms,
            state,
            partitions,
            start_timestamp_ms,
            last_update_timestamp_ms: update_timestamp_ms,
        })
    }

    /// Applies a pending transition whose record is in the log (Kafka's
    /// `completeTransitionTo`, with its consistency checks).
    pub fn complete(&mut self, transit: &Transit) -> Result<(), IllegalTransition> {
        let Some(to) = self.pending else {
            return Err(self.illegal(format!("completing a transition to {} with none pending", transit.state.name())));
        };
        let same_epoch = transit.producer_epoch == self.producer_epoch && transit.producer_id == self.producer_id;
        let consistent = to == transit.state
            && match to {
                TxnState::Empty => {
                    let bump = transit.producer_epoch == self.producer_epoch.wrapping_add(1)
                        || (transit.producer_epoch == 0 && transit.producer_id != self.producer_id);
                    (transit.producer_epoch == self.producer_epoch || bump) && transit.partitions.is_empty() && transit.start_timestamp_ms == -1
                }
                TxnState::Ongoing => same_epoch && self.partitions.is_subset(&transit.partitions) && self.timeout_ms == transit.timeout_ms,
                TxnState::PrepareAbort | TxnState::PrepareCommit => {
                    same_epoch
                        && self.partitions == transit.partitions
                        && self.timeout_ms == transit.timeout_ms
                        && self.start_timestamp_ms == transit.start_timestamp_ms
                }
                TxnState::CompleteAbort | TxnState::CompleteCommit => {
                    same_epoch && self.timeout_ms == transit.timeout_ms && transit.start_timestamp_ms != -1
                }
                TxnState::PrepareEpochFence | TxnState::Dead => false,
            };
        if !consistent {
            return Err(self.illegal(format!("unexpected transition from {:?} to {transit:?}", self.state)));
        }
        match to {
            TxnState::Empty => {
                self.timeout_ms = transit.timeout_ms;
                self.producer_epoch = transit.producer_epoch;
                self.last_producer_epoch = transit.last_producer_epoch;
                self.producer_id = transit.producer_id;
                self.previous_producer_id = transit.previous_producer_id;
            }
            TxnState::Ongoing => {
                self.start_timestamp_ms = transit.start_timestamp_ms;
                self.partitions.extend(transit.partitions.iter().cloned());
            }
            TxnState::CompleteAbort | TxnState::CompleteCommit => {
                self.start_timestamp_ms = transit.start_timestamp_ms;
                self.partitions.clear();
            }
            _ => {}
        }
        self.last_update_timestamp_ms = transit.last_update_timestamp_ms;
        self.pending = None;
        self.state = to;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn partitions(list: &[(&str, i32)]) -> BTreeSet<TopicPartition> {
        list.iter().map(|(t, p)| (t.to_string(), *p)).collect()
    }

    #[test]
    fn states_round_trip_their_ids_and_names() {
        for state in TxnState::ALL {
            assert_eq!(TxnState::from_id(state.id()), Some(state));
            assert_eq!(TxnState::from_name(state.name()), Some(state));
        }
        assert_eq!(TxnState::from_id(8), None);
        assert_eq!(TxnState::from_name("ongoing"), None, "names are case-sensitive, as in Kafka");
    }

    #[test]
    fn a_transaction_goes_from_empty_to_complete_and_back() {
        let mut m = TxnMetadata::new("t", 5, 60_000, 0);
        let t = m.prepare_increment_producer_epoch(60_000, None, 1).unwrap().unwrap();
        assert_eq!((t.producer_epoch, t.last_producer_epoch), (0, -1));
        assert!(m.prepare_add_partitions(&partitions(&[("a", 0)]), 2).is_err(), "one pending transition at a time");
        m.complete(&t).unwrap();
        let t = m.prepare_add_partitions(&partitions(&[("a", 0)]), 10).unwrap();
        m.complete(&t).unwrap();
        assert_eq!((m.state, m.start_timestamp_ms), (TxnState::Ongoing, 10));
        let t = m.prepare_add_partitions(&partitions(&[("b", 1)]), 20).unwrap();
        m.complete(&t).unwrap();
        assert_eq!((m.start_timestamp_ms, m.partitions.len()), (10, 2), "the start stays, partitions grow");
        let t = m.prepare_abort_or_commit(TxnState::PrepareCommit, 30).unwrap();
        m.complete(&t).unwrap();
        let t = m.prepare_complete(40).unwrap();
        assert_eq!(t.state, TxnState::CompleteCommit);
        m.complete(&t).unwrap();
        assert!(m.partitions.is_empty());
        assert_eq!((m.state, m.last_update_timestamp_ms, m.last_producer_epoch), (TxnState::CompleteCommit, 40, -1), "protocol v1 keeps the last epoch");
        // The next transaction starts afresh.
        let t = m.prepare_add_partitions(&partitions(&[("c", 0)]), 50).unwrap();
        m.complete(&t).unwrap();
        assert_eq!((m.start_timestamp_ms, m.partitions.len()), (50, 1));
    }

    #[test]
    fn invalid_transitions_are_refused() {
        let mut m = TxnMetadata::new("t", 5, 60_000, 0);
        assert!(m.prepare_abort_or_commit(TxnState::PrepareCommit, 1).is_err(), "no commit from Empty");
        assert_eq!(m.pending, None, "a refused transition leaves nothing pending");
        assert!(m.prepare_complete(1).is_err(), "no completion from Empty");
        m.pending = None;
        m.state = TxnState::PrepareCommit;
        assert!(m.prepare_dead().is_err());
        assert!(m.prepare_producer_id_rotation(6, 1000, 1, false).is_err());
        m.state = TxnState::Dead;
        assert!(m.prepare_add_partitions(&partitions(&[("a", 0)]), 1).is_err());
    }

    #[test]
    fn a_written_transition_must_match_what_was_prepared() {
        let mut m = TxnMetadata::new("t", 5, 60_000, 0);
        let mut t = m.prepare_increment_producer_epoch(60_000, None, 1).unwrap().unwrap();
        t.producer_epoch = 7;
        assert!(m.complete(&t).is_err(), "an epoch jump is not a bump");
        assert!(TxnMetadata::new("u", 1, 1, 0).complete(&t).is_err(), "nothing pending");
    }

    #[test]
    fn kip_360_epoch_bumps_resume_retry_or_fence() {
        let mut m = TxnMetadata::new("t", 5, 1000, 0);
        m.producer_epoch = 3;
        m.last_producer_epoch = 2;
        // Resuming at the current epoch bumps and remembers it.
        let t = m.prepare_increment_producer_epoch(1000, Some(3), 1).unwrap().unwrap();
        assert_eq!((t.producer_epoch, t.last_producer_epoch), (4, 3));
        m.pending = None;
        // A retry of a bump that succeeded gets the same epoch.
        let t = m.prepare_increment_producer_epoch(1000, Some(2), 1).unwrap().unwrap();
        assert_eq!((t.producer_epoch, t.last_producer_epoch), (3, 2));
        m.pending = None;
        // Anything else is fenced.
        assert_eq!(m.prepare_increment_producer_epoch(1000, Some(1), 1).unwrap(), None);
        assert_eq!(m.pending, None);
    }

    #[test]
    fn fencing_bumps_once_even_after_a_failed_fence() {
        let mut m = TxnMetadata::new("t", 5, 1000, 0);
        m.producer_epoch = 3;
        m.state = TxnState::Ongoing;
        assert_eq!(m.prepare_fence_producer_epoch().unwrap().producer_epoch, 4);
        m.pending = None;
        m.has_failed_epoch_fence = true;
        assert_eq!(m.prepare_fence_producer_epoch().unwrap().producer_epoch, 3);
        m.pending = None;
        m.producer_epoch = i16::MAX;
        m.has_failed_epoch_fence = false;
        assert!(m.prepare_fence_producer_epoch().is_err());
        assert!(is_epoch_exhausted(i16::MAX - 1) && !is_epoch_exhausted(i16::MAX - 2));
    }

    #[test]
    fn rotation_starts_a_new_producer_id_at_epoch_zero() {
        let mut m = TxnMetadata::new("t", 5, 1000, 0);
        m.producer_epoch = i16::MAX - 1;
        m.state = TxnState::CompleteCommit;
        let t = m.prepare_producer_id_rotation(9, 2000, 3, true).unwrap();
        assert_eq!((t.producer_id, t.producer_epoch, t.last_producer_epoch, t.previous_producer_id), (9, 0, i16::MAX - 1, 5));
        m.complete(&t).unwrap();
        assert_eq!((m.producer_id, m.producer_epoch, m.previous_producer_id, m.timeout_ms), (9, 0, 5, 2000));
    }
}
