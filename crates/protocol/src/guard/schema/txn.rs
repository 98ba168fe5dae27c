//! Request schemas: idempotent and transactional producers.
//! Transcribed from kafka-protocol 0.18's decoders (see `guard::dsl`).

use crate::guard::dsl::{f, Field, Message, Ty::*};

/// InitProducerIdRequest: versions 0-5, flexible from 2.
pub(crate) const INIT_PRODUCER_ID: Message = Message { versions: (0, 5), flexible_from: Some(2), fields: &[
    f("transactional_id", String).nullable(),
    f("transaction_timeout_ms", Int32),
    f("producer_id", Int64).since(3),
    f("producer_epoch", Int16).since(3),
]};

/// AddPartitionsToTxnRequest: versions 0-5, flexible from 3.
pub(crate) const ADD_PARTITIONS_TO_TXN: Message = Message { versions: (0, 5), flexible_from: Some(3), fields: &[
    f("transactions", Array(&Struct(ADD_PARTITIONS_TO_TXN_TRANSACTION))).since(4),
    f("v3_and_below_transactional_id", String).until(3),
    f("v3_and_below_producer_id", Int64).until(3),
    f("v3_and_below_producer_epoch", Int16).until(3),
    f("v3_and_below_topics", Array(&Struct(ADD_PARTITIONS_TO_TXN_TOPIC))).until(3),
]};
const ADD_PARTITIONS_TO_TXN_TOPIC: &[Field] = &[
    f("name", String),
    f("partitions", Array(&Int32)),
];
const ADD_PARTITIONS_TO_TXN_TRANSACTION: &[Field] = &[
    f("transactional_id", String).since(4),
    f("producer_id", Int64).since(4),
    f("producer_epoch", Int16).since(4),
    f("verify_only", Bool).since(4),
    f("topics", Array(&Struct(ADD_PARTITIONS_TO_TXN_TOPIC))).since(4),
];

/// AddOffsetsToTxnRequest: versions 0-4, flexible from 3.
pub(crate) const ADD_OFFSETS_TO_TXN: Message = Message { versions: (0, 4), flexible_from: Some(3), fields: &[
    f("transactional_id", String),
    f("producer_id", Int64),
    f("producer_epoch", Int16),
    f("group_id", String),
]};

/// EndTxnRequest: versions 0-5, flexible from 3.
pub(crate) const END_TXN: Message = Message { versions: (0, 5), flexible_from: Some(3), fields: &[
    f("transactional_id", String),
    f("producer_id", Int64),
    f("producer_epoch", Int16),
    f("committed", Bool),
]};

/// TxnOffsetCommitRequest: versions 0-5, flexible from 3.
pub(crate) const TXN_OFFSET_COMMIT: Message = Message { versions: (0, 5), flexible_from: Some(3), fields: &[
    f("transactional_id", String),
    f("group_id", String),
    f("producer_id", Int64),
    f("producer_epoch", Int16),
    f("generation_id", Int32).since(3),
    f("member_id", String).since(3),
    f("group_instance_id", String).since(3).nullable(),
    f("topics", Array(&Struct(TXN_OFFSET_COMMIT_TOPIC))),
]};
const TXN_OFFSET_COMMIT_PARTITION: &[Field] = &[
    f("partition_index", Int32),
    f("committed_offset", Int64),
    f("committed_leader_epoch", Int32).since(2),
    f("committed_metadata", String).nullable(),
];
const TXN_OFFSET_COMMIT_TOPIC: &[Field] = &[
    f("name", String),
    f("partitions", Array(&Struct(TXN_OFFSET_COMMIT_PARTITION))),
];

/// DescribeProducersRequest: versions 0-0, flexible from 0.
pub(crate) const DESCRIBE_PRODUCERS: Message = Message { versions: (0, 0), flexible_from: Some(0), fields: &[
    f("topics", Array(&Struct(DESCRIBE_PRODUCERS_TOPIC_REQUEST))),
]};
const DESCRIBE_PRODUCERS_TOPIC_REQUEST: &[Field] = &[
    f("name", String),
    f("partition_indexes", Array(&Int32)),
];

/// DescribeTransactionsRequest: versions 0-0, flexible from 0.
pub(crate) const DESCRIBE_TRANSACTIONS: Message = Message { versions: (0, 0), flexible_from: Some(0), fields: &[
    f("transactional_ids", Array(&String)),
]};

/// ListTransactionsRequest: versions 0-2, flexible from 0.
pub(crate) const LIST_TRANSACTIONS: Message = Message { versions: (0, 2), flexible_from: Some(0), fields: &[
    f("state_filters", Array(&String)),
    f("producer_id_filters", Array(&Int64)),
    f("duration_filter", Int64).since(1),
    f("transactional_id_pattern", String).since(2).nullable(),
]};
