//! Request schemas: produce, fetch and offsets lookup.
//! Transcribed from kafka-protocol 0.18's decoders (see `guard::dsl`).

use crate::guard::dsl::{f, Field, Message, Ty::*};

/// ProduceRequest: versions 3-13, flexible from 9.
pub(crate) const PRODUCE: Message = Message { versions: (3, 13), flexible_from: Some(9), fields: &[
    f("transactional_id", String).nullable(),
    f("acks", Int16),
    f("timeout_ms", Int32),
    f("topic_data", Array(&Struct(PRODUCE_TOPIC_PRODUCE_DATA))),
]};
const PRODUCE_PARTITION_PRODUCE_DATA: &[Field] = &[
    f("index", Int32),
    f("records", Bytes).nullable(),
];
const PRODUCE_TOPIC_PRODUCE_DATA: &[Field] = &[
    f("name", String).until(12),
    f("topic_id", Uuid).since(13),
    f("partition_data", Array(&Struct(PRODUCE_PARTITION_PRODUCE_DATA))),
];

/// FetchRequest: versions 4-18, flexible from 12.
pub(crate) const FETCH: Message = Message { versions: (4, 18), flexible_from: Some(12), fields: &[
    f("replica_id", Int32).until(14),
    f("max_wait_ms", Int32),
    f("min_bytes", Int32),
    f("max_bytes", Int32),
    f("isolation_level", Int8),
    f("session_id", Int32).since(7),
    f("session_epoch", Int32).since(7),
    f("topics", Array(&Struct(FETCH_TOPIC))),
    f("forgotten_topics_data", Array(&Struct(FETCH_FORGOTTEN_TOPIC))).since(7),
    f("rack_id", String).since(11),
    f("cluster_id", String).nullable().tag(0),
    f("replica_state", Struct(FETCH_REPLICA_STATE)).since(15).tag(1),
]};
const FETCH_PARTITION: &[Field] = &[
    f("partition", Int32),
    f("current_leader_epoch", Int32).since(9),
    f("fetch_offset", Int64),
    f("last_fetched_epoch", Int32).since(12),
    f("log_start_offset", Int64).since(5),
    f("partition_max_bytes", Int32),
    f("replica_directory_id", Uuid).since(17).tag(0),
    f("high_watermark", Int64).since(18).tag(1),
];
const FETCH_TOPIC: &[Field] = &[
    f("topic", String).until(12),
    f("topic_id", Uuid).since(13),
    f("partitions", Array(&Struct(FETCH_PARTITION))),
];
const FETCH_FORGOTTEN_TOPIC: &[Field] = &[
    f("topic", String).versions(7, 12),
    f("topic_id", Uuid).since(13),
    f("partitions", Array(&Int32)).since(7),
];
const FETCH_REPLICA_STATE: &[Field] = &[
    f("replica_id", Int32).since(15),
    f("replica_epoch", Int64).since(15),
];

/// ListOffsetsRequest: versions 1-10, flexible from 6.
pub(crate) const LIST_OFFSETS: Message = Message { versions: (1, 10), flexible_from: Some(6), fields: &[
    f("replica_id", Int32),
    f("isolation_level", Int8).since(2),
    f("topics", Array(&Struct(LIST_OFFSETS_TOPIC))),
    f("timeout_ms", Int32).since(10),
]};
const LIST_OFFSETS_PARTITION: &[Field] = &[
    f("partition_index", Int32),
    f("current_leader_epoch", Int32).since(4),
    f("timestamp", Int64),
];
const LIST_OFFSETS_TOPIC: &[Field] = &[
    f("name", String),
    f("partitions", Array(&Struct(LIST_OFFSETS_PARTITION))),
];

/// OffsetForLeaderEpochRequest: versions 2-4, flexible from 4.
pub(crate) const OFFSET_FOR_LEADER_EPOCH: Message = Message { versions: (2, 4), flexible_from: Some(4), fields: &[
    f("replica_id", Int32).since(3),
    f("topics", Array(&Struct(OFFSET_FOR_LEADER_EPOCH_OFFSET_FOR_LEADER_TOPIC))),
]};
const OFFSET_FOR_LEADER_EPOCH_OFFSET_FOR_LEADER_PARTITION: &[Field] = &[
    f("partition", Int32),
    f("current_leader_epoch", Int32),
    f("leader_epoch", Int32),
];
const OFFSET_FOR_LEADER_EPOCH_OFFSET_FOR_LEADER_TOPIC: &[Field] = &[
    f("topic", String),
    f("partitions", Array(&Struct(OFFSET_FOR_LEADER_EPOCH_OFFSET_FOR_LEADER_PARTITION))),
];
