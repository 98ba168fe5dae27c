//! The transaction coordinator as a pure state machine, after Kafka's
//! `TransactionCoordinator` and the in-memory half of `TransactionStateManager`
//! (transaction protocol v1, KIP-98, with KIP-360 epoch bumps and KIP-588
//! PRODUCER_FENCED): InitProducerId for transactional ids (fencing older epochs,
//! aborting an open transaction of the previous epoch, epoch bump, producer id
//! rollover at an exhausted epoch), AddPartitionsToTxn and AddOffsetsToTxn,
//! EndTxn, KIP-890's partition verification, `transaction.timeout.ms` expiry,
//! `transactional.id.expiration.ms`, DescribeTransactions and ListTransactions.
//!
//! No clock and no I/O of its own: time comes in as `now_ms`; writes to
//! `__transaction_state` and producer id allocation go through [`Effects`]
//! (synchronously: a transition is applied only once its record is written, as
//! Kafka applies it once replicated); the markers a decided transaction needs
//! go out as [`MarkerJob`]s, whose completion comes back through
//! [`TxnCoordinator::markers_written`].
//!
//! Simplifications against Kafka:
//! - One node owns every partition of `__transaction_state`, so there is no
//!   loading state per partition, no NOT_COORDINATOR and no coordinator epoch
//!   bookkeeping here (markers carry the partition's leader epoch).
//! - Timed-out transactions are aborted at their deadline, not by a scan every
//!   `transaction.abort.timed.out.transaction.cleanup.interval.ms`.
//! - EndTxn v5 is handled as v4: clients send v5 only with `transaction.version`
//!   2, which Strom does not advertise.

use std::collections::{BTreeSet, HashMap, HashSet};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::list_transactions_response;
use kafka_protocol::messages::{ProducerId, TopicName, TransactionalId};
use kafka_protocol::protocol::StrBytes;

use super::metadata::{is_epoch_exhausted, IllegalTransition, TopicPartition, Transit, TxnMetadata, TxnState, NO_PRODUCER_EPOCH};
use crate::group::timer::Timer;

/// What the coordinator needs done outside itself.
pub trait Effects {
    /// Appends `state` of `transactional_id` (None: a tombstone) to its
    /// partition of `__transaction_state`; the error is already the one to
    /// answer (Kafka's mapping of append errors to coordinator errors).
    fn write(&mut self, transactional_id: &str, state: Option<&Transit>) -> Result<(), ResponseError>;
    /// A producer id never handed out before.
    fn allocate_producer_id(&mut self) -> Result<i64, ResponseError>;
}

