//! Request schemas: topic and partition administration.
//! Transcribed from kafka-protocol 0.18's decoders (see `guard::dsl`).

use crate::guard::dsl::{f, Field, Message, Ty::*};

/// CreateTopicsRequest: versions 2-7, flexible from 5.
pub(crate) const CREATE_TOPICS: Message = Message { versions: (2, 7), flexible_from: Some(5), fields: &[
    f("topics", Array(&Struct(CREATE_TOPICS_CREATABLE_TOPIC))),
    f("timeout_ms", Int32),
    f("validate_only", Bool),
]};
const CREATE_TOPICS_CREATABLE_REPLICA_ASSIGNMENT: &[Field] = &[
    f("partition_index", Int32),
    f("broker_ids", Array(&Int32)),
];
const CREATE_TOPICS_CREATABLE_TOPIC: &[Field] = &[
    f("name", String),
    f("num_partitions", Int32),
    f("replication_factor", Int16),
    f("assignments", Array(&Struct(CREATE_TOPICS_CREATABLE_REPLICA_ASSIGNMENT))),
    f("configs", Array(&Struct(CREATE_TOPICS_CREATABLE_TOPIC_CONFIG))),
];
const CREATE_TOPICS_CREATABLE_TOPIC_CONFIG: &[Field] = &[
    f("name", String),
    f("value", String).nullable(),
];

/// DeleteTopicsRequest: versions 1-6, flexible from 4.
pub(crate) const DELETE_TOPICS: Message = Message { versions: (1, 6), flexible_from: Some(4), fields: &[
    f("topics", Array(&Struct(DELETE_TOPICS_DELETE_TOPIC_STATE))).since(6),
    f("topic_names", Array(&String)).until(5),
    f("timeout_ms", Int32),
]};
const DELETE_TOPICS_DELETE_TOPIC_STATE: &[Field] = &[
    f("name", String).since(6).nullable(),
    f("topic_id", Uuid).since(6),
];

/// CreatePartitionsRequest: versions 0-3, flexible from 2.
pub(crate) const CREATE_PARTITIONS: Message = Message { versions: (0, 3), flexible_from: Some(2), fields: &[
    f("topics", Array(&Struct(CREATE_PARTITIONS_TOPIC))),
    f("timeout_ms", Int32),
    f("validate_only", Bool),
]};
const CREATE_PARTITIONS_ASSIGNMENT: &[Field] = &[
    f("broker_ids", Array(&Int32)),
];
const CREATE_PARTITIONS_TOPIC: &[Field] = &[
    f("name", String),
    f("count", Int32),
    f("assignments", Array(&Struct(CREATE_PARTITIONS_ASSIGNMENT))).nullable(),
];

/// DeleteRecordsRequest: versions 0-2, flexible from 2.
pub(crate) const DELETE_RECORDS: Message = Message { versions: (0, 2), flexible_from: Some(2), fields: &[
    f("topics", Array(&Struct(DELETE_RECORDS_TOPIC))),
    f("timeout_ms", Int32),
]};
const DELETE_RECORDS_PARTITION: &[Field] = &[
    f("partition_index", Int32),
    f("offset", Int64),
];
const DELETE_RECORDS_TOPIC: &[Field] = &[
    f("name", String),
    f("partitions", Array(&Struct(DELETE_RECORDS_PARTITION))),
];
