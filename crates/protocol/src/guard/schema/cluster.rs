//! Request schemas: handshake and cluster discovery.
//! Transcribed from kafka-protocol 0.18's decoders (see `guard::dsl`).

use crate::guard::dsl::{f, Field, Message, Ty::*};

/// ApiVersionsRequest: versions 0-4, flexible from 3.
pub(crate) const API_VERSIONS: Message = Message { versions: (0, 4), flexible_from: Some(3), fields: &[
    f("client_software_name", String).since(3),
    f("client_software_version", String).since(3),
]};

/// SaslHandshakeRequest: versions 0-1, flexible never.
pub(crate) const SASL_HANDSHAKE: Message = Message { versions: (0, 1), flexible_from: None, fields: &[
    f("mechanism", String),
]};

/// SaslAuthenticateRequest: versions 0-2, flexible from 2.
pub(crate) const SASL_AUTHENTICATE: Message = Message { versions: (0, 2), flexible_from: Some(2), fields: &[
    f("auth_bytes", Bytes),
]};

/// MetadataRequest: versions 0-13, flexible from 9.
pub(crate) const METADATA: Message = Message { versions: (0, 13), flexible_from: Some(9), fields: &[
    f("topics", Array(&Struct(METADATA_TOPIC))).nullable(),
    f("allow_auto_topic_creation", Bool).since(4),
    f("include_cluster_authorized_operations", Bool).versions(8, 10),
    f("include_topic_authorized_operations", Bool).since(8),
]};
const METADATA_TOPIC: &[Field] = &[
    f("topic_id", Uuid).since(10),
    f("name", String).nullable(),
];

/// DescribeClusterRequest: versions 0-2, flexible from 0.
pub(crate) const DESCRIBE_CLUSTER: Message = Message { versions: (0, 2), flexible_from: Some(0), fields: &[
    f("include_cluster_authorized_operations", Bool),
    f("endpoint_type", Int8).since(1),
    f("include_fenced_brokers", Bool).since(2),
]};
