//! Records of `__consumer_offsets`, in Kafka's own formats (the schemas in
//! apache/kafka `group-coordinator/src/main/resources/common/message/`:
//! `OffsetCommitKey`, `OffsetCommitValue`, `GroupMetadataKey`,
//! `GroupMetadataValue`), so Kafka's tools can read the topic.
//!
//! A key starts with its version: 0 and 1 are offset commits (group, topic,
//! partition), 2 is group metadata (group). A null value is a tombstone.
//! Strom writes OffsetCommitValue v3 (v1 when an expire time is set, as Kafka
//! does) and GroupMetadataValue v3, and reads every non-flexible version.

use bytes::BufMut;

use super::snapshot::{CommittedOffset, GroupSnapshot, MemberSnapshot};
use crate::record_codec::{self, put_bytes, put_nullable_string, put_string, ReadError, Reader};

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The `__consumer_offsets` partition that holds `group_id`, as Kafka picks it.
pub fn partition_for(group_id: &str, partitions: i32) -> i32 {
    record_codec::partition_for(group_id, partitions)
}

/// A decoded record of `__consumer_offsets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetsRecord {
    /// `None` is a tombstone: the offset was deleted.
    Offset { group_id: String, topic: String, partition: i32, value: Option<CommittedOffset> },
    /// `None` is a tombstone: the group was deleted.
    Group { group_id: String, value: Option<GroupSnapshot> },
}

pub fn offset_key(group_id: &str, topic: &str, partition: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + group_id.len() + topic.len());
    out.put_i16(1);
    put_string(&mut out, group_id);
    put_string(&mut out, topic);
    out.put_i32(partition);
    out
}

pub fn offset_value(offset: &CommittedOffset) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + offset.metadata.len());
    match offset.expire_timestamp_ms {
        Some(expire) => {
            out.put_i16(1);
            out.put_i64(offset.offset);
            put_string(&mut out, &offset.metadata);
            out.put_i64(offset.commit_timestamp_ms);
            out.put_i64(expire);
        }
        None => {
            out.put_i16(3);
            out.put_i64(offset.offset);
            out.put_i32(offset.leader_epoch);
            put_string(&mut out, &offset.metadata);
            out.put_i64(offset.commit_timestamp_ms);
        }
    }
    out
}

pub fn group_key(group_id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + group_id.len());
    out.put_i16(2);
    put_string(&mut out, group_id);
    out
}

pub fn group_value(group: &GroupSnapshot) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.put_i16(3);
    put_string(&mut out, &group.protocol_type);
    out.put_i32(group.generation_id);
    put_nullable_string(&mut out, group.protocol_name.as_deref());
    put_nullable_string(&mut out, group.leader.as_deref());
    out.put_i64(group.state_timestamp_ms);
    out.put_i32(i32::try_from(group.members.len()).unwrap_or(i32::MAX));
    for member in &group.members {
        put_string(&mut out, &member.member_id);
        put_nullable_string(&mut out, member.group_instance_id.as_deref());
        put_string(&mut out, &member.client_id);
        put_string(&mut out, &member.client_host);
        out.put_i32(member.rebalance_timeout_ms);
        out.put_i32(member.session_timeout_ms);
        put_bytes(&mut out, &member.subscription);
        put_bytes(&mut out, &member.assignment);
    }
    out
}

/// The key and value bytes of a record (a `None` value is a tombstone).
pub fn encode_record(record: &OffsetsRecord) -> (Vec<u8>, Option<Vec<u8>>) {
    match record {
        OffsetsRecord::Offset { group_id, topic, partition, value } => (offset_key(group_id, topic, *partition), value.as_ref().map(offset_value)),
        OffsetsRecord::Group { group_id, value } => (group_key(group_id), value.as_ref().map(group_value)),
    }
}

/// Why a stored record could not be read.
#[derive(Debug, thiserror::Error)]
#[error("unreadable __consumer_offsets record: {0}")]
pub struct RecordError(String);

impl From<ReadError> for RecordError {
    fn from(e: ReadError) -> Self {
        RecordError(e.0)
    }
}

/// Decodes one record. Unknown key versions (records of newer Kafka features,
/// e.g. consumer-protocol groups) are `Ok(None)`: skipped, not fatal.
pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Option<OffsetsRecord>, RecordError> {
    let mut k = Reader(key);
    let version = k.i16()?;
    match version {
        0 | 1 => {
            let group_id = k.string()?;
            let topic = k.string()?;
            let partition = k.i32()?;
            let value = value.map(decode_offset_value).transpose()?;
            Ok(Some(OffsetsRecord::Offset { group_id, topic, partition, value }))
        }
        2 => {
            let group_id = k.string()?;
            let value = value.map(|v| decode_group_value(&group_id, v)).transpose()?;
            Ok(Some(OffsetsRecord::Group { group_id, value }))
        }
        _ => Ok(None),
    }
}

fn decode_offset_value(value: &[u8]) -> Result<CommittedOffset, RecordError> {
    let mut r = Reader(value);
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(RecordError(format!("OffsetCommitValue version {version} is not supported")));
    }
    let offset = r.i64()?;
    let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
    let metadata = r.string()?;
    let commit_timestamp_ms = r.i64()?;
    let expire_timestamp_ms = if version == 1 { Some(r.i64()?) } else { None };
    Ok(CommittedOffset { offset, leader_epoch, metadata, commit_timestamp_ms, expire_timestamp_ms })
}

