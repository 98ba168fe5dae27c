//! The async side of the transaction coordinator: one lock around the pure
//! state machine, `__transaction_state` writes (under the lock, so the log
//! holds transitions in the order they were made; a request is answered once
//! the topic's flush policy is met), the markers of decided transactions
//! (Kafka's `TransactionMarkerChannelManager`, here a task per transaction
//! writing straight into the local partition logs), the timer task for
//! timeouts and expiry, and the reload at startup ([`TxnService::load`]), which
//! completes every transaction a crash left in PrepareCommit or PrepareAbort.
//!
//! Markers: each partition of the transaction gets a COMMIT or ABORT control
//! batch of the producer (in `__consumer_offsets`, the group coordinator then
//! makes the transaction's offsets visible or drops them); partitions of
//! deleted topics are skipped, as Kafka does; a partition that cannot be
//! written is retried with backoff. Only then is CompleteCommit/CompleteAbort
//! written. Read_committed fetches waiting on the last stable offset are woken.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_transactions_response::TransactionState;
use kafka_protocol::messages::list_transactions_response;
use strom_storage::control::ControlRecordType;
use strom_storage::log::{AppendError, PartitionLog, TxnMarker};
use strom_storage::producer_state::{ProducerStateError, VerificationGuard};
use tokio::sync::Notify;

use super::coordinator::{Effects, ListFilter, MarkerJob, ProducerResult, TxnConfig, TxnCoordinator};
use super::metadata::{TopicPartition, Transit};
use super::records::{self, TRANSACTION_STATE_TOPIC};
use crate::broker::ProducerIds;
use crate::group::offsets_log::{self, Replayed};
use crate::group::records::OFFSETS_TOPIC;
use crate::group::service::GroupService;
use crate::metadata::MetadataStore;
use crate::partitions::Partitions;

/// Longest the timer task sleeps without a deadline, to pick up clock jumps.
const MAX_TIMER_SLEEP: Duration = Duration::from_secs(1);
/// Backoff between attempts at markers or a completion that failed.
const RETRY_BACKOFF_MIN: Duration = Duration::from_millis(50);
const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(5);

pub struct TxnService {
    state: Mutex<TxnCoordinator>,
    /// Wakes the timer task: a call may have moved the next deadline.
    deadlines_changed: Notify,
    metadata: Arc<MetadataStore>,
    partitions: Arc<Partitions>,
    groups: Arc<GroupService>,
    producer_ids: Arc<ProducerIds>,
    /// `transaction.state.log.num.partitions`, until the topic exists.
    num_partitions: i32,
    /// Testing only (`test_txn_marker_delay_ms`), in ms.
    marker_delay_ms: AtomicU64,
}

/// What [`TxnService::load`] found.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoadStats {
    pub records: u64,
    pub unreadable: u64,
    pub transactional_ids: usize,
    /// Transactions a crash left decided but not complete, now completing.
    pub completing: usize,
}

/// Writes to `__transaction_state` and allocates producer ids for the state machine.
struct LogEffects<'a> {
    service: &'a TxnService,
    now_ms: i64,
    /// Logs whose flush policy asks for an fsync before answering.
    flushes: Vec<(Arc<PartitionLog>, i64)>,
}

