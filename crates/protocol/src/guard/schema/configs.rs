//! Request schemas: configs and log dirs.
//! Transcribed from kafka-protocol 0.18's decoders (see `guard::dsl`).

use crate::guard::dsl::{f, Field, Message, Ty::*};

/// DescribeConfigsRequest: versions 1-4, flexible from 4.
pub(crate) const DESCRIBE_CONFIGS: Message = Message { versions: (1, 4), flexible_from: Some(4), fields: &[
    f("resources", Array(&Struct(DESCRIBE_CONFIGS_RESOURCE))),
    f("include_synonyms", Bool),
    f("include_documentation", Bool).since(3),
]};
const DESCRIBE_CONFIGS_RESOURCE: &[Field] = &[
    f("resource_type", Int8),
    f("resource_name", String),
    f("configuration_keys", Array(&String)).nullable(),
];

/// AlterConfigsRequest: versions 0-2, flexible from 2.
pub(crate) const ALTER_CONFIGS: Message = Message { versions: (0, 2), flexible_from: Some(2), fields: &[
    f("resources", Array(&Struct(ALTER_CONFIGS_RESOURCE))),
    f("validate_only", Bool),
]};
const ALTER_CONFIGS_RESOURCE: &[Field] = &[
    f("resource_type", Int8),
    f("resource_name", String),
    f("configs", Array(&Struct(ALTER_CONFIGS_ALTERABLE_CONFIG))),
];
const ALTER_CONFIGS_ALTERABLE_CONFIG: &[Field] = &[
    f("name", String),
    f("value", String).nullable(),
];

/// IncrementalAlterConfigsRequest: versions 0-1, flexible from 1.
pub(crate) const INCREMENTAL_ALTER_CONFIGS: Message = Message { versions: (0, 1), flexible_from: Some(1), fields: &[
    f("resources", Array(&Struct(INCREMENTAL_ALTER_CONFIGS_ALTER_CONFIGS_RESOURCE))),
    f("validate_only", Bool),
]};
const INCREMENTAL_ALTER_CONFIGS_ALTER_CONFIGS_RESOURCE: &[Field] = &[
    f("resource_type", Int8),
    f("resource_name", String),
    f("configs", Array(&Struct(INCREMENTAL_ALTER_CONFIGS_ALTERABLE_CONFIG))),
];
const INCREMENTAL_ALTER_CONFIGS_ALTERABLE_CONFIG: &[Field] = &[
    f("name", String),
    f("config_operation", Int8),
    f("value", String).nullable(),
];

/// DescribeLogDirsRequest: versions 1-4, flexible from 2.
pub(crate) const DESCRIBE_LOG_DIRS: Message = Message { versions: (1, 4), flexible_from: Some(2), fields: &[
    f("topics", Array(&Struct(DESCRIBE_LOG_DIRS_DESCRIBABLE_LOG_DIR_TOPIC))).nullable(),
]};
const DESCRIBE_LOG_DIRS_DESCRIBABLE_LOG_DIR_TOPIC: &[Field] = &[
    f("topic", String),
    f("partitions", Array(&Int32)),
];
