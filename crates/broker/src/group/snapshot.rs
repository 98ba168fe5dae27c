//! What the coordinator persists: group metadata (who is in the group, what
//! they were assigned) and committed offsets. These mirror Kafka's
//! `GroupMetadataValue` and `OffsetCommitValue` records.

use bytes::Bytes;

/// A group as stored after each completed rebalance and when it empties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupSnapshot {
    pub group_id: String,
    /// Empty for groups that only commit offsets ("simple" groups).
    pub protocol_type: String,
    pub generation_id: i32,
    pub protocol_name: Option<String>,
    pub leader: Option<String>,
    /// When the group entered its current state.
    pub state_timestamp_ms: i64,
    pub members: Vec<MemberSnapshot>,
}

/// One member of a stored group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberSnapshot {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    /// The member's metadata for the selected protocol (its subscription).
    pub subscription: Bytes,
    /// What the leader assigned it.
    pub assignment: Bytes,
}

/// A committed offset of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    /// -1 when the client did not send one.
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp_ms: i64,
    /// Only set by old OffsetCommit versions (v1 with a retention time).
    pub expire_timestamp_ms: Option<i64>,
}
