//! Request schemas by API key, grouped by area. The message consts keep the
//! compact one-line-per-field form on purpose, so rustfmt leaves them alone.

#[rustfmt::skip] mod cluster;
#[rustfmt::skip] mod configs;
#[rustfmt::skip] mod data;
#[rustfmt::skip] mod groups;
#[rustfmt::skip] mod security;
#[rustfmt::skip] mod topics;
#[rustfmt::skip] mod txn;

use super::dsl::Message;

/// Every request API key the guard has a schema for.
pub(crate) const COVERED_API_KEYS: &[i16] = &[
    0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 28, 29,
    30, 31, 32, 33, 35, 36, 37, 42, 44, 47, 50, 51, 60, 61, 65, 66,
];

/// The schema of a request API key, if covered. Versions are checked by the caller.
pub(crate) fn lookup(api_key: i16) -> Option<&'static Message> {
    Some(match api_key {
        0 => &data::PRODUCE,
        1 => &data::FETCH,
        2 => &data::LIST_OFFSETS,
        3 => &cluster::METADATA,
        8 => &groups::OFFSET_COMMIT,
        9 => &groups::OFFSET_FETCH,
        10 => &groups::FIND_COORDINATOR,
        11 => &groups::JOIN_GROUP,
        12 => &groups::HEARTBEAT,
        13 => &groups::LEAVE_GROUP,
        14 => &groups::SYNC_GROUP,
        15 => &groups::DESCRIBE_GROUPS,
        16 => &groups::LIST_GROUPS,
        17 => &cluster::SASL_HANDSHAKE,
        18 => &cluster::API_VERSIONS,
        19 => &topics::CREATE_TOPICS,
        20 => &topics::DELETE_TOPICS,
        21 => &topics::DELETE_RECORDS,
        22 => &txn::INIT_PRODUCER_ID,
        23 => &data::OFFSET_FOR_LEADER_EPOCH,
        24 => &txn::ADD_PARTITIONS_TO_TXN,
        25 => &txn::ADD_OFFSETS_TO_TXN,
        26 => &txn::END_TXN,
        28 => &txn::TXN_OFFSET_COMMIT,
        29 => &security::DESCRIBE_ACLS,
        30 => &security::CREATE_ACLS,
        31 => &security::DELETE_ACLS,
        32 => &configs::DESCRIBE_CONFIGS,
        33 => &configs::ALTER_CONFIGS,
        35 => &configs::DESCRIBE_LOG_DIRS,
        36 => &cluster::SASL_AUTHENTICATE,
        37 => &topics::CREATE_PARTITIONS,
        42 => &groups::DELETE_GROUPS,
        44 => &configs::INCREMENTAL_ALTER_CONFIGS,
        47 => &groups::OFFSET_DELETE,
        50 => &security::DESCRIBE_USER_SCRAM_CREDENTIALS,
        51 => &security::ALTER_USER_SCRAM_CREDENTIALS,
        60 => &cluster::DESCRIBE_CLUSTER,
        61 => &txn::DESCRIBE_PRODUCERS,
        65 => &txn::DESCRIBE_TRANSACTIONS,
        66 => &txn::LIST_TRANSACTIONS,
        _ => return None,
    })
}

/// The versions the guard covers for an API key: exactly those the crate's
/// message type decodes.
pub(crate) fn versions(api_key: i16) -> Option<(i16, i16)> {
    lookup(api_key).map(|m| m.versions)
}
