//! The classic group coordinator as a pure state machine, after Kafka's
//! `GroupMetadataManager` (classic-group half) and `OffsetMetadataManager`:
//! JoinGroup, SyncGroup, Heartbeat, LeaveGroup with Kafka's states
//! (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead), member ids
//! and MEMBER_ID_REQUIRED (JoinGroup v4+), static membership (KIP-345),
//! the initial rebalance delay, session, rebalance and sync timeouts, and
//! committed offsets with their expiry.
//!
//! No I/O and no clock: time comes in as `now_ms`; answers that must wait
//! (JoinGroup until the rebalance completes, SyncGroup until the leader
//! sends the assignment) and records to persist go out as [`Output`]s, in
//! the order they must happen.
//!
//! Simplifications against Kafka:
//! - Kafka answers the leader's SyncGroup only after the group metadata
//!   record is written, and undoes the rebalance if the write fails. Here the
//!   record is written (by the caller, in output order) before any answer is
//!   sent, but a failed write is only logged: on one node it means the disk
//!   failed, and the previous generation is what a restart would load.
//! - A request whose waiter is replaced (a member rejoining from a new
//!   connection while its old JoinGroup is parked) is left unanswered, as in
//!   Kafka; the service drops it when that connection closes.
//! - Only classic groups exist: no consumer-protocol (KIP-848) or share groups.

use std::collections::HashSet;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::classic::{ClassicGroup, GroupState, JoinWaiter, Member, Protocol, CONSUMER_PROTOCOL_TYPE};
pub use super::classic::Token;
use super::records::OffsetsRecord;
use super::snapshot::{CommittedOffset, GroupSnapshot};
use super::timer::Timer;
use txn_offsets::PendingTxnOffsets;

/// What the caller must do, in order.
#[derive(Debug)]
pub enum Output {
    /// Answer a parked JoinGroup.
    Join(Token, JoinGroupResponse),
    /// Answer a parked SyncGroup.
    Sync(Token, SyncGroupResponse),
    /// Append these records to the group's `__consumer_offsets` partition.
    Append { group_id: String, records: Vec<OffsetsRecord> },
}

