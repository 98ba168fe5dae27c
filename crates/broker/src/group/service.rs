//! The async side of the group coordinator: one lock around the pure state
//! machine, a timer task that fires its deadlines, oneshot channels for the
//! JoinGroup/SyncGroup answers it defers, and the `__consumer_offsets` topic
//! that makes offsets and group metadata durable.
//!
//! Writes to `__consumer_offsets` happen under the coordinator lock, so the
//! log holds changes in the order the state machine made them; a commit is
//! applied in memory only after its records are in the log, and answered
//! after the topic's flush policy is met. At startup [`GroupService::load`]
//! replays the topic into the state machine before any client is served.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::*;
use strom_storage::log::{AppendError, PartitionLog};
use strom_storage::producer_state::{AppendOrigin, VerificationGuard};
use tokio::sync::{oneshot, Notify};

use super::coordinator::{GroupConfig, GroupCoordinator, Output, Token};
use super::offsets_log::{self, Replayed};
use super::records::{self, OffsetsRecord, OFFSETS_TOPIC};
use super::snapshot::CommittedOffset;
use crate::metadata::MetadataStore;
use crate::partitions::Partitions;

/// Longest the timer task sleeps without a deadline, to pick up clock jumps.
const MAX_TIMER_SLEEP: Duration = Duration::from_secs(1);

/// What a handler waits for.
enum Waiter {
    Join(oneshot::Sender<JoinGroupResponse>),
    Sync(oneshot::Sender<SyncGroupResponse>),
}

struct State {
    coordinator: GroupCoordinator,
    waiters: HashMap<Token, Waiter>,
}

pub struct GroupService {
    state: Mutex<State>,
    next_token: AtomicU64,
    /// Wakes the timer task: a call may have moved the next deadline.
    deadlines_changed: Notify,
    metadata: Arc<MetadataStore>,
    partitions: Arc<Partitions>,
    offsets_partitions: i32,
    /// `segment.bytes` of `__consumer_offsets` when it is created.
    offsets_segment_bytes: i64,
}

/// Why offsets could not be stored.
#[derive(Debug)]
pub struct StoreError {
    pub error: ResponseError,
    pub message: String,
}

