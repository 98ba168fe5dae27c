#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is a failure report

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{
    Compression as KpCompression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType as KpTimestampType,
};

use super::*;

const COMMIT: EndTxnMarker = EndTxnMarker { control_type: ControlRecordType::Commit, coordinator_epoch: 7 };
const ABORT: EndTxnMarker = EndTxnMarker { control_type: ControlRecordType::Abort, coordinator_epoch: 0x0102_0304 };

/// The same marker through kafka-protocol's encoder (an independent implementation of
/// Kafka's record format).
fn reference(base_offset: i64, leader_epoch: i32, producer_id: i64, epoch: i16, ts: i64, marker: EndTxnMarker) -> Vec<u8> {
    let mut key = CONTROL_KEY_VERSION.to_be_bytes().to_vec();
    key.extend_from_slice(&marker.control_type.id().to_be_bytes());
    let mut value = END_TXN_MARKER_VERSION.to_be_bytes().to_vec();
    value.extend_from_slice(&marker.coordinator_epoch.to_be_bytes());
    let record = Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: leader_epoch,
        producer_id,
        producer_epoch: epoch,
        timestamp_type: KpTimestampType::Creation,
        offset: base_offset,
        sequence: -1,
        timestamp: ts,
        key: Some(Bytes::from(key)),
        value: Some(Bytes::from(value)),
        headers: IndexMap::new(),
    };
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions { version: 2, compression: KpCompression::None };
    RecordBatchEncoder::encode(&mut buf, [record].iter(), &options).unwrap();
    buf.to_vec()
}

#[test]
fn markers_are_byte_for_byte_what_kafka_writes() {
    for (offset, leader_epoch, producer_id, epoch, ts, marker) in
        [(0, 0, 1, 0, 1_700_000_000_000, COMMIT), (12_345, 7, 4_000_000_000, 32_000, 5, ABORT), (3, -1, 0, 0, -1, COMMIT)]
    {
        let ours = marker_batch(offset, leader_epoch, producer_id, epoch, ts, marker);
        assert_eq!(ours.len(), MARKER_BATCH_BYTES);
        assert_eq!(ours, reference(offset, leader_epoch, producer_id, epoch, ts, marker), "{marker:?}");
        assert!(batch::crc_is_valid(&ours));
        let header = BatchHeader::parse(&ours).unwrap();
        assert!(header.is_control() && header.is_transactional());
        assert_eq!((header.base_offset, header.last_offset(), header.records_count), (offset, offset, 1));
        assert_eq!((header.producer_id, header.producer_epoch, header.base_sequence), (producer_id, epoch, -1));
        assert_eq!(read_marker(&ours), Ok(Some(marker)));
        // And kafka-protocol reads it back as a control record with our key and value.
        let mut bytes = Bytes::from(ours);
        let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
        let record = &set.records[0];
        assert!(record.control && record.transactional);
        assert_eq!(record.key.as_deref().map(|k| k[3]), Some(marker.control_type.id() as u8));
    }
}

#[test]
fn marker_reading_refuses_what_is_not_a_marker() {
    let good = marker_batch(0, 0, 1, 0, 0, COMMIT);
    let data = crate::segment::tests::make_batch(0, 1, 0, 10);
    assert_eq!(read_marker(&data), Err(MarkerError::NotControl));
    // An empty control batch: its transaction was cleaned away.
    let mut empty = crate::batch::test_support::with_payload(&good, &[]);
    empty[57..61].copy_from_slice(&0i32.to_be_bytes());
    crate::batch::test_support::refresh_crc(&mut empty);
    assert_eq!(read_marker(&empty), Ok(None));
    // Another control type (e.g. KRaft's LEADER_CHANGE, 2).
    let mut other = good.clone();
    other[HEADER_BYTES + 8] = 2;
    assert_eq!(read_marker(&other), Err(MarkerError::UnknownType(2)));
    // Newer key and value versions read as version 0; negative ones are corrupt.
    let mut newer = good.clone();
    newer[HEADER_BYTES + 6] = 1;
    newer[HEADER_BYTES + 11] = 3;
    assert_eq!(read_marker(&newer), Ok(Some(COMMIT)));
    let mut negative = good.clone();
    negative[HEADER_BYTES + 5] = 0x80;
    assert!(matches!(read_marker(&negative), Err(MarkerError::Malformed(_))));
    // Every truncation of the record is refused, never a panic.
    for len in HEADER_BYTES..good.len() - 1 {
        assert!(read_marker(&good[..len]).is_err(), "cut at {len}");
    }
    let mut compressed = good.clone();
    compressed[22] |= 1;
    assert_eq!(read_marker(&compressed), Err(MarkerError::Compressed("gzip")));
}
