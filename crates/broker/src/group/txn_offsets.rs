//! Transactional offset commits (TxnOffsetCommit, KIP-98/KIP-447), after
//! Kafka's `OffsetMetadataManager` (`pendingTransactionalOffsets`,
//! `openTransactionsByGroup`, `replayEndTransactionMarker`).
//!
//! Offsets a producer commits inside its transaction are written to
//! `__consumer_offsets` as a transactional batch of that producer, but stay
//! pending (invisible to OffsetFetch) until the transaction coordinator's
//! marker lands in that partition: COMMIT makes them the group's committed
//! offsets, ABORT drops them. While any are pending for a partition,
//! OffsetFetch with `require_stable` answers UNSTABLE_OFFSET_COMMIT for it,
//! the offset does not expire, and the group is not removed.
//!
//! A regular commit of the same partition made after a transactional one
//! (while it is pending) wins when the transaction commits, as Kafka keeps the
//! commit with the higher record offset; an offset tombstone drops the
//! pending ones too.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kafka_protocol::error::ResponseError;

use super::GroupCoordinator;
use crate::group::classic::{ClassicGroup, GroupState};
use crate::group::snapshot::CommittedOffset;

/// (group, topic, partition)
type Key = (String, String, i32);

struct Pending {
    offset: CommittedOffset,
    /// A regular commit of the partition came after this one.
    superseded: bool,
}

#[derive(Default)]
pub(super) struct PendingTxnOffsets {
    by_producer: HashMap<i64, BTreeMap<Key, Pending>>,
    /// Producers with pending offsets, per group.
    open_by_group: HashMap<String, BTreeSet<i64>>,
}

impl PendingTxnOffsets {
    pub(super) fn has_pending(&self, group_id: &str, topic: &str, partition: i32) -> bool {
        let Some(producers) = self.open_by_group.get(group_id) else { return false };
        let key = (group_id.to_string(), topic.to_string(), partition);
        producers.iter().any(|p| self.by_producer.get(p).is_some_and(|offsets| offsets.contains_key(&key)))
    }

    pub(super) fn has_open_transactions(&self, group_id: &str) -> bool {
        self.open_by_group.contains_key(group_id)
    }

    /// The pending offsets of the group's open transactions, per producer.
    fn of_group(&mut self, group_id: &str) -> impl Iterator<Item = &mut BTreeMap<Key, Pending>> {
        let producers = self.open_by_group.get(group_id).cloned().unwrap_or_default();
        self.by_producer.iter_mut().filter(move |(p, _)| producers.contains(p)).map(|(_, offsets)| offsets)
    }

    /// A regular commit of the partition: the pending ones lose to it.
    pub(super) fn supersede(&mut self, group_id: &str, topic: &str, partition: i32) {
        let key = (group_id.to_string(), topic.to_string(), partition);
        for offsets in self.of_group(group_id) {
            if let Some(pending) = offsets.get_mut(&key) {
                pending.superseded = true;
            }
        }
    }

    /// An offset tombstone: the pending ones go too.
    pub(super) fn remove_partition(&mut self, group_id: &str, topic: &str, partition: i32) {
        let key = (group_id.to_string(), topic.to_string(), partition);
        for offsets in self.of_group(group_id) {
            offsets.remove(&key);
        }
    }

    /// The group is gone: its pending offsets too. Returns their partitions.
    pub(super) fn remove_group(&mut self, group_id: &str) -> Vec<(String, i32)> {
        let mut removed = BTreeSet::new();
        for producer in self.open_by_group.remove(group_id).unwrap_or_default() {
            let Some(offsets) = self.by_producer.get_mut(&producer) else { continue };
            offsets.retain(|(g, t, p), _| {
                let ours = g == group_id;
                if ours {
                    removed.insert((t.clone(), *p));
                }
                !ours
            });
            if offsets.is_empty() {
                self.by_producer.remove(&producer);
            }
        }
        removed.into_iter().collect()
    }

    fn add(&mut self, producer_id: i64, group_id: &str, topic: String, partition: i32, offset: CommittedOffset) {
        let key = (group_id.to_string(), topic, partition);
        self.by_producer.entry(producer_id).or_default().insert(key, Pending { offset, superseded: false });
        self.open_by_group.entry(group_id.to_string()).or_default().insert(producer_id);
    }