impl GroupService {
    pub fn new(
        config: GroupConfig,
        (offsets_partitions, offsets_segment_bytes): (i32, i64),
        metadata: Arc<MetadataStore>,
        partitions: Arc<Partitions>,
    ) -> Self {
        Self {
            state: Mutex::new(State { coordinator: GroupCoordinator::new(config), waiters: HashMap::new() }),
            next_token: AtomicU64::new(1),
            deadlines_changed: Notify::new(),
            metadata,
            partitions,
            offsets_partitions,
            offsets_segment_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `__consumer_offsets` partition of a group (FindCoordinator's key).
    pub fn partition_for(&self, group_id: &str) -> i32 {
        let partitions = self
            .metadata
            .image()
            .topic(OFFSETS_TOPIC)
            .map_or(self.offsets_partitions, |t| i32::try_from(t.partitions.len()).unwrap_or(i32::MAX));
        records::partition_for(group_id, partitions)
    }

    /// Creates `__consumer_offsets` if it does not exist yet, as Kafka does on
    /// the first FindCoordinator for a group.
    pub fn ensure_offsets_topic(&self) -> Result<(), ResponseError> {
        // As Kafka creates it: compacted, offsets.topic.segment.bytes segments.
        self.metadata.ensure_internal_topic(OFFSETS_TOPIC, self.offsets_partitions, self.offsets_segment_bytes)
    }

    /// Replays `__consumer_offsets` into the state machine. Called once at
    /// startup, before clients are served.
    pub fn load(&self) -> Result<LoadStats, String> {
        let mut stats = LoadStats::default();
        let image = self.metadata.image();
        let Some(topic) = image.topic(OFFSETS_TOPIC) else { return Ok(stats) };
        let now = crate::now_ms();
        let mut state = self.lock();
        let count = i32::try_from(topic.partitions.len()).unwrap_or(i32::MAX);
        for partition in &topic.partitions {
            let Some(log) = self.partitions.log(OFFSETS_TOPIC, partition.partition) else { continue };
            let index = partition.partition;
            offsets_log::replay(&log, |replayed| match replayed {
                Replayed::Record { key, value, producer_id, .. } => match records::decode(key, value) {
                    Ok(Some(record)) => {
                        stats.records += 1;
                        apply_loaded(&mut state.coordinator, record, producer_id, now);
                    }
                    Ok(None) => {}
                    Err(error) => {
                        stats.unreadable += 1;
                        tracing::warn!(partition = index, %error, "skipping a record of {OFFSETS_TOPIC}");
                    }
                },
                Replayed::Marker { producer_id, commit } => {
                    let in_partition = |group: &str| records::partition_for(group, count) == index;
                    state.coordinator.complete_txn_offsets(producer_id, commit, &in_partition, now);
                }
            })
            .map_err(|e| format!("{OFFSETS_TOPIC}-{}: {e}", partition.partition))?;
        }
        stats.groups = state.coordinator.group_count();
        Ok(stats)
    }

    /// Fires the state machine's timers until `shutdown` resolves.
    pub async fn run_timers(self: Arc<Self>) {
        loop {
            let wait = {
                let next = self.lock().coordinator.next_deadline();
                let now = crate::now_ms();
                next.map_or(MAX_TIMER_SLEEP, |at| Duration::from_millis(u64::try_from(at.saturating_sub(now)).unwrap_or(0)))
                    .min(MAX_TIMER_SLEEP)
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.deadlines_changed.notified() => {}
            }
            let mut state = self.lock();
            let outputs = state.coordinator.tick(crate::now_ms());
            self.carry_out(&mut state, outputs);
        }
    }

    /// Carries out what a request made the state machine decide, then wakes
    /// the timer task: the request may have moved the next deadline.
    fn deliver(&self, state: &mut State, outputs: Vec<Output>) {
        self.carry_out(state, outputs);
        self.deadlines_changed.notify_one();
    }

    /// Sends deferred answers and stores group metadata, in order.
    fn carry_out(&self, state: &mut State, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Join(token, response) => {
                    if let Some(Waiter::Join(tx)) = state.waiters.remove(&token) {
                        let _ = tx.send(response);
                    }
                }
                Output::Sync(token, response) => {
                    if let Some(Waiter::Sync(tx)) = state.waiters.remove(&token) {
                        let _ = tx.send(response);
                    }
                }
                Output::Append { group_id, records } => {
                    let batch: Vec<_> = records.iter().map(records::encode_record).collect();
                    if let Err(e) = self.append(&group_id, &batch, crate::now_ms()) {
                        tracing::error!(group = %group_id, error = %e.message, "cannot store group metadata");
                    }
                }
            }
        }
    }

    fn token(&self) -> Token {
        self.next_token.fetch_add(1, Ordering::Relaxed)
    }

    pub async fn join(&self, req: JoinGroupRequest, version: i16, client_id: &str, client_host: &str) -> JoinGroupResponse {
        let token = self.token();
        let (tx, rx) = oneshot::channel();
        {
            let mut state = self.lock();
            state.waiters.insert(token, Waiter::Join(tx));
            let outputs = state.coordinator.join(req, version, client_id, client_host, token, crate::now_ms());
            self.deliver(&mut state, outputs);
        }
        let mut guard = ForgetOnDrop { service: self, token: Some(token) };
        let response = rx.await.unwrap_or_else(|_| JoinGroupResponse::default().with_error_code(ResponseError::CoordinatorNotAvailable.code()));
        guard.token = None;
        response
    }

    pub async fn sync(&self, req: SyncGroupRequest, version: i16) -> SyncGroupResponse {
        let token = self.token();
        let (tx, rx) = oneshot::channel();
        {
            let mut state = self.lock();
            state.waiters.insert(token, Waiter::Sync(tx));
            let outputs = state.coordinator.sync(req, version, token, crate::now_ms());
            self.deliver(&mut state, outputs);
        }
        let mut guard = ForgetOnDrop { service: self, token: Some(token) };
        let response = rx.await.unwrap_or_else(|_| SyncGroupResponse::default().with_error_code(ResponseError::CoordinatorNotAvailable.code()));
        guard.token = None;
        response
    }

    pub fn heartbeat(&self, req: &HeartbeatRequest, version: i16) -> HeartbeatResponse {
        let mut state = self.lock();
        let (response, outputs) = state.coordinator.heartbeat(req, version, crate::now_ms());
        self.deliver(&mut state, outputs);
        response
    }

    pub fn leave(&self, req: &LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
        let mut state = self.lock();
        let (response, outputs) = state.coordinator.leave(req, version, crate::now_ms());
        self.deliver(&mut state, outputs);
        response
    }

    /// Validates a commit against the group, writes it to `__consumer_offsets`,
    /// then applies it. Returns the log to flush (if its policy asks) so the
    /// caller can wait for durability outside the lock.
    pub fn commit_offsets(
        &self,
        group_id: &str,
        member: CommitMember<'_>,
        version: i16,
        offsets: Vec<(String, i32, CommittedOffset)>,
    ) -> Result<Option<(Arc<PartitionLog>, i64)>, StoreError> {
        let now = crate::now_ms();
        let mut state = self.lock();
        state
            .coordinator
            .validate_offset_commit(group_id, member.member_id, member.generation_id, member.group_instance_id, version, now)
            .map_err(|error| StoreError { error, message: String::new() })?;
        if offsets.is_empty() {
            return Ok(None);
        }
        let batch: Vec<(Vec<u8>, Option<Vec<u8>>)> = offsets
            .iter()
            .map(|(topic, partition, offset)| (records::offset_key(group_id, topic, *partition), Some(records::offset_value(offset))))
            .collect();
        let flush = self.append(group_id, &batch, now)?;
        state.coordinator.apply_offset_commit(group_id, offsets, now);
        Ok(flush)
    }

    /// Committed offsets of a group (OffsetFetch); `None` partitions means all.
    /// With `require_stable`, a partition with transactional offsets pending
    /// is `Err(UNSTABLE_OFFSET_COMMIT)` (Kafka's OffsetMetadataManager).
    pub fn fetch_offsets(&self, group_id: &str, partitions: Option<&[(String, i32)]>, require_stable: bool) -> Vec<FetchedOffset> {
        let state = self.lock();
        let c = &state.coordinator;
        let answer = |t: &str, p: i32, offset: Option<CommittedOffset>| {
            if require_stable && c.has_pending_txn_offsets(group_id, t, p) {
                Err(ResponseError::UnstableOffsetCommit)
            } else {
                Ok(offset)
            }
        };
        match partitions {
            Some(list) => list.iter().map(|(t, p)| (t.clone(), *p, answer(t, *p, c.committed(group_id, t, *p).cloned()))).collect(),
            None => c.committed_all(group_id).into_iter().map(|(t, p, o)| { let a = answer(&t, p, Some(o)); (t, p, a) }).collect(),
        }
    }

    /// TxnOffsetCommit (after the transaction coordinator confirmed that the
    /// group's `__consumer_offsets` partition is in the producer's
    /// transaction, when `append` is verified, KIP-890): checks the member,
    /// writes the offsets as a transactional batch of the producer, and keeps
    /// them pending until its marker (see [`Self::complete_txn`]). Returns the
    /// log to flush, if any.
    pub fn commit_txn_offsets(
        &self,
        group_id: &str,
        member: CommitMember<'_>,
        producer: (i64, i16),
        append: TxnAppend,
        offsets: Vec<(String, i32, CommittedOffset)>,
    ) -> Result<Option<(Arc<PartitionLog>, i64)>, StoreError> {
        let now = crate::now_ms();
        let mut state = self.lock();
        state
            .coordinator
            .validate_txn_offset_commit(group_id, member.member_id, member.generation_id, member.group_instance_id, now)
            .map_err(|error| StoreError { error, message: String::new() })?;
        if offsets.is_empty() {
            return Ok(None);
        }
        let batch: Vec<(Vec<u8>, Option<Vec<u8>>)> = offsets
            .iter()
            .map(|(topic, partition, offset)| (records::offset_key(group_id, topic, *partition), Some(records::offset_value(offset))))
            .collect();
        let bytes = offsets_log::encode_transactional(&batch, producer, now).map_err(|message| StoreError { error: ResponseError::UnknownServerError, message })?;
        let flush = self.append_bytes(group_id, bytes, now, Some(append))?;
        state.coordinator.stage_txn_offsets(producer.0, group_id, offsets, now);
        Ok(flush)
    }

    /// The transaction coordinator wrote `producer_id`'s marker to partition
    /// `partition` of `__consumer_offsets`: its offsets for the groups there
    /// become visible (commit) or are dropped (abort).
    pub fn complete_txn(&self, producer_id: i64, partition: i32, commit: bool) {
        let count = self
            .metadata
            .image()
            .topic(OFFSETS_TOPIC)
            .map_or(self.offsets_partitions, |t| i32::try_from(t.partitions.len()).unwrap_or(i32::MAX));
        let in_partition = |group: &str| records::partition_for(group, count) == partition;
        let visible = self.lock().coordinator.complete_txn_offsets(producer_id, commit, &in_partition, crate::now_ms());
        tracing::debug!(producer_id, partition, commit, visible, "transactional offsets completed");
    }

    /// OffsetDelete: removes offsets (tombstones in `__consumer_offsets`).
    #[allow(clippy::type_complexity)]
    pub fn delete_offsets(&self, group_id: &str, partitions: &[(String, i32)]) -> Result<Vec<(String, i32, Result<(), ResponseError>)>, ResponseError> {
        let now = crate::now_ms();
        let mut state = self.lock();
        let (results, tombstones) = state.coordinator.delete_offsets(group_id, partitions)?;
        if !tombstones.is_empty() {
            let batch: Vec<_> = tombstones.iter().map(records::encode_record).collect();
            if let Err(e) = self.append(group_id, &batch, now) {
                tracing::error!(group = group_id, error = %e.message, "cannot store offset deletions");
            }
        }
        Ok(results)
    }

    pub fn list_groups(&self, states: &[String], types: &[String]) -> Vec<list_groups_response::ListedGroup> {
        self.lock().coordinator.list_groups(states, types)
    }

    pub fn describe_group(&self, group_id: &str, include_authorized_operations: bool, version: i16) -> describe_groups_response::DescribedGroup {
        self.lock().coordinator.describe_group(group_id, include_authorized_operations, version)
    }

    /// DeleteGroups: the group and its offsets go, with tombstones for each.
    pub fn delete_group(&self, group_id: &str) -> Result<(), ResponseError> {
        let now = crate::now_ms();
        let mut state = self.lock();
        let tombstones = state.coordinator.delete_group(group_id)?;
        let batch: Vec<_> = tombstones.iter().map(records::encode_record).collect();
        if let Err(e) = self.append(group_id, &batch, now) {
            tracing::error!(group = group_id, error = %e.message, "cannot store group deletion");
        }
        Ok(())
    }

    /// Appends records for `group_id` to its `__consumer_offsets` partition.
    fn append(&self, group_id: &str, batch: &[(Vec<u8>, Option<Vec<u8>>)], now: i64) -> Result<Option<(Arc<PartitionLog>, i64)>, StoreError> {
        let bytes = offsets_log::encode(batch, now).map_err(|message| StoreError { error: ResponseError::UnknownServerError, message })?;
        self.append_bytes(group_id, bytes, now, None)
    }

    /// Appends one encoded batch: a transactional one (`txn`) with the
    /// coordinator's origin.
    fn append_bytes(&self, group_id: &str, bytes: Vec<u8>, now: i64, txn: Option<TxnAppend>) -> Result<Option<(Arc<PartitionLog>, i64)>, StoreError> {
        let unavailable = |message: String| StoreError { error: ResponseError::CoordinatorNotAvailable, message };
        self.ensure_offsets_topic().map_err(|error| StoreError { error, message: format!("{OFFSETS_TOPIC} is missing") })?;
        let partition = self.partition_for(group_id);
        let image = self.metadata.image();
        let epoch = image
            .topic(OFFSETS_TOPIC)
            .and_then(|t| t.partitions.get(usize::try_from(partition).unwrap_or(usize::MAX)))
            .map_or(0, |p| p.leader_epoch);
        let log = self.partitions.log(OFFSETS_TOPIC, partition).ok_or_else(|| unavailable(format!("{OFFSETS_TOPIC}-{partition} is not open")))?;
        let appended = match txn {
            None => log.append_records(&bytes, epoch, now),
            Some(TxnAppend::Unverified) => log.append_records_from(&bytes, epoch, now, AppendOrigin::Coordinator),
            Some(TxnAppend::Verified(guard)) => log.append_records_verified_from(&bytes, epoch, now, AppendOrigin::Coordinator, guard),
        };
        if appended.is_ok() {
            // Clients may fetch __consumer_offsets too (exclude.internal.topics=false).
            self.partitions.waiters().wake(OFFSETS_TOPIC, partition);
        }
        match appended {
            Ok(info) => Ok(info.needs_flush.then(|| (log, info.last_offset + 1))),
            Err(AppendError::Invalid(e)) => Err(StoreError { error: ResponseError::UnknownServerError, message: e.to_string() }),
            // A fenced producer (INVALID_PRODUCER_EPOCH) or a transaction that ended meanwhile (INVALID_TXN_STATE).
            Err(AppendError::Producer(e)) => Err(StoreError { error: producer_error(e.kafka_error_code()), message: String::new() }),
            Err(AppendError::Storage(e)) => Err(StoreError { error: ResponseError::KafkaStorageError, message: e.to_string() }),
        }
    }

    /// A parked request's connection went away: its answer has nowhere to
    /// go. The member stays, as in Kafka, until its timeouts remove it.
    fn forget(&self, token: Token) {
        self.lock().waiters.remove(&token);
    }
}

/// How a transactional offset commit is appended.
pub enum TxnAppend {
    /// `transaction.partition.verification.enable=false`.
    Unverified,
    /// With the guard taken before the coordinator confirmed the partition
    /// (`None`: the transaction is already open there).
    Verified(Option<VerificationGuard>),
}

/// One partition of an OffsetFetch answer: its committed offset (if any), or
/// UNSTABLE_OFFSET_COMMIT.
pub type FetchedOffset = (String, i32, Result<Option<CommittedOffset>, ResponseError>);

fn producer_error(code: i16) -> ResponseError {
    kafka_protocol::error::ParseResponseErrorCode::err(code).unwrap_or(ResponseError::UnknownServerError)
}

/// Who commits: the generation / member fields of OffsetCommit.
pub struct CommitMember<'a> {
    pub member_id: &'a str,
    pub generation_id: i32,
    pub group_instance_id: Option<&'a str>,
}