impl Effects for LogEffects<'_> {
    fn write(&mut self, transactional_id: &str, state: Option<&Transit>) -> Result<(), ResponseError> {
        let (log, epoch, partition) = self.service.state_log(transactional_id)?;
        let record = (records::key(transactional_id), state.map(records::value));
        let bytes = offsets_log::encode(&[record], self.now_ms).map_err(|error| {
            tracing::error!(%error, "cannot encode a {TRANSACTION_STATE_TOPIC} record");
            ResponseError::UnknownServerError
        })?;
        let appended = log.append_records(&bytes, epoch, self.now_ms);
        if appended.is_ok() {
            self.service.partitions.waiters().wake(TRANSACTION_STATE_TOPIC, partition);
        }
        match appended {
            Ok(info) => {
                if info.needs_flush {
                    self.flushes.push((log, info.last_offset + 1));
                }
                Ok(())
            }
            // Kafka's appendTransactionToLog answers MESSAGE_TOO_LARGE and the like this way.
            Err(AppendError::Invalid(error)) => {
                tracing::error!(transactional_id, %error, "cannot write transaction state");
                Err(ResponseError::UnknownServerError)
            }
            Err(AppendError::Producer(error)) => {
                tracing::error!(transactional_id, %error, "cannot write transaction state");
                Err(ResponseError::UnknownServerError)
            }
            Err(AppendError::Storage(error)) => {
                tracing::error!(transactional_id, %error, "cannot write transaction state");
                Err(ResponseError::NotCoordinator)
            }
        }
    }

    fn allocate_producer_id(&mut self) -> Result<i64, ResponseError> {
        self.service.producer_ids.next().map_err(|error| {
            tracing::error!(%error, "cannot allocate producer ids");
            ResponseError::KafkaStorageError
        })
    }
}