fn decode_group_value(group_id: &str, value: &[u8]) -> Result<GroupSnapshot, RecordError> {
    let mut r = Reader(value);
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(RecordError(format!("GroupMetadataValue version {version} is not supported")));
    }
    let protocol_type = r.string()?;
    let generation_id = r.i32()?;
    let protocol_name = r.nullable_string()?;
    let leader = r.nullable_string()?;
    let state_timestamp_ms = if version >= 2 { r.i64()? } else { -1 };
    let count = r.i32()?;
    let mut members = Vec::new();
    for _ in 0..count.max(0) {
        let member_id = r.string()?;
        let group_instance_id = if version >= 3 { r.nullable_string()? } else { None };
        let client_id = r.string()?;
        let client_host = r.string()?;
        let session_timeout_ms;
        let rebalance_timeout_ms;
        if version >= 1 {
            rebalance_timeout_ms = r.i32()?;
            session_timeout_ms = r.i32()?;
        } else {
            session_timeout_ms = r.i32()?;
            rebalance_timeout_ms = session_timeout_ms;
        }
        let subscription = r.bytes()?;
        let assignment = r.bytes()?;
        members.push(MemberSnapshot {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms,
            session_timeout_ms,
            subscription,
            assignment,
        });
    }
    Ok(GroupSnapshot {
        group_id: group_id.to_string(),
        protocol_type,
        generation_id,
        protocol_name,
        leader,
        state_timestamp_ms,
        members,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use bytes::Bytes;

    #[test]
    fn partitions_follow_java_string_hash() {
        // "my-group".hashCode() = -1906497762 (Java); masked, % 50 = 36.
        assert_eq!(partition_for("my-group", 50), 36);
        // "".hashCode() = 0.
        assert_eq!(partition_for("", 50), 0);
        // Negative hashes are masked, not negated: "polygenelubricants".hashCode() = i32::MIN.
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        for g in ["a", "log-aggregator", "éé", "\u{1F600}"] {
            assert!((0..50).contains(&partition_for(g, 50)));
        }
    }

    #[test]
    fn offsets_round_trip_in_both_written_versions() {
        for expire in [None, Some(99)] {
            let value = CommittedOffset { offset: 42, leader_epoch: if expire.is_some() { -1 } else { 7 }, metadata: "m".into(), commit_timestamp_ms: 1000, expire_timestamp_ms: expire };
            let key = offset_key("g", "orders", 3);
            let decoded = decode(&key, Some(&offset_value(&value))).unwrap().unwrap();
            assert_eq!(decoded, OffsetsRecord::Offset { group_id: "g".into(), topic: "orders".into(), partition: 3, value: Some(value) });
        }
        let tombstone = decode(&offset_key("g", "t", 0), None).unwrap().unwrap();
        assert_eq!(tombstone, OffsetsRecord::Offset { group_id: "g".into(), topic: "t".into(), partition: 0, value: None });
    }

    #[test]
    fn kafka_written_offset_value_is_read() {
        // OffsetCommitValue v3 as Kafka 3.x/4.x writes it: offset 5, epoch 0, metadata "", ts 1700000000000.
        let mut v = vec![0, 3];
        v.extend_from_slice(&5i64.to_be_bytes());
        v.extend_from_slice(&0i32.to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        let key = offset_key("g", "t", 1);
        let Some(OffsetsRecord::Offset { value: Some(o), .. }) = decode(&key, Some(&v)).unwrap() else { panic!() };
        assert_eq!((o.offset, o.leader_epoch, o.metadata.as_str(), o.commit_timestamp_ms), (5, 0, "", 1_700_000_000_000));
    }

    #[test]
    fn groups_round_trip() {
        let group = GroupSnapshot {
            group_id: "g".into(),
            protocol_type: "consumer".into(),
            generation_id: 4,
            protocol_name: Some("range".into()),
            leader: Some("m1".into()),
            state_timestamp_ms: 123,
            members: vec![MemberSnapshot {
                member_id: "m1".into(),
                group_instance_id: Some("i1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 30_000,
                session_timeout_ms: 10_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        let decoded = decode(&group_key("g"), Some(&group_value(&group))).unwrap().unwrap();
        assert_eq!(decoded, OffsetsRecord::Group { group_id: "g".into(), value: Some(group) });
        let empty = GroupSnapshot { group_id: "e".into(), ..Default::default() };
        let decoded = decode(&group_key("e"), Some(&group_value(&empty))).unwrap().unwrap();
        assert_eq!(decoded, OffsetsRecord::Group { group_id: "e".into(), value: Some(empty) });
    }

    #[test]
    fn damaged_records_are_errors_and_unknown_versions_skipped() {
        let group = group_value(&GroupSnapshot { group_id: "g".into(), members: vec![MemberSnapshot::default()], ..Default::default() });
        for len in 0..group.len() {
            assert!(decode(&group_key("g"), Some(&group[..len])).is_err(), "{len}");
        }
        let key = offset_key("g", "t", 1);
        for len in 0..key.len() {
            assert!(decode(&key[..len], None).is_err(), "{len}");
        }
        assert_eq!(decode(&[0, 5, 0, 0], None).unwrap(), None);
        assert!(decode(&offset_key("g", "t", 0), Some(&[0, 9])).is_err());
    }
}
