//! Request schemas: consumer groups and their offsets.
//! Transcribed from kafka-protocol 0.18's decoders (see `guard::dsl`).

use crate::guard::dsl::{f, Field, Message, Ty::*};

/// OffsetCommitRequest: versions 2-9, flexible from 8.
pub(crate) const OFFSET_COMMIT: Message = Message { versions: (2, 9), flexible_from: Some(8), fields: &[
    f("group_id", String),
    f("generation_id_or_member_epoch", Int32),
    f("member_id", String),
    f("group_instance_id", String).since(7).nullable(),
    f("retention_time_ms", Int64).until(4),
    f("topics", Array(&Struct(OFFSET_COMMIT_TOPIC))),
]};
const OFFSET_COMMIT_PARTITION: &[Field] = &[
    f("partition_index", Int32),
    f("committed_offset", Int64),
    f("committed_leader_epoch", Int32).since(6),
    f("committed_metadata", String).nullable(),
];
const OFFSET_COMMIT_TOPIC: &[Field] = &[
    f("name", String),
    f("partitions", Array(&Struct(OFFSET_COMMIT_PARTITION))),
];

/// OffsetFetchRequest: versions 1-9, flexible from 6.
pub(crate) const OFFSET_FETCH: Message = Message { versions: (1, 9), flexible_from: Some(6), fields: &[
    f("group_id", String).until(7),
    f("topics", Array(&Struct(OFFSET_FETCH_TOPIC))).until(7).nullable(),
    f("groups", Array(&Struct(OFFSET_FETCH_GROUP))).since(8),
    f("require_stable", Bool).since(7),
]};
const OFFSET_FETCH_GROUP: &[Field] = &[
    f("group_id", String).since(8),
    f("member_id", String).since(9).nullable(),
    f("member_epoch", Int32).since(9),
    f("topics", Array(&Struct(OFFSET_FETCH_TOPICS))).since(8).nullable(),
];
const OFFSET_FETCH_TOPIC: &[Field] = &[
    f("name", String).until(7),
    f("partition_indexes", Array(&Int32)).until(7),
];
const OFFSET_FETCH_TOPICS: &[Field] = &[
    f("name", String).since(8),
    f("partition_indexes", Array(&Int32)).since(8),
];

/// FindCoordinatorRequest: versions 0-6, flexible from 3.
pub(crate) const FIND_COORDINATOR: Message = Message { versions: (0, 6), flexible_from: Some(3), fields: &[
    f("key", String).until(3),
    f("key_type", Int8).since(1),
    f("coordinator_keys", Array(&String)).since(4),
]};

/// JoinGroupRequest: versions 0-9, flexible from 6.
pub(crate) const JOIN_GROUP: Message = Message { versions: (0, 9), flexible_from: Some(6), fields: &[
    f("group_id", String),
    f("session_timeout_ms", Int32),
    f("rebalance_timeout_ms", Int32).since(1),
    f("member_id", String),
    f("group_instance_id", String).since(5).nullable(),
    f("protocol_type", String),
    f("protocols", Array(&Struct(JOIN_GROUP_PROTOCOL))),
    f("reason", String).since(8).nullable(),
]};
const JOIN_GROUP_PROTOCOL: &[Field] = &[
    f("name", String),
    f("metadata", Bytes),
];

/// HeartbeatRequest: versions 0-4, flexible from 4.
pub(crate) const HEARTBEAT: Message = Message { versions: (0, 4), flexible_from: Some(4), fields: &[
    f("group_id", String),
    f("generation_id", Int32),
    f("member_id", String),
    f("group_instance_id", String).since(3).nullable(),
]};

/// LeaveGroupRequest: versions 0-5, flexible from 4.
pub(crate) const LEAVE_GROUP: Message = Message { versions: (0, 5), flexible_from: Some(4), fields: &[
    f("group_id", String),
    f("member_id", String).until(2),
    f("members", Array(&Struct(LEAVE_GROUP_MEMBER_IDENTITY))).since(3),
]};
const LEAVE_GROUP_MEMBER_IDENTITY: &[Field] = &[
    f("member_id", String).since(3),
    f("group_instance_id", String).since(3).nullable(),
    f("reason", String).since(5).nullable(),
];

/// SyncGroupRequest: versions 0-5, flexible from 4.
pub(crate) const SYNC_GROUP: Message = Message { versions: (0, 5), flexible_from: Some(4), fields: &[
    f("group_id", String),
    f("generation_id", Int32),
    f("member_id", String),
    f("group_instance_id", String).since(3).nullable(),
    f("protocol_type", String).since(5).nullable(),
    f("protocol_name", String).since(5).nullable(),
    f("assignments", Array(&Struct(SYNC_GROUP_ASSIGNMENT))),
]};
const SYNC_GROUP_ASSIGNMENT: &[Field] = &[
    f("member_id", String),
    f("assignment", Bytes),
];

/// DescribeGroupsRequest: versions 0-6, flexible from 5.
pub(crate) const DESCRIBE_GROUPS: Message = Message { versions: (0, 6), flexible_from: Some(5), fields: &[
    f("groups", Array(&String)),
    f("include_authorized_operations", Bool).since(3),
]};

/// ListGroupsRequest: versions 0-5, flexible from 3.
pub(crate) const LIST_GROUPS: Message = Message { versions: (0, 5), flexible_from: Some(3), fields: &[
    f("states_filter", Array(&String)).since(4),
    f("types_filter", Array(&String)).since(5),
]};

/// DeleteGroupsRequest: versions 0-2, flexible from 2.
pub(crate) const DELETE_GROUPS: Message = Message { versions: (0, 2), flexible_from: Some(2), fields: &[
    f("groups_names", Array(&String)),
]};

/// OffsetDeleteRequest: versions 0-0, flexible never.
pub(crate) const OFFSET_DELETE: Message = Message { versions: (0, 0), flexible_from: None, fields: &[
    f("group_id", String),
    f("topics", Array(&Struct(OFFSET_DELETE_TOPIC))),
]};
const OFFSET_DELETE_PARTITION: &[Field] = &[
    f("partition_index", Int32),
];
const OFFSET_DELETE_TOPIC: &[Field] = &[
    f("name", String),
    f("partitions", Array(&Struct(OFFSET_DELETE_PARTITION))),
];