/// What [`GroupService::load`] found.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoadStats {
    pub records: u64,
    pub unreadable: u64,
    pub groups: usize,
}

/// Offsets written for a transaction's producer go pending, as at commit time.
fn apply_loaded(coordinator: &mut GroupCoordinator, record: OffsetsRecord, producer_id: Option<i64>, now: i64) {
    match (record, producer_id) {
        (OffsetsRecord::Offset { group_id, topic, partition, value: Some(value) }, Some(producer_id)) => {
            coordinator.stage_txn_offsets(producer_id, &group_id, vec![(topic, partition, value)], now);
        }
        (OffsetsRecord::Offset { group_id, topic, partition, value }, _) => coordinator.load_offset(&group_id, &topic, partition, value, now),
        (OffsetsRecord::Group { group_id, value: Some(snapshot) }, _) => {
            debug_assert_eq!(group_id, snapshot.group_id);
            coordinator.load_group(snapshot, now);
        }
        (OffsetsRecord::Group { group_id, value: None }, _) => coordinator.remove_group(&group_id),
    }
}

/// Drops a waiter whose handler went away (connection closed mid-wait).
struct ForgetOnDrop<'a> {
    service: &'a GroupService,
    token: Option<Token>,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(token) = self.token {
            self.service.forget(token);
        }
    }
}
