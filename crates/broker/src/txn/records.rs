//! Records of `__transaction_state`, in Kafka's own formats
//! (`TransactionLogKey` v0 and `TransactionLogValue` v0 of apache/kafka's
//! transaction-coordinator module), so Kafka's tools can read the topic.
//!
//! Key: `version i16 = 0 | transactional_id string`. Value v0 (what Kafka
//! writes while `transaction.version` is below 1): `version i16 = 0 |
//! producer_id i64 | producer_epoch i16 | timeout_ms i32 | state i8 |
//! partitions nullable [topic string, [partition i32]] | last_update_ms i64 |
//! start_ms i64`, partitions null for Empty. A null value is a tombstone (the
//! id expired). Value v1 (flexible, KIP-890) is never written and refused on
//! read, as are unknown states.

use std::collections::{BTreeMap, BTreeSet};

use bytes::BufMut;

use super::metadata::{Transit, TxnState, NO_PRODUCER_EPOCH, NO_PRODUCER_ID};
use crate::record_codec::{self, put_string, ReadError, Reader};

pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

/// The `__transaction_state` partition of a transactional id, as Kafka picks it
/// (`Utils.abs(transactionalId.hashCode) % partitions`, Java's String hash).
pub fn partition_for(transactional_id: &str, partitions: i32) -> i32 {
    record_codec::partition_for(transactional_id, partitions)
}

/// Why a stored record could not be read.
#[derive(Debug, thiserror::Error)]
#[error("unreadable {TRANSACTION_STATE_TOPIC} record: {0}")]
pub struct RecordError(String);

impl From<ReadError> for RecordError {
    fn from(e: ReadError) -> Self {
        RecordError(e.0)
    }
}

pub fn key(transactional_id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + transactional_id.len());
    out.put_i16(0);
    put_string(&mut out, transactional_id);
    out
}

pub fn value(transit: &Transit) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.put_i16(0);
    out.put_i64(transit.producer_id);
    out.put_i16(transit.producer_epoch);
    out.put_i32(transit.timeout_ms);
    out.put_i8(transit.state.id());
    if transit.state == TxnState::Empty {
        out.put_i32(-1);
    } else {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (topic, partition) in &transit.partitions {
            by_topic.entry(topic).or_default().push(*partition);
        }
        out.put_i32(i32::try_from(by_topic.len()).unwrap_or(i32::MAX));
        for (topic, partitions) in by_topic {
            put_string(&mut out, topic);
            out.put_i32(i32::try_from(partitions.len()).unwrap_or(i32::MAX));
            for p in partitions {
                out.put_i32(p);
            }
        }
    }
    out.put_i64(transit.last_update_timestamp_ms);
    out.put_i64(transit.start_timestamp_ms);
    out
}

/// Decodes one record: the transactional id and its state (`None`: a
/// tombstone). Keys of unknown versions are `Ok(None)`, skipped as Kafka does.
pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Option<(String, Option<Transit>)>, RecordError> {
    let mut k = Reader(key);
    if k.i16()? != 0 {
        return Ok(None);
    }
    let transactional_id = k.string()?;
    let Some(value) = value else { return Ok(Some((transactional_id, None))) };
    let mut r = Reader(value);
    let version = r.i16()?;
    if version != 0 {
        return Err(RecordError(format!("TransactionLogValue version {version} is not supported")));
    }
    let producer_id = r.i64()?;
    let producer_epoch = r.i16()?;
    let timeout_ms = r.i32()?;
    let state_id = r.i8()?;
    let state = TxnState::from_id(state_id).ok_or_else(|| RecordError(format!("unknown transaction state {state_id}")))?;
    let mut partitions = BTreeSet::new();
    let topics = r.i32()?;
    for _ in 0..topics.max(0) {
        let topic = r.string()?;
        let count = r.i32()?;
        for _ in 0..count.max(0) {
            partitions.insert((topic.clone(), r.i32()?));
        }
    }
    let last_update_timestamp_ms = r.i64()?;
    let start_timestamp_ms = r.i64()?;
    let transit = Transit {
        producer_id,
        previous_producer_id: NO_PRODUCER_ID,
        producer_epoch,
        last_producer_epoch: NO_PRODUCER_EPOCH,
        timeout_ms,
        state,
        partitions,
        start_timestamp_ms,
        last_update_timestamp_ms,
    };
    Ok(Some((transactional_id, Some(transit))))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn transit(state: TxnState, partitions: &[(&str, i32)]) -> Transit {
        Transit {
            producer_id: 4000,
            previous_producer_id: NO_PRODUCER_ID,
            producer_epoch: 3,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            timeout_ms: 60_000,
            state,
            partitions: partitions.iter().map(|(t, p)| (t.to_string(), *p)).collect(),
            start_timestamp_ms: 1_700_000_000_000,
            last_update_timestamp_ms: 1_700_000_000_500,
        }
    }

    #[test]
    fn every_state_round_trips() {
        for state in TxnState::ALL {
            let partitions: &[(&str, i32)] = if state == TxnState::Empty { &[] } else { &[("a", 1), ("a", 0), ("b", 7)] };
            let t = transit(state, partitions);
            let (id, decoded) = decode(&key("tx-1"), Some(&value(&t))).unwrap().unwrap();
            assert_eq!((id.as_str(), decoded), ("tx-1", Some(t)));
        }
        assert_eq!(decode(&key("tx-1"), None).unwrap().unwrap(), ("tx-1".to_string(), None));
    }

    #[test]
    fn value_v0_is_byte_for_byte_kafkas() {
        // TransactionLogValue v0 for producer 4000, epoch 3, 60 s, Ongoing, [a: [0]], as Kafka serializes it.
        let mut expected = vec![0, 0];
        expected.extend_from_slice(&4000i64.to_be_bytes());
        expected.extend_from_slice(&3i16.to_be_bytes());
        expected.extend_from_slice(&60_000i32.to_be_bytes());
        expected.push(1);
        expected.extend_from_slice(&1i32.to_be_bytes());
        expected.extend_from_slice(&[0, 1, b'a']);
        expected.extend_from_slice(&1i32.to_be_bytes());
        expected.extend_from_slice(&0i32.to_be_bytes());
        expected.extend_from_slice(&1_700_000_000_500i64.to_be_bytes());
        expected.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        assert_eq!(value(&transit(TxnState::Ongoing, &[("a", 0)])), expected);
        assert_eq!(key("tx"), vec![0, 0, 0, 2, b't', b'x']);
        // Empty carries null partitions.
        let empty = value(&transit(TxnState::Empty, &[]));
        assert_eq!(&empty[17..21], &(-1i32).to_be_bytes());
    }

    #[test]
    fn damaged_or_unknown_records_are_errors_and_unknown_keys_skipped() {
        let v = value(&transit(TxnState::Ongoing, &[("topic", 3)]));
        for len in 0..v.len() {
            assert!(decode(&key("t"), Some(&v[..len])).is_err(), "{len}");
        }
        let mut bad_state = v.clone();
        bad_state[16] = 9;
        assert!(decode(&key("t"), Some(&bad_state)).is_err());
        let mut v1 = v;
        v1[1] = 1;
        assert!(decode(&key("t"), Some(&v1)).is_err());
        assert!(decode(&[0], None).is_err());
        assert!(decode(&[0, 1, 0, 0], None).unwrap().is_none());
    }

    #[test]
    fn partitions_follow_java_string_hash() {
        assert_eq!(partition_for("my-group", 50), 36);
    }
}