/// Kafka's transaction coordinator settings.
#[derive(Debug, Clone)]
pub struct TxnConfig {
    /// `transaction.max.timeout.ms`
    pub max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`
    pub transactional_id_expiration_ms: i64,
    /// `transaction.remove.expired.transaction.cleanup.interval.ms`
    pub expiration_check_interval_ms: i64,
}

impl Default for TxnConfig {
    fn default() -> Self {
        Self { max_timeout_ms: 900_000, transactional_id_expiration_ms: 7 * 24 * 3600 * 1000, expiration_check_interval_ms: 3_600_000 }
    }
}

/// A decided transaction whose COMMIT or ABORT markers must be written to each
/// of its partitions, after which `complete` is written
/// ([`TxnCoordinator::markers_written`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerJob {
    pub transactional_id: String,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
    pub partitions: BTreeSet<TopicPartition>,
    /// The CompleteCommit / CompleteAbort transition, pending until written.
    pub complete: Transit,
}

/// InitProducerId's and EndTxn's answer: (producer id, epoch) or an error.
pub type ProducerResult = Result<(i64, i16), ResponseError>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum TimerKey {
    /// The transaction of this id times out.
    Timeout(String),
    /// Look for expired transactional ids.
    ExpireIds,
}

pub struct TxnCoordinator {
    config: TxnConfig,
    txns: HashMap<String, TxnMetadata>,
    timer: Timer<TimerKey, ()>,
}

fn illegal(error: &IllegalTransition) -> ResponseError {
    tracing::error!(%error, "illegal transaction state transition");
    ResponseError::UnknownServerError
}

impl TxnCoordinator {
    pub fn new(config: TxnConfig) -> Self {
        Self { config, txns: HashMap::new(), timer: Timer::new() }
    }

    #[cfg(test)]
    pub fn get(&self, transactional_id: &str) -> Option<&TxnMetadata> {
        self.txns.get(transactional_id)
    }

    pub fn len(&self) -> usize {
        self.txns.len()
    }

    /// Kafka's `validateTransactionTimeoutMs`.
    fn valid_timeout(&self, timeout_ms: i32) -> bool {
        timeout_ms > 0 && timeout_ms <= self.config.max_timeout_ms
    }

    // ---- InitProducerId ---------------------------------------------------

    /// InitProducerId with a transactional id (`expected`: the producer id and
    /// epoch a v3+ client resumes with, KIP-360). An open transaction of the
    /// current epoch is aborted first (its producer fenced) and the answer is
    /// CONCURRENT_TRANSACTIONS, so the client retries once the abort completed.
    pub fn init_producer_id(
        &mut self,
        fx: &mut dyn Effects,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        now_ms: i64,
    ) -> (ProducerResult, Vec<MarkerJob>) {
        if transactional_id.is_empty() {
            return (Err(ResponseError::InvalidRequest), Vec::new());
        }
        if !self.valid_timeout(timeout_ms) {
            return (Err(ResponseError::InvalidTransactionTimeout), Vec::new());
        }
        if !self.txns.contains_key(transactional_id) {
            let producer_id = match fx.allocate_producer_id() {
                Ok(id) => id,
                Err(error) => return (Err(error), Vec::new()),
            };
            // Cached before it is written, as in Kafka: a failed write leaves an Empty id with no epoch.
            self.txns.insert(transactional_id.to_string(), TxnMetadata::new(transactional_id, producer_id, timeout_ms, now_ms));
        }
        let Some(txn) = self.txns.get_mut(transactional_id) else { return (Err(ResponseError::UnknownServerError), Vec::new()) };
        match prepare_init(txn, fx, timeout_ms, expected, now_ms) {
            Err(error) => (Err(error), Vec::new()),
            Ok(Init::Fence { producer_id, producer_epoch }) => {
                // Abort the open transaction with the bumped epoch; the client retries.
                let (result, jobs) = self.end_transaction(fx, transactional_id, producer_id, producer_epoch, false, false, now_ms);
                (result.and(Err(ResponseError::ConcurrentTransactions)), jobs)
            }
            Ok(Init::Write(transit)) => {
                let result = write_and_complete(txn, fx, &transit).map(|()| (transit.producer_id, transit.producer_epoch));
                match &result {
                    Ok((id, epoch)) => tracing::info!(transactional_id, producer_id = id, epoch, "initialized transactional id"),
                    Err(error) => tracing::info!(transactional_id, ?error, "InitProducerId failed"),
                }
                (result, Vec::new())
            }
        }
    }

    // ---- AddPartitionsToTxn / AddOffsetsToTxn -----------------------------

    /// Adds partitions to the producer's transaction (beginning it).
    pub fn add_partitions(
        &mut self,
        fx: &mut dyn Effects,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &BTreeSet<TopicPartition>,
        now_ms: i64,
    ) -> Result<(), ResponseError> {
        if transactional_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        let txn = self.txns.get_mut(transactional_id).ok_or(ResponseError::InvalidProducerIdMapping)?;
        if txn.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if txn.producer_epoch != producer_epoch {
            return Err(ResponseError::ProducerFenced);
        }
        if txn.pending.is_some() || matches!(txn.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
            return Err(ResponseError::ConcurrentTransactions);
        }
        if txn.state == TxnState::Ongoing && partitions.is_subset(&txn.partitions) {
            return Ok(());
        }
        let transit = txn.prepare_add_partitions(partitions, now_ms).map_err(|e| illegal(&e))?;
        write_and_complete(txn, fx, &transit)?;
        let deadline = txn.start_timestamp_ms.saturating_add(i64::from(txn.timeout_ms));
        self.timer.schedule(TimerKey::Timeout(transactional_id.to_string()), deadline, ());
        Ok(())
    }

    /// KIP-890's check before a transaction's first write to a partition
    /// (AddPartitionsToTxn v4+ `verify_only`, and the broker's own produce
    /// path): per partition, Ok if it is in the producer's transaction, else
    /// TRANSACTION_ABORTABLE; or one error for them all.
    pub fn verify_partitions(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
    ) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
        if transactional_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        let txn = self.txns.get(transactional_id).ok_or(ResponseError::InvalidProducerIdMapping)?;
        if txn.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if txn.producer_epoch != producer_epoch {
            return Err(ResponseError::ProducerFenced);
        }
        if matches!(txn.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
            return Err(ResponseError::ConcurrentTransactions);
        }
        Ok(partitions.iter().map(|p| if txn.partitions.contains(p) { Ok(()) } else { Err(ResponseError::TransactionAbortable) }).collect())
    }

    // ---- EndTxn -------------------------------------------------------------

    /// EndTxn from a client: writes PrepareCommit or PrepareAbort and answers
    /// once it is in the log; the markers follow as a [`MarkerJob`]. A retry
    /// of a completed EndTxn is answered without error.
    pub fn end_txn(
        &mut self,
        fx: &mut dyn Effects,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        now_ms: i64,
    ) -> (ProducerResult, Vec<MarkerJob>) {
        self.end_transaction(fx, transactional_id, producer_id, producer_epoch, commit, true, now_ms)
    }

    /// Kafka's `endTransaction`; `from_client` is false for the coordinator's
    /// own aborts (fencing, timeouts), which carry the bumped epoch.
    #[allow(clippy::too_many_arguments)]
    fn end_transaction(
        &mut self,
        fx: &mut dyn Effects,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        from_client: bool,
        now_ms: i64,
    ) -> (ProducerResult, Vec<MarkerJob>) {
        if transactional_id.is_empty() {
            return (Err(ResponseError::InvalidRequest), Vec::new());
        }
        let Some(txn) = self.txns.get_mut(transactional_id) else {
            return (Err(ResponseError::InvalidProducerIdMapping), Vec::new());
        };
        let transit = match prepare_end(txn, producer_id, producer_epoch, commit, from_client, now_ms) {
            Err(error) => return (Err(error), Vec::new()),
            Ok(End::Done) => return (Ok((txn.producer_id, txn.producer_epoch)), Vec::new()),
            Ok(End::Write { transit, epoch_fence }) => {
                if let Err(error) = write_and_complete(txn, fx, &transit) {
                    if epoch_fence {
                        // The bumped epoch may or may not be in the log: never bump past it again.
                        txn.has_failed_epoch_fence = true;
                        tracing::warn!(transactional_id, ?error, epoch = transit.producer_epoch, "cannot write an epoch fence");
                    }
                    return (Err(error), Vec::new());
                }
                transit
            }
        };
        self.timer.cancel(&TimerKey::Timeout(transactional_id.to_string()));
        // Decided: from here on it completes, across restarts too.
        let complete = match txn.prepare_complete(now_ms) {
            Ok(complete) => complete,
            Err(error) => return (Err(illegal(&error)), Vec::new()),
        };
        tracing::debug!(transactional_id, producer_id, state = transit.state.name(), "transaction decided");
        let job = MarkerJob {
            transactional_id: transactional_id.to_string(),
            producer_id: txn.producer_id,
            producer_epoch: txn.producer_epoch,
            commit: transit.state == TxnState::PrepareCommit,
            partitions: transit.partitions.clone(),
            complete,
        };
        (Ok((txn.producer_id, txn.producer_epoch)), vec![job])
    }

    /// Every marker of `job` is written: writes CompleteCommit / CompleteAbort.
    /// An error leaves the completion pending, to be retried with the same job.
    pub fn markers_written(&mut self, fx: &mut dyn Effects, job: &MarkerJob) -> Result<(), ResponseError> {
        let Some(txn) = self.txns.get_mut(&job.transactional_id) else { return Ok(()) };
        if txn.pending != Some(job.complete.state) || txn.producer_id != job.producer_id || txn.producer_epoch != job.producer_epoch {
            tracing::warn!(transactional_id = %job.transactional_id, "transaction changed while its markers were written; not completing it");
            return Ok(());
        }
        fx.write(&job.transactional_id, Some(&job.complete))?;
        txn.complete(&job.complete).map_err(|e| illegal(&e))?;
        tracing::debug!(transactional_id = %job.transactional_id, state = job.complete.state.name(), "transaction complete");
        Ok(())
    }

    // ---- Timers -------------------------------------------------------------

    /// Aborts transactions past their timeout and expires idle transactional
    /// ids. Returns the markers the aborts need.
    pub fn tick(&mut self, fx: &mut dyn Effects, now_ms: i64) -> Vec<MarkerJob> {
        if !self.timer.contains(&TimerKey::ExpireIds) {
            let at = now_ms.saturating_add(self.config.expiration_check_interval_ms);
            self.timer.schedule(TimerKey::ExpireIds, at, ());
        }
        let mut jobs = Vec::new();
        while let Some((key, ())) = self.timer.pop_due(now_ms) {
            match key {
                TimerKey::Timeout(id) => jobs.extend(self.abort_if_timed_out(fx, &id, now_ms)),
                TimerKey::ExpireIds => {
                    self.expire_transactional_ids(fx, now_ms);
                    let at = now_ms.saturating_add(self.config.expiration_check_interval_ms);
                    self.timer.schedule(TimerKey::ExpireIds, at, ());
                }
            }
        }
        jobs
    }

    pub fn next_deadline(&self) -> Option<i64> {
        self.timer.next_deadline()
    }

    /// Kafka's `abortTimedOutTransactions` for one id: fence its producer and abort.
    fn abort_if_timed_out(&mut self, fx: &mut dyn Effects, transactional_id: &str, now_ms: i64) -> Vec<MarkerJob> {
        let Some(txn) = self.txns.get_mut(transactional_id) else { return Vec::new() };
        let deadline = txn.start_timestamp_ms.saturating_add(i64::from(txn.timeout_ms));
        if txn.state != TxnState::Ongoing || txn.pending.is_some() || deadline > now_ms {
            return Vec::new();
        }
        let fence = match txn.prepare_fence_producer_epoch() {
            Ok(fence) => fence,
            Err(error) => {
                illegal(&error);
                return Vec::new();
            }
        };
        tracing::info!(transactional_id, producer_id = txn.producer_id, timeout_ms = txn.timeout_ms, "aborting a timed-out transaction");
        let (result, jobs) = self.end_transaction(fx, transactional_id, fence.producer_id, fence.producer_epoch, false, false, now_ms);
        if let Err(error) = result {
            tracing::warn!(transactional_id, ?error, "cannot abort a timed-out transaction; retrying");
            if let Some(txn) = self.txns.get(transactional_id) {
                let retry = now_ms.saturating_add(i64::from(txn.timeout_ms).min(1000));
                self.timer.schedule(TimerKey::Timeout(transactional_id.to_string()), retry, ());
            }
        }
        jobs
    }

    /// Kafka's `removeExpiredTransactionalIds`: ids idle in Empty or Complete*
    /// for `transactional.id.expiration.ms` are tombstoned and forgotten.
    fn expire_transactional_ids(&mut self, fx: &mut dyn Effects, now_ms: i64) {
        let cutoff = now_ms.saturating_sub(self.config.transactional_id_expiration_ms);
        let expired: Vec<String> = self
            .txns
            .values()
            .filter(|t| t.pending.is_none() && t.state.expiration_allowed() && t.last_update_timestamp_ms <= cutoff)
            .map(|t| t.transactional_id.clone())
            .collect();
        for id in expired {
            let Some(txn) = self.txns.get_mut(&id) else { continue };
            if let Err(error) = txn.prepare_dead() {
                illegal(&error);
                continue;
            }
            match fx.write(&id, None) {
                Ok(()) => {
                    tracing::info!(transactional_id = %id, "transactional id expired");
                    self.txns.remove(&id);
                }
                Err(error) => {
                    tracing::warn!(transactional_id = %id, ?error, "cannot expire a transactional id");
                    txn.pending = None;
                }
            }
        }
    }

    // ---- Loading ------------------------------------------------------------

    /// Replays one record of `__transaction_state` (None: a tombstone).
    pub fn load(&mut self, transactional_id: String, state: Option<Transit>) {
        match state {
            Some(stored) => {
                let txn = TxnMetadata::from_stored(&transactional_id, stored);
                self.txns.insert(transactional_id, txn);
            }
            None => {
                self.txns.remove(&transactional_id);
            }
        }
    }

    /// After the replay (Kafka's `loadTransactionsForTxnTopicPartition`):
    /// decided transactions complete (their markers are written again), open
    /// ones get their timeout back.
    pub fn finish_load(&mut self, now_ms: i64) -> Vec<MarkerJob> {
        let mut jobs = Vec::new();
        for txn in self.txns.values_mut() {
            match txn.state {
                TxnState::PrepareCommit | TxnState::PrepareAbort => match txn.prepare_complete(now_ms) {
                    Ok(complete) => jobs.push(MarkerJob {
                        transactional_id: txn.transactional_id.clone(),
                        producer_id: txn.producer_id,
                        producer_epoch: txn.producer_epoch,
                        commit: txn.state == TxnState::PrepareCommit,
                        partitions: txn.partitions.clone(),
                        complete,
                    }),
                    Err(error) => {
                        illegal(&error);
                    }
                },
                TxnState::Ongoing => {
                    let deadline = txn.start_timestamp_ms.saturating_add(i64::from(txn.timeout_ms));
                    self.timer.schedule(TimerKey::Timeout(txn.transactional_id.clone()), deadline, ());
                }
                _ => {}
            }
        }
        jobs.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        jobs
    }

    // ---- Admin --------------------------------------------------------------

    /// DescribeTransactions for one id.
    pub fn describe(&self, transactional_id: &str) -> TransactionState {
        let described = TransactionState::default().with_transactional_id(TransactionalId(StrBytes::from_string(transactional_id.to_string())));
        if transactional_id.is_empty() {
            return described.with_error_code(ResponseError::InvalidRequest.code());
        }
        let Some(txn) = self.txns.get(transactional_id).filter(|t| t.state != TxnState::Dead) else {
            return described.with_error_code(ResponseError::TransactionalIdNotFound.code());
        };
        let mut topics: Vec<TopicData> = Vec::new();
        for (topic, partition) in &txn.partitions {
            match topics.last_mut() {
                Some(last) if last.topic.0.as_str() == topic => last.partitions.push(*partition),
                _ => topics.push(TopicData::default().with_topic(TopicName(StrBytes::from_string(topic.clone()))).with_partitions(vec![*partition])),
            }
        }
        described
            .with_producer_id(ProducerId(txn.producer_id))
            .with_producer_epoch(txn.producer_epoch)
            .with_transaction_state(StrBytes::from_static_str(txn.state.name()))
            .with_transaction_timeout_ms(txn.timeout_ms)
            .with_transaction_start_time_ms(txn.start_timestamp_ms)
            .with_topics(topics)
    }

    /// ListTransactions (Kafka's `listTransactionStates`): ids matching every
    /// given filter, sorted by id; unknown state names are returned apart.
    pub fn list(&self, filter: &ListFilter<'_>, now_ms: i64) -> (Vec<list_transactions_response::TransactionState>, Vec<String>) {
        let mut states = HashSet::new();
        let mut unknown = Vec::new();
        for name in filter.states {
            match TxnState::from_name(name) {
                Some(state) => {
                    states.insert(state);
                }
                None => unknown.push(name.clone()),
            }
        }
        let mut listed: Vec<&TxnMetadata> = self
            .txns
            .values()
            .filter(|t| t.state != TxnState::Dead)
            .filter(|t| filter.producer_ids.is_empty() || filter.producer_ids.contains(&t.producer_id))
            .filter(|t| filter.states.is_empty() || states.contains(&t.state))
            .filter(|t| filter.min_duration_ms < 0 || now_ms.saturating_sub(t.start_timestamp_ms) > filter.min_duration_ms)
            .filter(|t| filter.transactional_id.is_none_or(|matches| matches(&t.transactional_id)))
            .collect();
        listed.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        let listed = listed
            .into_iter()
            .map(|t| {
                list_transactions_response::TransactionState::default()
                    .with_transactional_id(TransactionalId(StrBytes::from_string(t.transactional_id.clone())))
                    .with_producer_id(ProducerId(t.producer_id))
                    .with_transaction_state(StrBytes::from_static_str(t.state.name()))
            })
            .collect();
        (listed, unknown)
    }
}

/// ListTransactions' filters; empty lists and a negative duration match all.
pub struct ListFilter<'a> {
    pub states: &'a [String],
    pub producer_ids: &'a [i64],
    /// Only transactions running longer than this (v1+); -1: any.
    pub min_duration_ms: i64,
    /// Only ids this accepts (v2+ `transactional_id_pattern`).
    pub transactional_id: Option<&'a dyn Fn(&str) -> bool>,
}

/// What InitProducerId does next.
enum Init {
    /// Write this Empty transition and answer with its id and epoch.
    Write(Transit),
    /// Abort the open transaction with this (bumped) epoch first.
    Fence { producer_id: i64, producer_epoch: i16 },
}

/// Kafka's `prepareInitProducerIdTransit`.
fn prepare_init(
    txn: &mut TxnMetadata,
    fx: &mut dyn Effects,
    timeout_ms: i32,
    expected: Option<(i64, i16)>,
    now_ms: i64,
) -> Result<Init, ResponseError> {
    // Fence unless the metadata is new (a client recovering from UNKNOWN_PRODUCER_ID),
    // the producer id is the current one (its epoch is checked below), or it is the
    // previous one at an exhausted epoch (a retry after a rotation whose answer was lost).
    let valid = |(id, epoch): (i64, i16)| {
        txn.producer_epoch == NO_PRODUCER_EPOCH || id == txn.producer_id || (id == txn.previous_producer_id && is_epoch_exhausted(epoch))
    };
    if txn.pending.is_some() {
        return Err(ResponseError::ConcurrentTransactions);
    }
    if !expected.is_none_or(valid) {
        return Err(ResponseError::ProducerFenced);
    }
    match txn.state {
        TxnState::PrepareAbort | TxnState::PrepareCommit => Err(ResponseError::ConcurrentTransactions),
        TxnState::CompleteAbort | TxnState::CompleteCommit | TxnState::Empty => {
            let transit = if txn.is_epoch_exhausted() && expected.is_none_or(|(_, epoch)| epoch == txn.producer_epoch) {
                let new_id = fx.allocate_producer_id()?;
                txn.prepare_producer_id_rotation(new_id, timeout_ms, now_ms, expected.is_some()).map_err(|e| illegal(&e))?
            } else {
                txn.prepare_increment_producer_epoch(timeout_ms, expected.map(|(_, epoch)| epoch), now_ms)
                    .map_err(|e| illegal(&e))?
                    .ok_or(ResponseError::ProducerFenced)?
            };
            Ok(Init::Write(transit))
        }
        TxnState::Ongoing => {
            // The bumped epoch is never returned: the client retries and bumps again
            // (rotating the producer id if this exhausted the epochs).
            let fence = txn.prepare_fence_producer_epoch().map_err(|e| illegal(&e))?;
            Ok(Init::Fence { producer_id: fence.producer_id, producer_epoch: fence.producer_epoch })
        }
        TxnState::Dead | TxnState::PrepareEpochFence => {
            Err(illegal(&IllegalTransition { transactional_id: txn.transactional_id.clone(), reason: format!("found in state {}", txn.state.name()) }))
        }
    }
}

/// What EndTxn does next.
enum End {
    /// Nothing to write: a retry of an EndTxn that completed.
    Done,
    Write { transit: Transit, epoch_fence: bool },
}

/// The checks and transition of Kafka's `endTransaction` (protocol v1).
fn prepare_end(txn: &mut TxnMetadata, producer_id: i64, producer_epoch: i16, commit: bool, from_client: bool, now_ms: i64) -> Result<End, ResponseError> {
    // Clients must send the current epoch; the coordinator's own aborts carry a newer one.
    let valid_epoch = (!from_client || producer_epoch == txn.producer_epoch) && producer_epoch >= txn.producer_epoch;
    if txn.producer_id != producer_id {
        return Err(ResponseError::InvalidProducerIdMapping);
    }
    if !valid_epoch {
        return Err(ResponseError::ProducerFenced);
    }
    let fencing = txn.pending == Some(TxnState::PrepareEpochFence);
    if txn.pending.is_some() && !fencing {
        return Err(ResponseError::ConcurrentTransactions);
    }
    let invalid = |txn: &TxnMetadata| {
        tracing::debug!(transactional_id = %txn.transactional_id, state = txn.state.name(), commit, "EndTxn in the wrong state");
        Err(ResponseError::InvalidTxnState)
    };
    match (txn.state, commit) {
        (TxnState::Ongoing, _) => {
            let next = if commit { TxnState::PrepareCommit } else { TxnState::PrepareAbort };
            let epoch_fence = next == TxnState::PrepareAbort && fencing;
            if epoch_fence {
                // The fence's epoch goes into the PrepareAbort record and its markers.
                txn.pending = None;
                txn.producer_epoch = producer_epoch;
                txn.last_producer_epoch = NO_PRODUCER_EPOCH;
            }
            let transit = txn.prepare_abort_or_commit(next, now_ms).map_err(|e| illegal(&e))?;
            Ok(End::Write { transit, epoch_fence })
        }
        (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(End::Done),
        (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => Err(ResponseError::ConcurrentTransactions),
        (TxnState::CompleteCommit | TxnState::CompleteAbort | TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::Empty, _) => invalid(txn),
        (TxnState::Dead | TxnState::PrepareEpochFence, _) => {
            Err(illegal(&IllegalTransition { transactional_id: txn.transactional_id.clone(), reason: format!("found in state {}", txn.state.name()) }))
        }
    }
}

/// Writes a prepared transition and applies it; a failed write clears it.
fn write_and_complete(txn: &mut TxnMetadata, fx: &mut dyn Effects, transit: &Transit) -> Result<(), ResponseError> {
    if let Err(error) = fx.write(&txn.transactional_id, Some(transit)) {
        txn.pending = None;
        return Err(error);
    }
    txn.complete(transit).map_err(|e| illegal(&e))
}

#[cfg(test)]
#[path = "coordinator_tests.rs"]
mod tests;