impl TxnService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: TxnConfig,
        num_partitions: i32,
        metadata: Arc<MetadataStore>,
        partitions: Arc<Partitions>,
        groups: Arc<GroupService>,
        producer_ids: Arc<ProducerIds>,
        marker_delay: Duration,
    ) -> Self {
        Self {
            state: Mutex::new(TxnCoordinator::new(config)),
            deadlines_changed: Notify::new(),
            metadata,
            partitions,
            groups,
            producer_ids,
            num_partitions,
            marker_delay_ms: AtomicU64::new(u64::try_from(marker_delay.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    /// Holds back the markers of transactions decided from now on, so a test
    /// can crash the broker between PrepareCommit/PrepareAbort and the markers.
    #[cfg(test)]
    pub fn delay_markers(&self, delay: Duration) {
        self.marker_delay_ms.store(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn lock(&self) -> MutexGuard<'_, TxnCoordinator> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ---- __transaction_state ----------------------------------------------

    /// The `__transaction_state` partition of a transactional id (FindCoordinator's key).
    pub fn partition_for(&self, transactional_id: &str) -> i32 {
        let partitions = self
            .metadata
            .image()
            .topic(TRANSACTION_STATE_TOPIC)
            .map_or(self.num_partitions, |t| i32::try_from(t.partitions.len()).unwrap_or(i32::MAX));
        records::partition_for(transactional_id, partitions)
    }

    /// Creates `__transaction_state` if it does not exist yet, as Kafka does on
    /// the first FindCoordinator for a transactional id.
    pub fn ensure_state_topic(&self) -> Result<(), ResponseError> {
        // Kafka's transactionTopicConfigs: compacted, 100 MiB segments.
        self.metadata.ensure_internal_topic(TRANSACTION_STATE_TOPIC, self.num_partitions, 104_857_600)
    }

    /// The log, leader epoch and partition number of a transactional id's partition.
    fn state_log(&self, transactional_id: &str) -> Result<(Arc<PartitionLog>, i32, i32), ResponseError> {
        self.ensure_state_topic()?;
        let partition = self.partition_for(transactional_id);
        let epoch = self.coordinator_epoch(transactional_id);
        let log = self.partitions.log(TRANSACTION_STATE_TOPIC, partition).ok_or_else(|| {
            tracing::error!("{TRANSACTION_STATE_TOPIC}-{partition} is not open");
            ResponseError::CoordinatorNotAvailable
        })?;
        Ok((log, epoch, partition))
    }

    /// Kafka's coordinator epoch: the leader epoch of the id's partition.
    fn coordinator_epoch(&self, transactional_id: &str) -> i32 {
        let partition = self.partition_for(transactional_id);
        self.metadata
            .image()
            .topic(TRANSACTION_STATE_TOPIC)
            .and_then(|t| t.partitions.get(usize::try_from(partition).unwrap_or(usize::MAX)))
            .map_or(0, |p| p.leader_epoch)
    }

    /// Replays `__transaction_state` into the state machine and starts
    /// completing what a crash left decided. Called once at startup, before
    /// clients are served (and after the groups are loaded, whose pending
    /// transactional offsets these completions end).
    pub fn load(self: &Arc<Self>) -> Result<LoadStats, String> {
        let mut stats = LoadStats::default();
        let image = self.metadata.image();
        let Some(topic) = image.topic(TRANSACTION_STATE_TOPIC) else { return Ok(stats) };
        let jobs = {
            let mut state = self.lock();
            for partition in &topic.partitions {
                let Some(log) = self.partitions.log(TRANSACTION_STATE_TOPIC, partition.partition) else { continue };
                let index = partition.partition;
                offsets_log::replay(&log, |replayed| {
                    let Replayed::Record { key, value, .. } = replayed else { return };
                    match records::decode(key, value) {
                        Ok(Some((id, transit))) => {
                            stats.records += 1;
                            state.load(id, transit);
                        }
                        Ok(None) => {}
                        Err(error) => {
                            stats.unreadable += 1;
                            tracing::warn!(partition = index, %error, "skipping a record of {TRANSACTION_STATE_TOPIC}");
                        }
                    }
                })
                .map_err(|e| format!("{TRANSACTION_STATE_TOPIC}-{index}: {e}"))?;
            }
            stats.transactional_ids = state.len();
            state.finish_load(crate::now_ms())
        };
        stats.completing = jobs.len();
        for job in &jobs {
            tracing::info!(transactional_id = %job.transactional_id, commit = job.commit, "completing a transaction decided before the restart");
        }
        self.start_markers(jobs);
        Ok(stats)
    }

    /// Runs a request's `f` on the state machine with effects that write the
    /// log, then wakes the timer task (the request may have moved the next
    /// deadline), starts any markers and waits for the flushes the writes need.
    async fn with_effects<T>(self: &Arc<Self>, f: impl FnOnce(&mut TxnCoordinator, &mut LogEffects<'_>) -> (T, Vec<MarkerJob>)) -> Result<T, ResponseError> {
        let (value, flushes) = self.run_locked(f);
        self.deadlines_changed.notify_one();
        flush_all(flushes).await?;
        Ok(value)
    }

    /// `f` under the lock; starts the markers it asks for. Returns the flushes to wait for.
    fn run_locked<T>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut TxnCoordinator, &mut LogEffects<'_>) -> (T, Vec<MarkerJob>),
    ) -> (T, Vec<(Arc<PartitionLog>, i64)>) {
        let (value, jobs, flushes) = {
            let mut state = self.lock();
            let mut fx = LogEffects { service: self, now_ms: crate::now_ms(), flushes: Vec::new() };
            let (value, jobs) = f(&mut state, &mut fx);
            (value, jobs, fx.flushes)
        };
        self.start_markers(jobs);
        (value, flushes)
    }

    // ---- Requests -----------------------------------------------------------

    /// InitProducerId with a transactional id.
    pub async fn init_producer_id(self: &Arc<Self>, transactional_id: &str, timeout_ms: i32, expected: Option<(i64, i16)>) -> ProducerResult {
        self.with_effects(|c, fx| {
            let now = fx.now_ms;
            c.init_producer_id(fx, transactional_id, timeout_ms, expected, now)
        })
        .await?
    }

    /// AddPartitionsToTxn (and AddOffsetsToTxn, with the group's `__consumer_offsets` partition).
    pub async fn add_partitions(
        self: &Arc<Self>,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &BTreeSet<TopicPartition>,
    ) -> Result<(), ResponseError> {
        self.with_effects(|c, fx| {
            let now = fx.now_ms;
            (c.add_partitions(fx, transactional_id, producer_id, producer_epoch, partitions, now), Vec::new())
        })
        .await?
    }

    /// KIP-890 verification: per partition, whether it is in the producer's transaction.
    pub fn verify_partitions(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
    ) -> Result<Vec<Result<(), ResponseError>>, ResponseError> {
        self.lock().verify_partitions(transactional_id, producer_id, producer_epoch, partitions)
    }

    /// KIP-890 before a transaction's write to `log` (partition `partition`):
    /// the guard to append with (`None`: the transaction is already open
    /// there), or why the write must fail, mapped as Kafka's
    /// `AddPartitionsToTxnManager` maps it for appends (PRODUCER_FENCED is
    /// INVALID_PRODUCER_EPOCH; TRANSACTION_ABORTABLE is INVALID_TXN_STATE
    /// unless the client's request version knows it, `abortable_known`).
    #[allow(clippy::too_many_arguments)]
    pub fn verify_write(
        &self,
        log: &PartitionLog,
        partition: TopicPartition,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        base_sequence: i32,
        abortable_known: bool,
    ) -> Result<Option<VerificationGuard>, ResponseError> {
        let Some(guard) = log.start_txn_verification(producer_id, base_sequence, producer_epoch, crate::now_ms()) else { return Ok(None) };
        let verified = self.verify_partitions(transactional_id, producer_id, producer_epoch, &[partition]);
        let error = match verified.map(|mut v| v.pop()) {
            Ok(Some(Ok(()))) => return Ok(Some(guard)),
            Ok(Some(Err(error))) | Err(error) => error,
            Ok(None) => ResponseError::UnknownServerError,
        };
        Err(match error {
            ResponseError::ProducerFenced => ResponseError::InvalidProducerEpoch,
            ResponseError::TransactionAbortable if !abortable_known => ResponseError::InvalidTxnState,
            other => other,
        })
    }

    /// EndTxn: answered once PrepareCommit/PrepareAbort is written.
    pub async fn end_txn(self: &Arc<Self>, transactional_id: &str, producer_id: i64, producer_epoch: i16, commit: bool) -> ProducerResult {
        self.with_effects(|c, fx| {
            let now = fx.now_ms;
            c.end_txn(fx, transactional_id, producer_id, producer_epoch, commit, now)
        })
        .await?
    }

    pub fn describe(&self, transactional_id: &str) -> TransactionState {
        self.lock().describe(transactional_id)
    }

    pub fn list(&self, filter: &ListFilter<'_>) -> (Vec<list_transactions_response::TransactionState>, Vec<String>) {
        self.lock().list(filter, crate::now_ms())
    }

    // ---- Timers -------------------------------------------------------------

    /// Aborts timed-out transactions and expires idle ids, forever.
    pub async fn run_timers(self: Arc<Self>) {
        loop {
            let wait = {
                let next = self.lock().next_deadline();
                let now = crate::now_ms();
                next.map_or(MAX_TIMER_SLEEP, |at| Duration::from_millis(u64::try_from(at.saturating_sub(now)).unwrap_or(0)))
                    .min(MAX_TIMER_SLEEP)
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.deadlines_changed.notified() => {}
            }
            // Not `with_effects`: waking itself would make this loop spin.
            let ((), flushes) = self.run_locked(|c, fx| {
                let now = fx.now_ms;
                ((), c.tick(fx, now))
            });
            if let Err(error) = flush_all(flushes).await {
                tracing::warn!(?error, "flushing transaction state after a timeout failed");
            }
        }
    }

    // ---- Markers ------------------------------------------------------------

    fn start_markers(self: &Arc<Self>, jobs: Vec<MarkerJob>) {
        for job in jobs {
            tokio::spawn(Arc::clone(self).complete_transaction(job));
        }
    }

    /// Writes the markers of a decided transaction, then its completion,
    /// retrying whatever fails until it succeeds.
    async fn complete_transaction(self: Arc<Self>, job: MarkerJob) {
        let delay_ms = self.marker_delay_ms.load(Ordering::Relaxed);
        if delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        let job = Arc::new(job);
        let mut remaining = job.partitions.clone();
        let mut backoff = RETRY_BACKOFF_MIN;
        while !remaining.is_empty() {
            let (service, writing, todo) = (Arc::clone(&self), Arc::clone(&job), remaining.clone());
            remaining = tokio::task::spawn_blocking(move || service.write_markers(&writing, &todo)).await.unwrap_or(remaining);
            if !remaining.is_empty() {
                tracing::warn!(transactional_id = %job.transactional_id, partitions = remaining.len(), "retrying transaction markers");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(RETRY_BACKOFF_MAX);
            }
        }
        loop {
            let (written, flushes) = self.run_locked(|c, fx| (c.markers_written(fx, &job), Vec::new()));
            match written.and(flush_all(flushes).await) {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(transactional_id = %job.transactional_id, ?error, "cannot complete a transaction; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(RETRY_BACKOFF_MAX);
                }
            }
        }
    }

    /// Writes `job`'s marker to each of `partitions`; returns those to retry.
    fn write_markers(&self, job: &MarkerJob, partitions: &BTreeSet<TopicPartition>) -> BTreeSet<TopicPartition> {
        let image = self.metadata.image();
        let coordinator_epoch = self.coordinator_epoch(&job.transactional_id);
        let control_type = if job.commit { ControlRecordType::Commit } else { ControlRecordType::Abort };
        let marker = TxnMarker { producer_id: job.producer_id, producer_epoch: job.producer_epoch, coordinator_epoch, control_type };
        let mut retry = BTreeSet::new();
        for (topic, index) in partitions {
            let partition = image.topic(topic).and_then(|t| t.partitions.get(usize::try_from(*index).unwrap_or(usize::MAX)));
            let Some(partition) = partition else {
                tracing::info!(transactional_id = %job.transactional_id, topic, partition = index, "no marker for a deleted partition");
                continue;
            };
            let Some(log) = self.partitions.log(topic, *index) else {
                retry.insert((topic.clone(), *index));
                continue;
            };
            let now = crate::now_ms();
            let written = log.write_txn_marker(marker, partition.leader_epoch, now);
            // A marker moves the last stable offset (read_committed fetches
            // wait on it) and the log end offset.
            self.partitions.waiters().wake(topic, *index);
            match written {
                Ok(info) => {
                    if info.needs_flush {
                        if let Err(error) = log.flush_until(info.last_offset + 1) {
                            tracing::error!(topic, partition = index, %error, "cannot flush a transaction marker");
                            // Written again on retry: a second marker for a transaction that
                            // ended completes nothing, as in Kafka.
                            retry.insert((topic.clone(), *index));
                            continue;
                        }
                    }
                    if topic == OFFSETS_TOPIC {
                        self.groups.complete_txn(job.producer_id, *index, job.commit);
                    }
                }
                Err(AppendError::Producer(error @ (ProducerStateError::InvalidProducerEpoch { .. } | ProducerStateError::CoordinatorFenced { .. }))) => {
                    // A newer epoch or coordinator already ended this producer's transaction here.
                    tracing::warn!(topic, partition = index, %error, "transaction marker refused; skipping the partition");
                }
                Err(error) => {
                    tracing::error!(topic, partition = index, %error, "cannot write a transaction marker");
                    retry.insert((topic.clone(), *index));
                }
            }
        }
        retry
    }
}

/// fsyncs logs off the async threads; any failure answers NOT_COORDINATOR, as
/// Kafka answers a storage error on the transaction log.
async fn flush_all(flushes: Vec<(Arc<PartitionLog>, i64)>) -> Result<(), ResponseError> {
    for (log, offset) in flushes {
        match tokio::task::spawn_blocking(move || log.flush_until(offset)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot flush {TRANSACTION_STATE_TOPIC}");
                return Err(ResponseError::NotCoordinator);
            }
            Err(_) => return Err(ResponseError::NotCoordinator),
        }
    }
    Ok(())
}
