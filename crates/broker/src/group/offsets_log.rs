//! The bytes of `__consumer_offsets`: the coordinator's records go in as one
//! uncompressed v2 batch per write (Kafka's default
//! `offsets.topic.compression.codec`), and come back at startup by replaying
//! the whole partition from its log start.
//!
//! Only the coordinator writes these partitions (Produce refuses internal
//! topics, as Kafka does); replay still checks each batch's CRC (the storage
//! scan) and bounds its record count by its size before decoding.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType, NO_PARTITION_LEADER_EPOCH,
    NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
};
use strom_storage::batch::{BatchHeader, BatchScanner, HEADER_BYTES};
use strom_storage::log::PartitionLog;

/// Bytes read from the log per step of a replay.
const REPLAY_READ_BYTES: usize = 1 << 20;
/// The smallest encoded record (length, attributes, timestamp and offset
/// deltas, key and value lengths, header count: one byte each).
const MIN_RECORD_BYTES: usize = 7;

/// One batch holding `records` (key, value; a `None` value is a tombstone).
pub fn encode(records: &[(Vec<u8>, Option<Vec<u8>>)], now_ms: i64) -> Result<Vec<u8>, String> {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
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

/// Calls `apply(key, value)` for every record of the log, in offset order.
pub fn replay(log: &PartitionLog, mut apply: impl FnMut(&[u8], Option<&[u8]>)) -> Result<(), String> {
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
            if header.is_control() || header.last_offset() < offset {
                continue;
            }
            let batch_bytes = bytes.slice(at..at + header.size());
            for record in decode(batch_bytes, &header)? {
                if record.offset >= offset {
                    if let Some(key) = &record.key {
                        apply(key, record.value.as_deref());
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
        replay(&log, |k, v| seen.push((k.to_vec(), v.map(<[u8]>::to_vec)))).unwrap();
        assert_eq!(
            seen,
            vec![(b"k1".to_vec(), Some(b"v1".to_vec())), (b"k2".to_vec(), Some(b"v2".to_vec())), (b"k1".to_vec(), None)]
        );
    }
}
