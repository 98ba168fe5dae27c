//! The bytes of `__consumer_offsets` (and of `__transaction_state`): the
//! coordinator's records go in as one uncompressed v2 batch per write (Kafka's
//! default `offsets.topic.compression.codec`), and come back at startup by
//! replaying the whole partition from its log start. Transactional offset
//! commits are transactional batches of the producer, ended by the COMMIT or
//! ABORT marker the transaction coordinator writes; replay reports both.
//!
//! Only the coordinators write these partitions (Produce refuses internal
//! topics, as Kafka does); replay still checks each batch's CRC (the storage
//! scan) and bounds its record count by its size before decoding.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType, NO_PARTITION_LEADER_EPOCH,
    NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
};
use strom_storage::batch::{BatchHeader, BatchScanner, HEADER_BYTES};
use strom_storage::control::{self, ControlRecordType};
use strom_storage::log::PartitionLog;

/// Bytes read from the log per step of a replay.
const REPLAY_READ_BYTES: usize = 1 << 20;
/// The smallest encoded record (length, attributes, timestamp and offset
/// deltas, key and value lengths, header count: one byte each).
const MIN_RECORD_BYTES: usize = 7;

/// One batch holding `records` (key, value; a `None` value is a tombstone).
pub fn encode(records: &[(Vec<u8>, Option<Vec<u8>>)], now_ms: i64) -> Result<Vec<u8>, String> {
    encode_batch(records, None, now_ms)
}

/// One transactional batch of producer `(id, epoch)` holding `records`, with no
/// sequence, as Kafka's coordinator writes a transactional offset commit.
pub fn encode_transactional(records: &[(Vec<u8>, Option<Vec<u8>>)], producer: (i64, i16), now_ms: i64) -> Result<Vec<u8>, String> {
    encode_batch(records, Some(producer), now_ms)
}

fn encode_batch(records: &[(Vec<u8>, Option<Vec<u8>>)], producer: Option<(i64, i16)>, now_ms: i64) -> Result<Vec<u8>, String> {
    let (producer_id, producer_epoch) = producer.unwrap_or((NO_PRODUCER_ID, NO_PRODUCER_EPOCH));
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: producer.is_some(),
            control: false,
            delete_horizon: false,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i64::try_from(i).unwrap_or(i64::MAX),
            // The encoder keeps records in one batch while offset - sequence
            // stays constant; the batch's base sequence is the first's (-1: none).
            sequence: NO_SEQUENCE.wrapping_add(i32::try_from(i).unwrap_or(i32::MAX)),
            timestamp: now_ms,
            key: Some(Bytes::copy_from_slice(key)),
            value: value.as_deref().map(Bytes::copy_from_slice),
            headers: Default::default(),
        })
        .collect();
    let mut out = BytesMut::new();
    let options = RecordEncodeOptions { version: 2, compression: Compression::None };
    RecordBatchEncoder::encode(&mut out, records.iter(), &options).map_err(|e| format!("encoding a __consumer_offsets batch: {e}"))?;
    Ok(out.to_vec())
}

/// What a replay finds, in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replayed<'a> {
    /// A record; `producer_id` is set when it is part of that producer's transaction.
    Record { key: &'a [u8], value: Option<&'a [u8]>, producer_id: Option<i64>, offset: i64 },
    /// A transaction marker: the producer's transaction here ends.
    Marker { producer_id: i64, commit: bool },
}