/// Kafka's group coordinator settings (`group.*`, `offsets.*`).
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms`
    pub initial_rebalance_delay_ms: i64,
    /// `group.min.session.timeout.ms`
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`
    pub max_session_timeout_ms: i32,
    /// `group.max.size`
    pub max_size: usize,
    /// How long a new member's parked JoinGroup may wait (KIP-394; Kafka: 5 minutes).
    pub new_member_join_timeout_ms: i64,
    /// `offsets.retention.minutes`, in ms.
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms`
    pub offsets_retention_check_interval_ms: i64,
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            initial_rebalance_delay_ms: 3000,
            min_session_timeout_ms: 6000,
            max_session_timeout_ms: 1_800_000,
            max_size: usize::MAX,
            new_member_join_timeout_ms: 300_000,
            offsets_retention_ms: 7 * 24 * 3600 * 1000,
            offsets_retention_check_interval_ms: 600_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum TimerKey {
    Heartbeat { group: String, member: String },
    Join(String),
    Sync(String),
    OffsetExpiry,
}

#[derive(Debug, Clone, Copy)]
enum TimerAction {
    ExpireHeartbeat,
    CompleteJoin,
    InitialJoin { delay_ms: i64, remaining_ms: i64 },
    ExpireSync { generation: i32 },
    ExpireOffsets,
}

/// Kafka's ACL operations a group supports, as DescribeGroups reports them
/// without an authorizer: READ (3), DELETE (6), DESCRIBE (8).
const GROUP_AUTHORIZED_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

pub struct GroupCoordinator {
    config: GroupConfig,
    groups: std::collections::HashMap<String, ClassicGroup>,
    timer: Timer<TimerKey, TimerAction>,
    /// Offsets committed inside transactions that have not ended yet.
    txn_offsets: PendingTxnOffsets,
}

/// The mutable context every flow needs besides the group itself.
struct Flow<'a> {
    config: &'a GroupConfig,
    timer: &'a mut Timer<TimerKey, TimerAction>,
    out: &'a mut Vec<Output>,
    now: i64,
}

fn s(text: impl Into<String>) -> StrBytes {
    StrBytes::from_string(text.into())
}

fn join_error(member_id: &str, error: ResponseError) -> JoinGroupResponse {
    JoinGroupResponse::default().with_member_id(s(member_id)).with_error_code(error.code())
}

fn sync_error(error: ResponseError) -> SyncGroupResponse {
    SyncGroupResponse::default().with_error_code(error.code())
}

fn protocols_of(req: &JoinGroupRequest) -> Vec<Protocol> {
    req.protocols.iter().map(|p| Protocol { name: p.name.to_string(), metadata: p.metadata.clone() }).collect()
}

impl GroupCoordinator {
    pub fn new(config: GroupConfig) -> Self {
        Self { config, groups: std::collections::HashMap::new(), timer: Timer::new(), txn_offsets: PendingTxnOffsets::default() }
    }

    fn flow<'a>(config: &'a GroupConfig, timer: &'a mut Timer<TimerKey, TimerAction>, out: &'a mut Vec<Output>, now: i64) -> Flow<'a> {
        Flow { config, timer, out, now }
    }

    // ---- JoinGroup -------------------------------------------------------

    pub fn join(
        &mut self,
        req: JoinGroupRequest,
        version: i16,
        client_id: &str,
        client_host: &str,
        token: Token,
        now_ms: i64,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        let group_id = req.group_id.0.to_string();
        let member_id = req.member_id.to_string();
        let reply = |out: &mut Vec<Output>, member: &str, error| out.push(Output::Join(token, join_error(member, error)));
        if group_id.is_empty() {
            reply(&mut out, &member_id, ResponseError::InvalidGroupId);
            return out;
        }
        if req.session_timeout_ms < self.config.min_session_timeout_ms || req.session_timeout_ms > self.config.max_session_timeout_ms {
            reply(&mut out, &member_id, ResponseError::InvalidSessionTimeout);
            return out;
        }
        if !self.groups.contains_key(&group_id) {
            // A member id for a group that does not exist: it must rejoin from scratch.
            if !member_id.is_empty() {
                reply(&mut out, &member_id, ResponseError::UnknownMemberId);
                return out;
            }
            self.groups.insert(group_id.clone(), ClassicGroup::new(&group_id, now_ms));
        }
        let Some(group) = self.groups.get_mut(&group_id) else { return out };
        let mut flow = Self::flow(&self.config, &mut self.timer, &mut out, now_ms);
        let joining = JoiningMember { req: &req, version, client_id, client_host, token };
        if !accept_joining_member(group, &member_id, self.config.max_size) {
            group.remove(&member_id);
            reply(flow.out, "", ResponseError::GroupMaxSizeReached);
        } else if member_id.is_empty() {
            flow.join_new_member(group, &joining);
        } else {
            flow.join_existing_member(group, &joining);
        }
        self.run_due(now_ms, &mut out);
        out
    }

    // ---- SyncGroup -------------------------------------------------------

    pub fn sync(&mut self, req: SyncGroupRequest, _version: i16, token: Token, now_ms: i64) -> Vec<Output> {
        let mut out = Vec::new();
        let group_id = req.group_id.0.to_string();
        if group_id.is_empty() {
            out.push(Output::Sync(token, sync_error(ResponseError::InvalidGroupId)));
            return out;
        }
        let Some(group) = self.groups.get_mut(&group_id).filter(|g| !g.is(GroupState::Empty)) else {
            out.push(Output::Sync(token, sync_error(ResponseError::UnknownMemberId)));
            return out;
        };
        let mut flow = Self::flow(&self.config, &mut self.timer, &mut out, now_ms);
        flow.sync(group, &req, token);
        self.run_due(now_ms, &mut out);
        out
    }

    // ---- Heartbeat -------------------------------------------------------

    pub fn heartbeat(&mut self, req: &HeartbeatRequest, _version: i16, now_ms: i64) -> (HeartbeatResponse, Vec<Output>) {
        let mut out = Vec::new();
        let error = self.heartbeat_error(req, now_ms, &mut out);
        self.run_due(now_ms, &mut out);
        (HeartbeatResponse::default().with_error_code(error.map_or(0, |e| e.code())), out)
    }

    fn heartbeat_error(&mut self, req: &HeartbeatRequest, now_ms: i64, out: &mut Vec<Output>) -> Option<ResponseError> {
        if req.group_id.0.is_empty() {
            return Some(ResponseError::InvalidGroupId);
        }
        let Some(group) = self.groups.get_mut(req.group_id.0.as_str()) else { return Some(ResponseError::UnknownMemberId) };
        if group.is(GroupState::Dead) {
            return Some(ResponseError::CoordinatorNotAvailable);
        }
        if let Err(error) = group.validate_member(&req.member_id, req.group_instance_id.as_deref()) {
            return Some(error);
        }
        if req.generation_id != group.generation_id {
            return Some(ResponseError::IllegalGeneration);
        }
        let mut flow = Self::flow(&self.config, &mut self.timer, out, now_ms);
        match group.state {
            GroupState::Empty | GroupState::Dead => Some(ResponseError::UnknownMemberId),
            GroupState::PreparingRebalance => {
                flow.reschedule_heartbeat(group, &req.member_id, None);
                Some(ResponseError::RebalanceInProgress)
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                flow.reschedule_heartbeat(group, &req.member_id, None);
                None
            }
        }
    }

    // ---- LeaveGroup ------------------------------------------------------

    pub fn leave(&mut self, req: &LeaveGroupRequest, version: i16, now_ms: i64) -> (LeaveGroupResponse, Vec<Output>) {
        let mut out = Vec::new();
        // v0-2 name one member; v3+ a batch (KIP-345).
        let identities: Vec<(String, Option<String>)> = if version >= 3 {
            req.members.iter().map(|m| (m.member_id.to_string(), m.group_instance_id.as_ref().map(|i| i.to_string()))).collect()
        } else {
            vec![(req.member_id.to_string(), None)]
        };
        let top_level = |error: ResponseError| LeaveGroupResponse::default().with_error_code(error.code());
        if req.group_id.0.is_empty() {
            return (top_level(ResponseError::InvalidGroupId), out);
        }
        let results: Vec<(String, Option<String>, Option<ResponseError>)> = match self.groups.get_mut(req.group_id.0.as_str()) {
            None => identities.into_iter().map(|(m, i)| (m, i, Some(ResponseError::UnknownMemberId))).collect(),
            Some(group) if group.is(GroupState::Dead) => return (top_level(ResponseError::CoordinatorNotAvailable), out),
            Some(group) => {
                let mut flow = Self::flow(&self.config, &mut self.timer, &mut out, now_ms);
                let results = identities.into_iter().map(|(m, i)| {
                    let error = flow.leave_one(group, &m, i.as_deref()).err();
                    (m, i, error)
                });
                let results: Vec<_> = results.collect();
                if results.iter().any(|(_, _, e)| e.is_none()) {
                    match group.state {
                        GroupState::Stable | GroupState::CompletingRebalance => flow.maybe_prepare_rebalance_or_complete_join(group),
                        GroupState::PreparingRebalance => flow.maybe_complete_join_phase(group),
                        GroupState::Empty | GroupState::Dead => {}
                    }
                }
                results
            }
        };
        self.run_due(now_ms, &mut out);
        let response = if version >= 3 {
            let members = results
                .into_iter()
                .map(|(member, instance, error)| {
                    MemberResponse::default()
                        .with_member_id(s(member))
                        .with_group_instance_id(instance.map(s))
                        .with_error_code(error.map_or(0, |e| e.code()))
                })
                .collect();
            LeaveGroupResponse::default().with_members(members)
        } else {
            let error = results.into_iter().find_map(|(_, _, e)| e);
            LeaveGroupResponse::default().with_error_code(error.map_or(0, |e| e.code()))
        };
        (response, out)
    }

    // ---- Timers ----------------------------------------------------------

    /// Fires every timer due at `now_ms`.
    pub fn tick(&mut self, now_ms: i64) -> Vec<Output> {
        let mut out = Vec::new();
        if !self.timer.contains(&TimerKey::OffsetExpiry) {
            let at = now_ms.saturating_add(self.config.offsets_retention_check_interval_ms);
            self.timer.schedule(TimerKey::OffsetExpiry, at, TimerAction::ExpireOffsets);
        }
        self.run_due(now_ms, &mut out);
        out
    }

    pub fn next_deadline(&self) -> Option<i64> {
        self.timer.next_deadline()
    }

    fn run_due(&mut self, now_ms: i64, out: &mut Vec<Output>) {
        while let Some((key, action)) = self.timer.pop_due(now_ms) {
            match (key, action) {
                (TimerKey::OffsetExpiry, _) => {
                    self.expire_offsets(now_ms, out);
                    let at = now_ms.saturating_add(self.config.offsets_retention_check_interval_ms);
                    self.timer.schedule(TimerKey::OffsetExpiry, at, TimerAction::ExpireOffsets);
                }
                (TimerKey::Heartbeat { group, member }, _) => {
                    let Some(group) = self.groups.get_mut(&group) else { continue };
                    Self::flow(&self.config, &mut self.timer, out, now_ms).expire_heartbeat(group, &member);
                }
                (TimerKey::Join(group), action) => {
                    let Some(group) = self.groups.get_mut(&group) else { continue };
                    let mut flow = Self::flow(&self.config, &mut self.timer, out, now_ms);
                    match action {
                        TimerAction::InitialJoin { delay_ms, remaining_ms } => flow.initial_rebalance_due(group, delay_ms, remaining_ms),
                        _ => flow.complete_join(group),
                    }
                }
                (TimerKey::Sync(group), TimerAction::ExpireSync { generation }) => {
                    let Some(group) = self.groups.get_mut(&group) else { continue };
                    Self::flow(&self.config, &mut self.timer, out, now_ms).expire_pending_sync(group, generation);
                }
                (TimerKey::Sync(_), _) => {}
            }
        }
    }

    // ---- Offsets ---------------------------------------------------------

    /// Kafka's OffsetCommit checks for classic groups. A commit with a
    /// negative generation to an unknown group creates a "simple" group.
    pub fn validate_offset_commit(
        &mut self,
        group_id: &str,
        member_id: &str,
        generation_id: i32,
        group_instance_id: Option<&str>,
        version: i16,
        now_ms: i64,
    ) -> Result<(), ResponseError> {
        if group_id.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        let Some(group) = self.groups.get(group_id) else {
            if generation_id < 0 {
                self.groups.insert(group_id.to_string(), ClassicGroup::new(group_id, now_ms));
                return Ok(());
            }
            // v9+ says so; older versions keep the error they always had.
            return Err(if version >= 9 { ResponseError::GroupIdNotFound } else { ResponseError::IllegalGeneration });
        };
        if group.is(GroupState::Dead) {
            return Err(ResponseError::CoordinatorNotAvailable);
        }
        if generation_id < 0 && group.is(GroupState::Empty) {
            return Ok(());
        }
        if generation_id >= 0 || !member_id.is_empty() || group_instance_id.is_some() {
            group.validate_member(member_id, group_instance_id)?;
            if generation_id != group.generation_id {
                return Err(ResponseError::IllegalGeneration);
            }
        } else if !group.is(GroupState::Empty) {
            return Err(ResponseError::UnknownMemberId);
        }
        if group.is(GroupState::CompletingRebalance) {
            return Err(ResponseError::RebalanceInProgress);
        }
        Ok(())
    }

    /// Makes committed offsets visible (after they were written).
    pub fn apply_offset_commit(&mut self, group_id: &str, offsets: Vec<(String, i32, CommittedOffset)>, now_ms: i64) {
        let group = self.groups.entry(group_id.to_string()).or_insert_with(|| ClassicGroup::new(group_id, now_ms));
        for (topic, partition, offset) in offsets {
            self.txn_offsets.supersede(group_id, &topic, partition);
            group.offsets.insert((topic, partition), offset);
        }
    }

    pub fn committed(&self, group_id: &str, topic: &str, partition: i32) -> Option<&CommittedOffset> {
        self.groups.get(group_id)?.offsets.get(&(topic.to_string(), partition))
    }

    /// Every committed offset of a group, sorted by topic and partition.
    pub fn committed_all(&self, group_id: &str) -> Vec<(String, i32, CommittedOffset)> {
        self.groups.get(group_id).map_or_else(Vec::new, |g| g.offsets.iter().map(|((t, p), o)| (t.clone(), *p, o.clone())).collect())
    }

    /// OffsetDelete: per partition, Ok or GROUP_SUBSCRIBED_TO_TOPIC; the
    /// records are the tombstones to write.
    #[allow(clippy::type_complexity)]
    pub fn delete_offsets(
        &mut self,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<(Vec<(String, i32, Result<(), ResponseError>)>, Vec<OffsetsRecord>), ResponseError> {
        let Some(group) = self.groups.get_mut(group_id).filter(|g| !g.is(GroupState::Dead)) else {
            return Err(ResponseError::GroupIdNotFound);
        };
        let active = !group.is(GroupState::Empty);
        if active && group.protocol_type.as_deref() != Some(CONSUMER_PROTOCOL_TYPE) {
            return Err(ResponseError::NonEmptyGroup);
        }
        // Unknown subscriptions count as subscribed to everything, as in Kafka.
        let subscribed = active.then(|| group.subscribed_topics());
        let mut results = Vec::new();
        let mut tombstones = Vec::new();
        for (topic, partition) in partitions {
            let is_subscribed = match &subscribed {
                None => false,
                Some(None) => true,
                Some(Some(topics)) => topics.contains(topic),
            };
            if is_subscribed {
                results.push((topic.clone(), *partition, Err(ResponseError::GroupSubscribedToTopic)));
                continue;
            }
            let pending = self.txn_offsets.has_pending(group_id, topic, *partition);
            self.txn_offsets.remove_partition(group_id, topic, *partition);
            if group.offsets.remove(&(topic.clone(), *partition)).is_some() || pending {
                tombstones.push(OffsetsRecord::Offset { group_id: group_id.to_string(), topic: topic.clone(), partition: *partition, value: None });
            }
            results.push((topic.clone(), *partition, Ok(())));
        }
        Ok((results, tombstones))
    }

    /// Kafka's offset expiry (`cleanupGroupMetadata`): offsets of empty
    /// groups expire `offsets.retention` after the group emptied; offsets of
    /// simple groups, and of topics a stable consumer group no longer
    /// subscribes to, that long after their commit. An empty group left with
    /// no offsets is deleted.
    fn expire_offsets(&mut self, now_ms: i64, out: &mut Vec<Output>) {
        let retention = self.config.offsets_retention_ms;
        let mut deleted = Vec::new();
        for group in self.groups.values_mut() {
            let (from_state_change, unsubscribed_only) = match (&group.protocol_type, group.state) {
                (None, _) => (false, None),
                (Some(_), GroupState::Empty) => (true, None),
                (Some(t), GroupState::Stable) if t == CONSUMER_PROTOCOL_TYPE => match group.subscribed_topics() {
                    Some(topics) => (false, Some(topics)),
                    None => continue,
                },
                _ => continue,
            };
            let expired: Vec<(String, i32)> = group
                .offsets
                .iter()
                .filter(|((topic, _), _)| unsubscribed_only.as_ref().is_none_or(|topics| !topics.contains(topic)))
                // Not while a transaction may still commit a newer one (Kafka's `cleanupExpiredOffsets`).
                .filter(|((topic, partition), _)| !self.txn_offsets.has_pending(&group.group_id, topic, *partition))
                .filter(|(_, o)| match o.expire_timestamp_ms {
                    Some(expire) => now_ms >= expire,
                    None => {
                        let base = if from_state_change { group.state_timestamp_ms } else { o.commit_timestamp_ms };
                        now_ms.saturating_sub(base) >= retention
                    }
                })
                .map(|(key, _)| key.clone())
                .collect();
            let mut records: Vec<OffsetsRecord> = expired
                .into_iter()
                .filter_map(|key| group.offsets.remove(&key).map(|_| key))
                .map(|(topic, partition)| OffsetsRecord::Offset { group_id: group.group_id.clone(), topic, partition, value: None })
                .collect();
            if group.is(GroupState::Empty) && group.offsets.is_empty() && !self.txn_offsets.has_open_transactions(&group.group_id) {
                records.push(OffsetsRecord::Group { group_id: group.group_id.clone(), value: None });
                deleted.push(group.group_id.clone());
            }
            if !records.is_empty() {
                tracing::info!(group = %group.group_id, records = records.len(), "expired committed offsets");
                out.push(Output::Append { group_id: group.group_id.clone(), records });
            }
        }
        for group in deleted {
            self.groups.remove(&group);
        }
    }

    // ---- Group admin -----------------------------------------------------

    /// ListGroups; filters are matched case-insensitively, as Kafka does.
    pub fn list_groups(&self, states_filter: &[String], types_filter: &[String]) -> Vec<ListedGroup> {
        let states: HashSet<String> = states_filter.iter().map(|s| s.to_lowercase()).collect();
        let types: HashSet<String> = types_filter.iter().map(|s| s.to_lowercase()).collect();
        if !types.is_empty() && !types.contains("classic") {
            return Vec::new();
        }
        let mut groups: Vec<&ClassicGroup> = self
            .groups
            .values()
            .filter(|g| !g.is(GroupState::Dead))
            .filter(|g| states.is_empty() || states.contains(&g.state.name().to_lowercase()))
            .collect();
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        groups
            .into_iter()
            .map(|g| {
                ListedGroup::default()
                    .with_group_id(GroupId(s(g.group_id.clone())))
                    .with_protocol_type(s(g.protocol_type.clone().unwrap_or_default()))
                    .with_group_state(s(g.state.name()))
                    .with_group_type(s("classic"))
            })
            .collect()
    }

    /// DescribeGroups for one group. Members carry their metadata only in
    /// Stable groups, as in Kafka. An unknown group is Dead; v6+ also says
    /// GROUP_ID_NOT_FOUND (KIP-1043).
    pub fn describe_group(&self, group_id: &str, include_authorized_operations: bool, version: i16) -> DescribedGroup {
        let operations = if include_authorized_operations { GROUP_AUTHORIZED_OPERATIONS } else { AUTHORIZED_OPERATIONS_OMITTED };
        let described = DescribedGroup::default().with_group_id(GroupId(s(group_id))).with_authorized_operations(operations);
        let Some(group) = self.groups.get(group_id).filter(|g| !g.is(GroupState::Dead)) else {
            let dead = described.with_group_state(s(GroupState::Dead.name()));
            if version >= 6 {
                return dead.with_error_code(ResponseError::GroupIdNotFound.code()).with_error_message(Some(s(format!("Group {group_id} not found."))));
            }
            return dead;
        };
        let stable = group.is(GroupState::Stable);
        let members = group
            .members
            .values()
            .map(|m| {
                DescribedGroupMember::default()
                    .with_member_id(s(m.member_id.clone()))
                    .with_group_instance_id(m.group_instance_id.clone().map(s))
                    .with_client_id(s(m.client_id.clone()))
                    .with_client_host(s(m.client_host.clone()))
                    .with_member_metadata(if stable { m.metadata(group.protocol_name.as_deref()) } else { Bytes::new() })
                    .with_member_assignment(m.assignment.clone())
            })
            .collect();
        described
            .with_group_state(s(group.state.name()))
            .with_protocol_type(s(group.protocol_type.clone().unwrap_or_default()))
            .with_protocol_data(s(if stable { group.protocol_name.clone().unwrap_or_default() } else { String::new() }))
            .with_members(members)
    }

    /// DeleteGroups for one group: only empty groups; returns the tombstones to write.
    pub fn delete_group(&mut self, group_id: &str) -> Result<Vec<OffsetsRecord>, ResponseError> {
        let Some(group) = self.groups.get(group_id).filter(|g| !g.is(GroupState::Dead)) else {
            return Err(ResponseError::GroupIdNotFound);
        };
        if !group.is(GroupState::Empty) {
            return Err(ResponseError::NonEmptyGroup);
        }
        let mut keys: std::collections::BTreeSet<(String, i32)> = group.offsets.keys().cloned().collect();
        keys.extend(self.txn_offsets.remove_group(group_id));
        let mut records: Vec<OffsetsRecord> = keys
            .into_iter()
            .map(|(topic, partition)| OffsetsRecord::Offset { group_id: group_id.to_string(), topic, partition, value: None })
            .collect();
        records.push(OffsetsRecord::Group { group_id: group_id.to_string(), value: None });
        self.groups.remove(group_id);
        self.timer.cancel(&TimerKey::Join(group_id.to_string()));
        self.timer.cancel(&TimerKey::Sync(group_id.to_string()));
        Ok(records)
    }

    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    // ---- Loading from __consumer_offsets -----------------------------------

    /// Replays a stored group. Members get a fresh session: they must
    /// heartbeat within it or leave the group, as after a Kafka coordinator move.
    pub fn load_group(&mut self, snapshot: GroupSnapshot, now_ms: i64) {
        let offsets = self.groups.remove(&snapshot.group_id).map(|g| g.offsets).unwrap_or_default();
        let mut group = ClassicGroup::new(&snapshot.group_id, snapshot.state_timestamp_ms);
        group.offsets = offsets;
        group.protocol_type = (!snapshot.protocol_type.is_empty()).then(|| snapshot.protocol_type.clone());
        group.generation_id = snapshot.generation_id;
        group.protocol_name = snapshot.protocol_name.clone();
        for m in snapshot.members {
            let protocol = Protocol { name: snapshot.protocol_name.clone().unwrap_or_default(), metadata: m.subscription };
            group.add(Member {
                member_id: m.member_id,
                group_instance_id: m.group_instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                session_timeout_ms: m.session_timeout_ms,
                protocol_type: snapshot.protocol_type.clone(),
                protocols: vec![protocol],
                assignment: m.assignment,
                awaiting_join: None,
                awaiting_sync: None,
                is_new: false,
            });
        }
        group.leader_id = snapshot.leader.filter(|l| group.members.contains_key(l)).or_else(|| group.members.keys().next().cloned());
        if !group.members.is_empty() {
            group.state = GroupState::Stable;
            group.previous_state = GroupState::Stable;
        }
        let mut out = Vec::new();
        let mut flow = Self::flow(&self.config, &mut self.timer, &mut out, now_ms);
        let ids: Vec<String> = group.members.keys().cloned().collect();
        for id in ids {
            flow.reschedule_heartbeat(&group, &id, None);
        }
        self.groups.insert(snapshot.group_id, group);
    }

    /// Replays a stored offset (`None`: its tombstone).
    pub fn load_offset(&mut self, group_id: &str, topic: &str, partition: i32, offset: Option<CommittedOffset>, now_ms: i64) {
        let group = self.groups.entry(group_id.to_string()).or_insert_with(|| ClassicGroup::new(group_id, now_ms));
        match offset {
            Some(offset) => {
                self.txn_offsets.supersede(group_id, topic, partition);
                group.offsets.insert((topic.to_string(), partition), offset);
            }
            None => {
                self.txn_offsets.remove_partition(group_id, topic, partition);
                group.offsets.remove(&(topic.to_string(), partition));
            }
        }
    }

    /// Replays a group tombstone.
    pub fn remove_group(&mut self, group_id: &str) {
        self.groups.remove(group_id);
        self.txn_offsets.remove_group(group_id);
    }
}

/// The parts of a JoinGroup request the flows need.
struct JoiningMember<'a> {
    req: &'a JoinGroupRequest,
    version: i16,
    client_id: &'a str,
    client_host: &'a str,
    token: Token,
}

impl JoiningMember<'_> {
    fn waiter(&self) -> JoinWaiter {
        JoinWaiter { token: self.token, version: self.version }
    }

    fn instance_id(&self) -> Option<String> {
        self.req.group_instance_id.as_ref().map(|i| i.to_string())
    }

    fn reply(&self, flow: &mut Flow<'_>, response: JoinGroupResponse) {
        flow.out.push(Output::Join(self.token, response));
    }
}

/// Kafka's `acceptJoiningMember`: new members only while under `group.max.size`.
fn accept_joining_member(group: &ClassicGroup, member_id: &str, max_size: usize) -> bool {
    match group.state {
        GroupState::Empty | GroupState::Dead => true,
        GroupState::PreparingRebalance => {
            group.members.get(member_id).is_some_and(|m| m.awaiting_join.is_some()) || group.awaiting_join_count() < max_size
        }
        GroupState::CompletingRebalance | GroupState::Stable => group.members.contains_key(member_id) || group.members.len() < max_size,
    }
}

/// The JoinGroup answer for the current generation (the leader also gets every member's metadata).
fn generation_response(group: &ClassicGroup, member_id: &str, with_members: bool) -> JoinGroupResponse {
    let members = if with_members {
        group
            .members
            .values()
            .map(|m| {
                JoinGroupResponseMember::default()
                    .with_member_id(s(m.member_id.clone()))
                    .with_group_instance_id(m.group_instance_id.clone().map(s))
                    .with_metadata(m.metadata(group.protocol_name.as_deref()))
            })
            .collect()
    } else {
        Vec::new()
    };
    JoinGroupResponse::default()
        .with_members(members)
        .with_member_id(s(member_id))
        .with_generation_id(group.generation_id)
        .with_protocol_name(group.protocol_name.clone().map(s))
        .with_protocol_type(group.protocol_type.clone().map(s))
        .with_leader(s(group.leader_id.clone().unwrap_or_default()))
        .with_skip_assignment(false)
}

impl Flow<'_> {
    fn join_new_member(&mut self, group: &mut ClassicGroup, joining: &JoiningMember<'_>) {
        let req = joining.req;
        if group.is(GroupState::Dead) {
            return joining.reply(self, join_error("", ResponseError::CoordinatorNotAvailable));
        }
        if !group.supports_protocols(&req.protocol_type, &protocols_of(req)) {
            return joining.reply(self, join_error("", ResponseError::InconsistentGroupProtocol));
        }
        let instance = joining.instance_id();
        let new_member_id = format!("{}-{}", instance.as_deref().unwrap_or(joining.client_id), uuid::Uuid::new_v4());
        if let Some(instance) = instance {
            match group.static_member_id(&instance).map(str::to_string) {
                Some(existing) => self.update_static_member(group, joining, &instance, &existing, &new_member_id),
                None => self.add_member(group, joining, new_member_id),
            }
        } else if joining.version >= 4 {
            // KIP-394: hand out the id first, admit the member when it rejoins with it.
            group.pending_join_members.insert(new_member_id.clone());
            let key = TimerKey::Heartbeat { group: group.group_id.clone(), member: new_member_id.clone() };
            self.timer.schedule(key, self.now.saturating_add(i64::from(req.session_timeout_ms)), TimerAction::ExpireHeartbeat);
            joining.reply(self, join_error(&new_member_id, ResponseError::MemberIdRequired));
        } else {
            self.add_member(group, joining, new_member_id);
        }
    }

    fn join_existing_member(&mut self, group: &mut ClassicGroup, joining: &JoiningMember<'_>) {
        let req = joining.req;
        let member_id = req.member_id.to_string();
        let protocols = protocols_of(req);
        if group.is(GroupState::Dead) {
            return joining.reply(self, join_error(&member_id, ResponseError::CoordinatorNotAvailable));
        }
        if !group.supports_protocols(&req.protocol_type, &protocols) {
            return joining.reply(self, join_error(&member_id, ResponseError::InconsistentGroupProtocol));
        }
        if group.pending_join_members.contains(&member_id) {
            // Pending members are dynamic by construction (Kafka treats this as a server error too).
            if req.group_instance_id.is_some() {
                return joining.reply(self, join_error(&member_id, ResponseError::UnknownServerError));
            }
            return self.add_member(group, joining, member_id);
        }
        if let Err(error) = group.validate_member(&member_id, req.group_instance_id.as_deref()) {
            return joining.reply(self, join_error(&member_id, error).with_protocol_name(None));
        }
        let matches = group.members.get(&member_id).is_some_and(|m| m.protocols == protocols);
        match group.state {
            GroupState::PreparingRebalance => self.update_member(group, joining, &member_id),
            GroupState::CompletingRebalance if matches => {
                // A retry of a JoinGroup whose answer was lost: answer it again.
                let response = generation_response(group, &member_id, group.is_leader(&member_id));
                joining.reply(self, response);
            }
            GroupState::Stable if matches && !group.is_leader(&member_id) => {
                let response = generation_response(group, &member_id, false);
                joining.reply(self, response);
            }
            // Changed metadata, or the leader rejoining (to react to topic changes): rebalance.
            GroupState::CompletingRebalance | GroupState::Stable => self.update_member(group, joining, &member_id),
            GroupState::Empty | GroupState::Dead => joining.reply(self, join_error(&member_id, ResponseError::UnknownMemberId)),
        }
    }

    /// Kafka's `addMemberThenRebalanceOrCompleteJoin`.
    fn add_member(&mut self, group: &mut ClassicGroup, joining: &JoiningMember<'_>, member_id: String) {
        let req = joining.req;
        let member = Member {
            member_id: member_id.clone(),
            group_instance_id: joining.instance_id(),
            client_id: joining.client_id.to_string(),
            client_host: joining.client_host.to_string(),
            rebalance_timeout_ms: req.rebalance_timeout_ms,
            session_timeout_ms: req.session_timeout_ms,
            protocol_type: req.protocol_type.to_string(),
            protocols: protocols_of(req),
            assignment: Bytes::new(),
            awaiting_join: Some(joining.waiter()),
            awaiting_sync: None,
            is_new: true,
        };
        if group.is(GroupState::PreparingRebalance) && group.previous_state == GroupState::Empty {
            group.new_member_added = true;
        }
        group.add(member);
        // A parked JoinGroup cannot heartbeat: bound how long a new member may hold the rebalance.
        let timeout = self.config.new_member_join_timeout_ms;
        self.reschedule_heartbeat(group, &member_id, Some(timeout));
        self.maybe_prepare_rebalance_or_complete_join(group);
    }

    /// Kafka's `updateMemberThenRebalanceOrCompleteJoin`.
    fn update_member(&mut self, group: &mut ClassicGroup, joining: &JoiningMember<'_>, member_id: &str) {
        self.set_member_join(group, joining, member_id);
        self.maybe_prepare_rebalance_or_complete_join(group);
    }

    /// Stores the member's new protocols and timeouts and parks its JoinGroup.
    fn set_member_join(&mut self, group: &mut ClassicGroup, joining: &JoiningMember<'_>, member_id: &str) {
        let req = joining.req;
        if let Some(member) = group.members.get_mut(member_id) {
            member.protocols = protocols_of(req);
            member.rebalance_timeout_ms = req.rebalance_timeout_ms;
            member.session_timeout_ms = req.session_timeout_ms;
            member.awaiting_join = Some(joining.waiter());
        }
    }

    /// Kafka's `updateStaticMemberThenRebalanceOrCompleteJoin`: a known
    /// instance id rejoins with an unknown member id. The old member id is
    /// fenced; in a Stable group whose protocol does not change, the member
    /// gets its old assignment back without a rebalance.
    fn update_static_member(&mut self, group: &mut ClassicGroup, joining: &JoiningMember<'_>, instance: &str, old_id: &str, new_id: &str) {
        let current_leader = group.leader_id.clone();
        let Some(mut member) = group.members.remove(old_id) else { return };
        if let Some(waiter) = member.awaiting_join.take() {
            let fenced = JoinGroupResponse::default()
                .with_member_id(s(old_id))
                .with_protocol_name(None)
                .with_error_code(ResponseError::FencedInstanceId.code());
            self.out.push(Output::Join(waiter.token, fenced));
        }
        if let Some(token) = member.awaiting_sync.take() {
            self.out.push(Output::Sync(token, sync_error(ResponseError::FencedInstanceId)));
        }
        member.member_id = new_id.to_string();
        group.members.insert(new_id.to_string(), member);
        if group.is_leader(old_id) {
            group.leader_id = Some(new_id.to_string());
        }
        group.static_members.insert(instance.to_string(), new_id.to_string());
        self.timer.cancel(&TimerKey::Heartbeat { group: group.group_id.clone(), member: old_id.to_string() });
        self.reschedule_heartbeat(group, new_id, None);
        self.set_member_join(group, joining, new_id);
        match group.state {
            GroupState::Stable => {
                if group.select_protocol() != group.protocol_name {
                    return self.maybe_prepare_rebalance_or_complete_join(group);
                }
                self.append_group(group);
                let response = if joining.version >= 9 {
                    // KIP-814: a rejoining static leader learns the members but must not reassign.
                    let is_leader = group.is_leader(new_id);
                    generation_response(group, new_id, is_leader).with_skip_assignment(is_leader)
                } else {
                    // Older leaders would reassign; name the old leader so they do not.
                    generation_response(group, new_id, false).with_leader(s(current_leader.unwrap_or_default()))
                };
                if let Some(member) = group.members.get_mut(new_id) {
                    if let Some(waiter) = member.awaiting_join.take() {
                        self.out.push(Output::Join(waiter.token, response));
                    }
                }
            }
            // The leader may already have the old member id: assign again.
            GroupState::CompletingRebalance => self.prepare_rebalance(group),
            _ => self.maybe_complete_join_phase(group),
        }
    }

    fn maybe_prepare_rebalance_or_complete_join(&mut self, group: &mut ClassicGroup) {
        if group.can_rebalance() {
            self.prepare_rebalance(group);
        } else {
            self.maybe_complete_join_phase(group);
        }
    }

    /// Completes the join phase once everyone rejoined, except during the
    /// initial rebalance delay, which only its timer ends.
    fn maybe_complete_join_phase(&mut self, group: &mut ClassicGroup) {
        if group.is(GroupState::PreparingRebalance) && group.previous_state != GroupState::Empty && group.has_all_members_joined() {
            self.complete_join(group);
        }
    }

    fn prepare_rebalance(&mut self, group: &mut ClassicGroup) {
        if group.is(GroupState::CompletingRebalance) {
            self.reset_and_propagate_assignment(group, ResponseError::RebalanceInProgress);
        }
        group.pending_sync_members.clear();
        self.timer.cancel(&TimerKey::Sync(group.group_id.clone()));
        let initial = group.is(GroupState::Empty);
        if initial {
            // A new group: give more members time to join before the first assignment.
            let delay_ms = self.config.initial_rebalance_delay_ms;
            let remaining_ms = (i64::from(group.rebalance_timeout_ms()) - delay_ms).max(0);
            let at = self.now.saturating_add(delay_ms);
            self.timer.schedule(TimerKey::Join(group.group_id.clone()), at, TimerAction::InitialJoin { delay_ms, remaining_ms });
        }
        group.transition_to(GroupState::PreparingRebalance, self.now);
        tracing::debug!(group = %group.group_id, generation = group.generation_id, "preparing to rebalance");
        if !initial {
            if group.has_all_members_joined() {
                self.complete_join(group);
            } else {
                let at = self.now.saturating_add(i64::from(group.rebalance_timeout_ms()));
                self.timer.schedule(TimerKey::Join(group.group_id.clone()), at, TimerAction::CompleteJoin);
            }
        }
    }

    /// The initial rebalance delay ran out: extend it while members keep
    /// joining (up to the rebalance timeout), else complete the join.
    fn initial_rebalance_due(&mut self, group: &mut ClassicGroup, delay_ms: i64, remaining_ms: i64) {
        if group.new_member_added && remaining_ms != 0 {
            group.new_member_added = false;
            let new_delay = self.config.initial_rebalance_delay_ms.min(remaining_ms);
            let new_remaining = (remaining_ms - delay_ms).max(0);
            let at = self.now.saturating_add(new_delay);
            let action = TimerAction::InitialJoin { delay_ms: new_delay, remaining_ms: new_remaining };
            self.timer.schedule(TimerKey::Join(group.group_id.clone()), at, action);
        } else {
            self.complete_join(group);
        }
    }

    /// Kafka's `completeClassicGroupJoin`: drop dynamic members that did not
    /// rejoin, start the next generation, answer every parked JoinGroup.
    fn complete_join(&mut self, group: &mut ClassicGroup) {
        self.timer.cancel(&TimerKey::Join(group.group_id.clone()));
        let not_rejoined: Vec<String> =
            group.members.values().filter(|m| m.awaiting_join.is_none() && m.group_instance_id.is_none()).map(|m| m.member_id.clone()).collect();
        for member_id in not_rejoined {
            self.remove_member(group, &member_id);
        }
        if group.is(GroupState::Dead) {
            return;
        }
        if !group.maybe_elect_new_joined_leader() && !group.members.is_empty() {
            // Nobody rejoined: wait another round for the session timeouts to clear them.
            let at = self.now.saturating_add(i64::from(group.rebalance_timeout_ms()));
            self.timer.schedule(TimerKey::Join(group.group_id.clone()), at, TimerAction::CompleteJoin);
            return;
        }
        group.generation_id = group.generation_id.wrapping_add(1);
        group.pending_sync_members.clear();
        if group.members.is_empty() {
            group.protocol_name = None;
            group.transition_to(GroupState::Empty, self.now);
            tracing::debug!(group = %group.group_id, generation = group.generation_id, "group is empty");
            self.append_group(group);
            return;
        }
        group.protocol_name = group.select_protocol();
        group.transition_to(GroupState::CompletingRebalance, self.now);
        tracing::debug!(group = %group.group_id, generation = group.generation_id, members = group.members.len(), "rebalance: join phase complete");
        let ids: Vec<String> = group.members.keys().cloned().collect();
        for member_id in ids {
            let response = generation_response(group, &member_id, group.is_leader(&member_id));
            if let Some(member) = group.members.get_mut(&member_id) {
                if let Some(waiter) = member.awaiting_join.take() {
                    self.out.push(Output::Join(waiter.token, response));
                }
                member.is_new = false;
            }
            self.reschedule_heartbeat(group, &member_id, None);
            group.pending_sync_members.insert(member_id);
        }
        let at = self.now.saturating_add(i64::from(group.rebalance_timeout_ms()));
        let action = TimerAction::ExpireSync { generation: group.generation_id };
        self.timer.schedule(TimerKey::Sync(group.group_id.clone()), at, action);
    }

    fn sync(&mut self, group: &mut ClassicGroup, req: &SyncGroupRequest, token: Token) {
        let member_id = req.member_id.to_string();
        if let Err(error) = validate_sync(group, req) {
            self.out.push(Output::Sync(token, sync_error(error)));
            return;
        }
        match group.state {
            GroupState::PreparingRebalance => self.out.push(Output::Sync(token, sync_error(ResponseError::RebalanceInProgress))),
            GroupState::CompletingRebalance => {
                if let Some(member) = group.members.get_mut(&member_id) {
                    member.awaiting_sync = Some(token);
                }
                self.remove_pending_sync_member(group, &member_id);
                if group.is_leader(&member_id) {
                    let ids: Vec<String> = group.members.keys().cloned().collect();
                    for id in ids {
                        let assignment = req.assignments.iter().find(|a| a.member_id.as_str() == id).map(|a| a.assignment.clone());
                        if let Some(member) = group.members.get_mut(&id) {
                            member.assignment = assignment.unwrap_or_default();
                        }
                    }
                    self.append_group(group);
                    self.propagate_assignment(group, None);
                    group.transition_to(GroupState::Stable, self.now);
                    tracing::debug!(group = %group.group_id, generation = group.generation_id, "rebalance complete");
                }
            }
            GroupState::Stable => {
                self.remove_pending_sync_member(group, &member_id);
                let assignment = group.members.get(&member_id).map(|m| m.assignment.clone()).unwrap_or_default();
                let response = SyncGroupResponse::default()
                    .with_protocol_type(group.protocol_type.clone().map(s))
                    .with_protocol_name(group.protocol_name.clone().map(s))
                    .with_assignment(assignment);
                self.out.push(Output::Sync(token, response));
            }
            GroupState::Empty | GroupState::Dead => self.out.push(Output::Sync(token, sync_error(ResponseError::UnknownMemberId))),
        }
    }

    fn remove_pending_sync_member(&mut self, group: &mut ClassicGroup, member_id: &str) {
        group.pending_sync_members.remove(member_id);
        let done = match group.state {
            GroupState::CompletingRebalance | GroupState::Stable => group.pending_sync_members.is_empty(),
            _ => true,
        };
        if done {
            self.timer.cancel(&TimerKey::Sync(group.group_id.clone()));
        }
    }

    /// Answers every parked SyncGroup: with its assignment, or with `error`
    /// (and an empty assignment) when the rebalance is abandoned.
    fn propagate_assignment(&mut self, group: &mut ClassicGroup, error: Option<ResponseError>) {
        let ids: Vec<String> = group.members.keys().cloned().collect();
        for id in ids {
            let Some(member) = group.members.get_mut(&id) else { continue };
            let Some(token) = member.awaiting_sync.take() else { continue };
            let response = match error {
                Some(error) => sync_error(error),
                None => SyncGroupResponse::default()
                    .with_protocol_type(group.protocol_type.clone().map(s))
                    .with_protocol_name(group.protocol_name.clone().map(s))
                    .with_assignment(member.assignment.clone()),
            };
            self.out.push(Output::Sync(token, response));
            // Sessions restart once the assignment is out (the wait may have been long).
            self.reschedule_heartbeat(group, &id, None);
        }
    }

    fn reset_and_propagate_assignment(&mut self, group: &mut ClassicGroup, error: ResponseError) {
        for member in group.members.values_mut() {
            member.assignment = Bytes::new();
        }
        self.propagate_assignment(group, Some(error));
    }

    fn expire_pending_sync(&mut self, group: &mut ClassicGroup, generation: i32) {
        if generation != group.generation_id || !matches!(group.state, GroupState::CompletingRebalance | GroupState::Stable) {
            return;
        }
        if group.pending_sync_members.is_empty() {
            return;
        }
        let late: Vec<String> = group.pending_sync_members.iter().cloned().collect();
        tracing::info!(group = %group.group_id, members = ?late, "removing members that did not sync in time");
        for member_id in late {
            self.remove_member(group, &member_id);
        }
        self.prepare_rebalance(group);
    }

    fn expire_heartbeat(&mut self, group: &mut ClassicGroup, member_id: &str) {
        if group.is(GroupState::Dead) {
            return;
        }
        if group.pending_join_members.remove(member_id) {
            if group.is(GroupState::PreparingRebalance) && group.has_all_members_joined() {
                self.complete_join(group);
            }
            return;
        }
        let Some(member) = group.members.get(member_id) else { return };
        if member.has_satisfied_heartbeat() {
            return;
        }
        tracing::info!(group = %group.group_id, member = member_id, "member's session expired; removing it");
        self.remove_member(group, member_id);
        match group.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.maybe_prepare_rebalance_or_complete_join(group),
            GroupState::PreparingRebalance if group.has_all_members_joined() => self.complete_join(group),
            _ => {}
        }
    }

    /// One member of a LeaveGroup request.
    fn leave_one(&mut self, group: &mut ClassicGroup, member_id: &str, instance: Option<&str>) -> Result<(), ResponseError> {
        if member_id.is_empty() {
            // Administrative removal by instance id (KIP-345).
            let existing = instance.and_then(|i| group.static_member_id(i)).map(str::to_string);
            let existing = existing.ok_or(ResponseError::UnknownMemberId)?;
            self.remove_member(group, &existing);
            return Ok(());
        }
        if group.pending_join_members.remove(member_id) {
            self.timer.cancel(&TimerKey::Heartbeat { group: group.group_id.clone(), member: member_id.to_string() });
            return Ok(());
        }
        group.validate_member(member_id, instance)?;
        self.remove_member(group, member_id);
        Ok(())
    }

    /// Removes a member, answering whatever it has parked with UNKNOWN_MEMBER_ID.
    fn remove_member(&mut self, group: &mut ClassicGroup, member_id: &str) {
        self.timer.cancel(&TimerKey::Heartbeat { group: group.group_id.clone(), member: member_id.to_string() });
        let Some(member) = group.remove(member_id) else { return };
        if let Some(waiter) = member.awaiting_join {
            self.out.push(Output::Join(waiter.token, join_error("", ResponseError::UnknownMemberId)));
        }
        if let Some(token) = member.awaiting_sync {
            self.out.push(Output::Sync(token, sync_error(ResponseError::UnknownMemberId)));
        }
    }

    /// Restarts a member's session (`timeout_ms`, or its session timeout).
    fn reschedule_heartbeat(&mut self, group: &ClassicGroup, member_id: &str, timeout_ms: Option<i64>) {
        let Some(member) = group.members.get(member_id) else { return };
        let timeout = timeout_ms.unwrap_or(i64::from(member.session_timeout_ms));
        let key = TimerKey::Heartbeat { group: group.group_id.clone(), member: member_id.to_string() };
        self.timer.schedule(key, self.now.saturating_add(timeout), TimerAction::ExpireHeartbeat);
    }

    fn append_group(&mut self, group: &ClassicGroup) {
        let records = vec![OffsetsRecord::Group { group_id: group.group_id.clone(), value: Some(group.snapshot()) }];
        self.out.push(Output::Append { group_id: group.group_id.clone(), records });
    }
}

/// Kafka's `validateSyncGroup`.
fn validate_sync(group: &ClassicGroup, req: &SyncGroupRequest) -> Result<(), ResponseError> {
    if group.is(GroupState::Dead) {
        return Err(ResponseError::CoordinatorNotAvailable);
    }
    group.validate_member(&req.member_id, req.group_instance_id.as_deref())?;
    if req.generation_id != group.generation_id {
        return Err(ResponseError::IllegalGeneration);
    }
    let inconsistent = |asked: &Option<StrBytes>, actual: &Option<String>| asked.as_ref().is_some_and(|a| actual.as_deref() != Some(a.as_str()));
    if inconsistent(&req.protocol_type, &group.protocol_type) || inconsistent(&req.protocol_name, &group.protocol_name) {
        return Err(ResponseError::InconsistentGroupProtocol);
    }
    Ok(())
}

#[path = "txn_offsets.rs"]
mod txn_offsets;

#[cfg(test)]
#[path = "coordinator_tests.rs"]
mod tests;