    /// The producer's transaction ended in the partitions `in_partition`
    /// accepts (by group): its offsets there leave the pending set; those to
    /// make visible (commit, not superseded) are returned.
    fn complete(&mut self, producer_id: i64, commit: bool, in_partition: &dyn Fn(&str) -> bool) -> Vec<(Key, CommittedOffset)> {
        let Some(offsets) = self.by_producer.get_mut(&producer_id) else { return Vec::new() };
        let ended: Vec<Key> = offsets.keys().filter(|(g, _, _)| in_partition(g)).cloned().collect();
        let mut visible = Vec::new();
        for key in ended {
            if let Some(pending) = offsets.remove(&key) {
                if commit && !pending.superseded {
                    visible.push((key, pending.offset));
                }
            }
        }
        if offsets.is_empty() {
            self.by_producer.remove(&producer_id);
        }
        // Every offset of the producer in these groups is gone.
        self.open_by_group.retain(|group, producers| {
            if in_partition(group) {
                producers.remove(&producer_id);
            }
            !producers.is_empty()
        });
        visible
    }
}

impl GroupCoordinator {
    /// Kafka's TxnOffsetCommit checks for classic groups
    /// (`validateTransactionalOffsetCommit`): an unknown group is created as
    /// a simple group for a negative generation, else ILLEGAL_GENERATION; the
    /// group's state is not enforced, and a commit without member id and
    /// generation is accepted whatever the state (older clients send none).
    pub fn validate_txn_offset_commit(
        &mut self,
        group_id: &str,
        member_id: &str,
        generation_id: i32,
        group_instance_id: Option<&str>,
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
            return Err(ResponseError::IllegalGeneration);
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
        }
        Ok(())
    }

    /// Transactional offsets that are in the log: pending until their
    /// transaction ends.
    pub fn stage_txn_offsets(&mut self, producer_id: i64, group_id: &str, offsets: Vec<(String, i32, CommittedOffset)>, now_ms: i64) {
        self.groups.entry(group_id.to_string()).or_insert_with(|| ClassicGroup::new(group_id, now_ms));
        for (topic, partition, offset) in offsets {
            self.txn_offsets.add(producer_id, group_id, topic, partition, offset);
        }
    }

    /// The producer's transaction ended in a partition of `__consumer_offsets`
    /// (its marker is written there, or replayed): `in_partition` says which
    /// groups that partition holds. Committed offsets become visible.
    pub fn complete_txn_offsets(&mut self, producer_id: i64, commit: bool, in_partition: &dyn Fn(&str) -> bool, now_ms: i64) -> usize {
        let visible = self.txn_offsets.complete(producer_id, commit, in_partition);
        let count = visible.len();
        for ((group_id, topic, partition), offset) in visible {
            let group = self.groups.entry(group_id.clone()).or_insert_with(|| ClassicGroup::new(&group_id, now_ms));
            group.offsets.insert((topic, partition), offset);
        }
        count
    }

    /// Whether a transaction of the group has offsets pending for the partition.
    pub fn has_pending_txn_offsets(&self, group_id: &str, topic: &str, partition: i32) -> bool {
        self.txn_offsets.has_pending(group_id, topic, partition)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::group::coordinator::GroupConfig;

    fn offset(o: i64) -> CommittedOffset {
        CommittedOffset { offset: o, leader_epoch: -1, metadata: String::new(), commit_timestamp_ms: 5, expire_timestamp_ms: None }
    }

    fn committed(c: &GroupCoordinator, group: &str, partition: i32) -> Option<i64> {
        c.committed(group, "t", partition).map(|o| o.offset)
    }

    #[test]
    fn offsets_become_visible_only_when_their_transaction_commits() {
        let mut c = GroupCoordinator::new(GroupConfig::default());
        c.validate_txn_offset_commit("g", "", -1, None, 0).unwrap();
        c.stage_txn_offsets(7, "g", vec![("t".into(), 0, offset(10)), ("t".into(), 1, offset(20))], 0);
        assert_eq!(committed(&c, "g", 0), None);
        assert!(c.has_pending_txn_offsets("g", "t", 0) && c.has_pending_txn_offsets("g", "t", 1));
        assert!(!c.has_pending_txn_offsets("g", "t", 2) && !c.has_pending_txn_offsets("h", "t", 0));
        // A marker for another producer changes nothing.
        assert_eq!(c.complete_txn_offsets(8, true, &|_| true, 0), 0);
        assert_eq!(c.complete_txn_offsets(7, true, &|_| true, 0), 2);
        assert_eq!((committed(&c, "g", 0), committed(&c, "g", 1)), (Some(10), Some(20)));
        assert!(!c.has_pending_txn_offsets("g", "t", 0));
        assert!(!c.txn_offsets.has_open_transactions("g"));
    }

    #[test]
    fn aborted_offsets_are_dropped_and_the_old_offset_stays() {
        let mut c = GroupCoordinator::new(GroupConfig::default());
        c.apply_offset_commit("g", vec![("t".into(), 0, offset(3))], 0);
        c.stage_txn_offsets(7, "g", vec![("t".into(), 0, offset(10))], 0);
        assert_eq!(c.complete_txn_offsets(7, false, &|_| true, 0), 0);
        assert_eq!(committed(&c, "g", 0), Some(3));
        assert!(!c.has_pending_txn_offsets("g", "t", 0));
    }

    #[test]
    fn a_later_regular_commit_wins_and_a_tombstone_drops_pending_offsets() {
        let mut c = GroupCoordinator::new(GroupConfig::default());
        c.stage_txn_offsets(7, "g", vec![("t".into(), 0, offset(10)), ("t".into(), 1, offset(11))], 0);
        c.apply_offset_commit("g", vec![("t".into(), 0, offset(4))], 0);
        assert!(c.has_pending_txn_offsets("g", "t", 0), "still pending until the marker");
        c.load_offset("g", "t", 1, None, 0);
        assert!(!c.has_pending_txn_offsets("g", "t", 1));
        c.complete_txn_offsets(7, true, &|_| true, 0);
        assert_eq!((committed(&c, "g", 0), committed(&c, "g", 1)), (Some(4), None));
    }

    #[test]
    fn a_marker_ends_only_the_groups_of_its_partition() {
        let mut c = GroupCoordinator::new(GroupConfig::default());
        c.stage_txn_offsets(7, "a", vec![("t".into(), 0, offset(1))], 0);
        c.stage_txn_offsets(7, "b", vec![("t".into(), 0, offset(2))], 0);
        assert_eq!(c.complete_txn_offsets(7, true, &|g| g == "a", 0), 1);
        assert_eq!((committed(&c, "a", 0), committed(&c, "b", 0)), (Some(1), None));
        assert!(c.has_pending_txn_offsets("b", "t", 0) && c.txn_offsets.has_open_transactions("b"));
        assert!(!c.txn_offsets.has_open_transactions("a"));
        assert_eq!(c.complete_txn_offsets(7, true, &|g| g == "b", 0), 1);
        assert_eq!(committed(&c, "b", 0), Some(2));
    }

    #[test]
    fn txn_commits_check_members_but_not_the_group_state() {
        let mut c = GroupCoordinator::new(GroupConfig::default());
        assert_eq!(c.validate_txn_offset_commit("", "", -1, None, 0), Err(ResponseError::InvalidGroupId));
        assert_eq!(c.validate_txn_offset_commit("new", "m", 1, None, 0), Err(ResponseError::IllegalGeneration));
        c.validate_txn_offset_commit("simple", "", -1, None, 0).unwrap();
        assert!(c.groups.contains_key("simple"));
        assert_eq!(c.validate_txn_offset_commit("simple", "m", 0, None, 0), Err(ResponseError::UnknownMemberId));
        // Without member and generation (TxnOffsetCommit v0-2), accepted.
        c.validate_txn_offset_commit("simple", "", -1, None, 0).unwrap();
    }

    #[test]
    fn removing_a_group_drops_its_pending_offsets() {
        let mut c = GroupCoordinator::new(GroupConfig::default());
        c.stage_txn_offsets(7, "g", vec![("t".into(), 0, offset(1)), ("u".into(), 2, offset(1))], 0);
        c.stage_txn_offsets(7, "h", vec![("t".into(), 0, offset(1))], 0);
        assert_eq!(c.txn_offsets.remove_group("g"), vec![("t".to_string(), 0), ("u".to_string(), 2)]);
        assert!(!c.has_pending_txn_offsets("g", "t", 0) && c.has_pending_txn_offsets("h", "t", 0));
    }
}