/// Calls `apply` for every record and transaction marker of the log, in offset order.
pub fn replay(log: &PartitionLog, mut apply: impl FnMut(Replayed<'_>)) -> Result<(), String> {
    let mut offset = log.log_start_offset();
    let end = log.log_end_offset();
    while offset < end {
        let read = log.read(offset, REPLAY_READ_BYTES, end).map_err(|e| e.to_string())?;
        let Some(slice) = read.data else { break };
        let bytes = slice.read().map_err(|e| format!("reading {}: {e}", log.dir().display()))?;
        let mut next = offset;
        for batch in BatchScanner::new(&bytes) {
            let (at, header) = batch.map_err(|e| e.to_string())?;
            next = next.max(header.next_offset());
            if header.last_offset() < offset {
                continue;
            }
            let batch_bytes = bytes.slice(at..at + header.size());
            if header.is_control() {
                match control::read_marker(&batch_bytes) {
                    Ok(Some(marker)) => {
                        apply(Replayed::Marker { producer_id: header.producer_id, commit: marker.control_type == ControlRecordType::Commit })
                    }
                    Ok(None) => {}
                    Err(e) => return Err(format!("marker at offset {}: {e}", header.base_offset)),
                }
                continue;
            }
            let producer_id = header.is_transactional().then_some(header.producer_id);
            for record in decode(batch_bytes, &header)? {
                if record.offset >= offset {
                    if let Some(key) = &record.key {
                        apply(Replayed::Record { key, value: record.value.as_deref(), producer_id, offset: record.offset });
                    }
                }
            }
        }
        if next <= offset {
            break; // nothing readable past here (e.g. a gap left by compaction at the end)
        }
        offset = next;
    }
    Ok(())
}

fn decode(mut batch: Bytes, header: &BatchHeader) -> Result<Vec<Record>, String> {
    let payload = header.size().saturating_sub(HEADER_BYTES);
    let count = usize::try_from(header.records_count).unwrap_or(usize::MAX);
    if header.compression() == strom_storage::batch::Compression::None && count > payload / MIN_RECORD_BYTES {
        return Err(format!("batch at offset {} claims {count} records in {payload} bytes", header.base_offset));
    }
    RecordBatchDecoder::decode(&mut batch)
        .map(|set| set.records)
        .map_err(|e| format!("batch at offset {}: {e}", header.base_offset))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use strom_storage::config::LogConfig;

    #[test]
    fn written_records_replay_in_order_with_tombstones() {
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(dir.path(), LogConfig::default(), true).unwrap();
        let first = vec![(b"k1".to_vec(), Some(b"v1".to_vec())), (b"k2".to_vec(), Some(b"v2".to_vec()))];
        let second = vec![(b"k1".to_vec(), None)];
        for records in [first, second] {
            let batch = encode(&records, 1000).unwrap();
            log.append_records(&batch, 0, 1000).unwrap();
        }
        let mut seen = Vec::new();
        replay(&log, |r| {
            if let Replayed::Record { key, value, producer_id: None, .. } = r {
                seen.push((key.to_vec(), value.map(<[u8]>::to_vec)));
            }
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![(b"k1".to_vec(), Some(b"v1".to_vec())), (b"k2".to_vec(), Some(b"v2".to_vec())), (b"k1".to_vec(), None)]
        );
    }

    #[test]
    fn transactional_batches_and_their_markers_replay_in_order() {
        use strom_storage::log::TxnMarker;
        use strom_storage::producer_state::AppendOrigin;
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(dir.path(), LogConfig::default(), true).unwrap();
        let plain = encode(&[(b"a".to_vec(), Some(b"1".to_vec()))], 1000).unwrap();
        log.append_records(&plain, 0, 1000).unwrap();
        let txn = encode_transactional(&[(b"b".to_vec(), Some(b"2".to_vec())), (b"c".to_vec(), None)], (7, 3), 1000).unwrap();
        let header = BatchHeader::parse(&txn).unwrap();
        assert!(header.is_transactional() && header.base_sequence == -1 && header.producer_epoch == 3);
        log.append_records_from(&txn, 0, 1000, AppendOrigin::Coordinator).unwrap();
        assert_eq!(log.open_transaction(7), Some(1));
        let marker = TxnMarker { producer_id: 7, producer_epoch: 3, coordinator_epoch: 0, control_type: ControlRecordType::Abort };
        log.write_txn_marker(marker, 0, 1000).unwrap();
        let mut seen = Vec::new();
        replay(&log, |r| seen.push(format!("{r:?}"))).unwrap();
        assert_eq!(seen.len(), 4);
        assert!(seen[0].contains("producer_id: None, offset: 0"), "{seen:?}");
        assert!(seen[1].contains("producer_id: Some(7), offset: 1") && seen[2].contains("value: None, producer_id: Some(7), offset: 2"), "{seen:?}");
        assert_eq!(seen[3], "Marker { producer_id: 7, commit: false }");
    }
}
