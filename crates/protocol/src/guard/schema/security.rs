//! Request schemas: ACLs and SCRAM credentials.
//! Transcribed from kafka-protocol 0.18's decoders (see `guard::dsl`).

use crate::guard::dsl::{f, Field, Message, Ty::*};

/// DescribeAclsRequest: versions 1-3, flexible from 2.
pub(crate) const DESCRIBE_ACLS: Message = Message { versions: (1, 3), flexible_from: Some(2), fields: &[
    f("resource_type_filter", Int8),
    f("resource_name_filter", String).nullable(),
    f("pattern_type_filter", Int8),
    f("principal_filter", String).nullable(),
    f("host_filter", String).nullable(),
    f("operation", Int8),
    f("permission_type", Int8),
]};

/// CreateAclsRequest: versions 1-3, flexible from 2.
pub(crate) const CREATE_ACLS: Message = Message { versions: (1, 3), flexible_from: Some(2), fields: &[
    f("creations", Array(&Struct(CREATE_ACLS_ACL_CREATION))),
]};
const CREATE_ACLS_ACL_CREATION: &[Field] = &[
    f("resource_type", Int8),
    f("resource_name", String),
    f("resource_pattern_type", Int8),
    f("principal", String),
    f("host", String),
    f("operation", Int8),
    f("permission_type", Int8),
];

/// DeleteAclsRequest: versions 1-3, flexible from 2.
pub(crate) const DELETE_ACLS: Message = Message { versions: (1, 3), flexible_from: Some(2), fields: &[
    f("filters", Array(&Struct(DELETE_ACLS_FILTER))),
]};
const DELETE_ACLS_FILTER: &[Field] = &[
    f("resource_type_filter", Int8),
    f("resource_name_filter", String).nullable(),
    f("pattern_type_filter", Int8),
    f("principal_filter", String).nullable(),
    f("host_filter", String).nullable(),
    f("operation", Int8),
    f("permission_type", Int8),
];

/// DescribeUserScramCredentialsRequest: versions 0-0, flexible from 0.
pub(crate) const DESCRIBE_USER_SCRAM_CREDENTIALS: Message = Message { versions: (0, 0), flexible_from: Some(0), fields: &[
    f("users", Array(&Struct(DESCRIBE_USER_SCRAM_CREDENTIALS_USER_NAME))).nullable(),
]};
const DESCRIBE_USER_SCRAM_CREDENTIALS_USER_NAME: &[Field] = &[
    f("name", String),
];

/// AlterUserScramCredentialsRequest: versions 0-0, flexible from 0.
pub(crate) const ALTER_USER_SCRAM_CREDENTIALS: Message = Message { versions: (0, 0), flexible_from: Some(0), fields: &[
    f("deletions", Array(&Struct(ALTER_USER_SCRAM_CREDENTIALS_SCRAM_CREDENTIAL_DELETION))),
    f("upsertions", Array(&Struct(ALTER_USER_SCRAM_CREDENTIALS_SCRAM_CREDENTIAL_UPSERTION))),
]};
const ALTER_USER_SCRAM_CREDENTIALS_SCRAM_CREDENTIAL_DELETION: &[Field] = &[
    f("name", String),
    f("mechanism", Int8),
];
const ALTER_USER_SCRAM_CREDENTIALS_SCRAM_CREDENTIAL_UPSERTION: &[Field] = &[
    f("name", String),
    f("mechanism", Int8),
    f("iterations", Int32),
    f("salt", Bytes),
    f("salted_password", Bytes),
];
