#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is a failure report

//! Batch filtering against an independent decoder (kafka-protocol's).

use std::collections::HashMap;

use bytes::Bytes;
use kafka_protocol::records::{Compression as KpCompression, RecordBatchDecoder};

use super::filter::{filter_batch, FilterContext, Filtered};
use super::offset_map::OffsetMap;
use crate::batch::test_support::{build, KeyValue, Spec};
use crate::batch::{self, BatchHeader, Compression, DELETE_HORIZON_BIT};

const CODECS: [Compression; 5] = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

/// A decoded record: offset, key, value, timestamp.
pub(crate) type Decoded = (i64, Option<Vec<u8>>, Option<Vec<u8>>, i64);

/// Every record of `batch`, decoded by kafka-protocol (which checks the CRC).
pub(crate) fn decode(batch: &[u8]) -> Vec<Decoded> {
    let mut buf = Bytes::copy_from_slice(batch);
    let decompress = |bytes: &mut Bytes, codec: KpCompression| -> anyhow::Result<Bytes> {
        use std::io::Read;
        let mut out = Vec::new();
        match codec {
            KpCompression::Lz4 => lz4_flex::frame::FrameDecoder::new(&bytes[..]).read_to_end(&mut out)?,
            KpCompression::Zstd => ruzstd::decoding::StreamingDecoder::new(&bytes[..])?.read_to_end(&mut out)?,
            KpCompression::Gzip => flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut out)?,
            KpCompression::Snappy => return snappy_java(bytes),
            KpCompression::None => return Ok(bytes.clone()),
        };
        Ok(Bytes::from(out))
    };
    let set = RecordBatchDecoder::decode_with_custom_compression(&mut buf, Some(decompress)).expect("decodes");
    set.records
        .into_iter()
        .map(|r| (r.offset, r.key.map(|k| k.to_vec()), r.value.map(|v| v.to_vec()), r.timestamp))
        .collect()
}

fn snappy_java(bytes: &Bytes) -> anyhow::Result<Bytes> {
    let mut rest = &bytes[16..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into()?) as usize;
        out.extend(snap::raw::Decoder::new().decompress_vec(&rest[4..4 + len])?);
        rest = &rest[4 + len..];
    }
    Ok(Bytes::from(out))
}

fn kv(key: &str, value: Option<&str>) -> KeyValue {
    (Some(key.as_bytes().to_vec()), value.map(|v| v.as_bytes().to_vec()))
}

/// A stored batch at `base_offset` holding `records`.
fn stored(spec: Spec, base_offset: i64) -> Vec<u8> {
    let mut bytes = build(&spec);
    batch::set_base_offset(&mut bytes, base_offset);
    bytes
}

struct Ctx {
    map: OffsetMap,
    producers: HashMap<i64, i64>,
    now_ms: i64,
    upper_bound: i64,
}

impl Ctx {
    fn new(latest: &[(&str, i64)], map_end: i64) -> Self {
        let mut map = OffsetMap::new(100);
        for (key, offset) in latest {
            map.put(key.as_bytes(), *offset);
        }
        map.update_latest_offset(map_end);
        Ctx { map, producers: HashMap::new(), now_ms: 1_700_000_100_000, upper_bound: 1_000_000 }
    }

    fn filter(&self, bytes: &[u8]) -> Filtered {
        let ctx = FilterContext {
            map: &self.map,
            now_ms: self.now_ms,
            delete_retention_ms: 1000,
            last_data_offsets: &self.producers,
            upper_bound_offset: self.upper_bound,
            max_decompressed_bytes: crate::validator::MAX_DECOMPRESSED_BYTES,
        };
        filter_batch(bytes, &BatchHeader::parse(bytes).unwrap(), &ctx).unwrap().0
    }
}

#[test]
fn every_codec_keeps_the_latest_record_per_key_with_its_offset_and_timestamp() {
    for codec in CODECS {
        let records = vec![kv("a", Some("1")), kv("b", Some("2")), kv("a", Some("3")), kv("c", Some("4")), kv("b", Some("5"))];
        let spec = Spec { records, ..Spec::default() }.idempotent(7, 3, 40).compressed(codec);
        let original = stored(spec, 100);
        let ctx = Ctx::new(&[("a", 102), ("b", 104), ("c", 103)], 104);
        let Filtered::Rewrite(rebuilt) = ctx.filter(&original) else { panic!("{codec:?}: expected a rewrite") };
        assert!(batch::crc_is_valid(&rebuilt), "{codec:?}");
        let after = BatchHeader::parse(&rebuilt).unwrap();
        assert_eq!(after.compression(), codec);
        assert_eq!(
            (after.base_offset, after.last_offset_delta, after.producer_id, after.producer_epoch, after.base_sequence),
            (100, 4, 7, 3, 40),
            "{codec:?}: offsets and producer state are kept"
        );
        assert_eq!((after.records_count, after.delete_horizon_ms()), (3, None));
        let base_ts = 1_700_000_000_000;
        assert_eq!(after.base_timestamp, base_ts + 2, "the first retained record's timestamp");
        assert_eq!(after.max_timestamp, base_ts + 4);
        let expected = vec![
            (102, Some(b"a".to_vec()), Some(b"3".to_vec()), base_ts + 2),
            (103, Some(b"c".to_vec()), Some(b"4".to_vec()), base_ts + 3),
            (104, Some(b"b".to_vec()), Some(b"5".to_vec()), base_ts + 4),
        ];
        assert_eq!(decode(&rebuilt), expected, "{codec:?}");
    }
}

#[test]
fn a_batch_whose_records_all_stay_is_kept_byte_for_byte() {
    for codec in CODECS {
        let spec = Spec { records: vec![kv("a", Some("1")), kv("b", Some("2"))], ..Spec::default() }.compressed(codec);
        let original = stored(spec, 10);
        assert_eq!(Ctx::new(&[("a", 10), ("b", 11)], 11).filter(&original), Filtered::Keep, "{codec:?}");
        // Past the map's end everything stays (the next pass judges it).
        assert_eq!(Ctx::new(&[("z", 9)], 9).filter(&original), Filtered::Keep, "{codec:?}");
    }
}

#[test]
fn tombstones_get_a_delete_horizon_then_go_when_it_passed() {
    let spec = Spec { records: vec![kv("a", None), kv("b", Some("2"))], ..Spec::default() }.compressed(Compression::Lz4);
    let original = stored(spec, 0);
    let mut ctx = Ctx::new(&[("a", 0), ("b", 1)], 1);
    let Filtered::Rewrite(marked) = ctx.filter(&original) else { panic!("the horizon is set") };
    let header = BatchHeader::parse(&marked).unwrap();
    assert_eq!(header.delete_horizon_ms(), Some(ctx.now_ms + 1000));
    assert_ne!(header.attributes & DELETE_HORIZON_BIT, 0);
    let base_ts = 1_700_000_000_000;
    assert_eq!(
        decode(&marked),
        vec![(0, Some(b"a".to_vec()), None, base_ts), (1, Some(b"b".to_vec()), Some(b"2".to_vec()), base_ts + 1)],
        "timestamps survive the new base timestamp"
    );
    ctx.now_ms += 999;
    assert_eq!(ctx.filter(&marked), Filtered::Keep, "within the horizon");
    ctx.now_ms += 1;
    let Filtered::Rewrite(cleaned) = ctx.filter(&marked) else { panic!("the tombstone goes") };
    assert_eq!(decode(&cleaned), vec![(1, Some(b"b".to_vec()), Some(b"2".to_vec()), base_ts + 1)]);
    assert_eq!(BatchHeader::parse(&cleaned).unwrap().delete_horizon_ms(), Some(ctx.now_ms), "the horizon stays");
}

#[test]
fn emptied_batches_go_unless_they_hold_a_producers_last_sequence_or_end_the_round() {
    let spec = Spec { records: vec![kv("a", Some("1")), kv("a", Some("2"))], ..Spec::default() }.idempotent(9, 1, 5);
    let original = stored(spec, 20);
    let mut ctx = Ctx::new(&[("a", 99)], 99);
    assert_eq!(ctx.filter(&original), Filtered::Drop);
    ctx.producers.insert(9, 21);
    let Filtered::Rewrite(empty) = ctx.filter(&original) else { panic!("kept empty") };
    let header = BatchHeader::parse(&empty).unwrap();
    assert!(batch::crc_is_valid(&empty));
    assert_eq!((empty.len(), header.records_count, header.base_offset, header.last_offset()), (61, 0, 20, 21));
    assert_eq!((header.producer_id, header.producer_epoch, header.base_sequence, header.last_sequence()), (9, 1, 5, 6));
    assert_eq!((header.base_timestamp, header.max_timestamp, header.compression()), (-1, 1_700_000_000_001, Compression::None));
    ctx.producers.clear();
    ctx.upper_bound = 22;
    assert!(matches!(ctx.filter(&original), Filtered::Rewrite(b) if b.len() == 61), "the round's last batch stays");
}

#[test]
fn transactional_and_control_batches_are_never_touched() {
    let mut txn = Spec { records: vec![kv("a", Some("1"))], ..Spec::default() }.idempotent(3, 0, 0);
    txn.transactional = true;
    let ctx = Ctx::new(&[("a", 99)], 99);
    assert_eq!(ctx.filter(&stored(txn.clone(), 0)), Filtered::Keep);
    txn.control = true;
    txn.records = vec![(Some(vec![0, 0, 0, 1]), Some(vec![0, 0, 0, 0, 0, 0]))];
    assert_eq!(ctx.filter(&stored(txn, 1)), Filtered::Keep);
}

#[test]
fn keyless_records_are_dropped_and_log_append_time_is_kept() {
    let spec = Spec { records: vec![(None, Some(b"x".to_vec())), kv("a", Some("1"))], ..Spec::default() };
    let mut bytes = stored(spec, 0);
    batch::set_log_append_time(&mut bytes, 1_700_000_050_000);
    let Filtered::Rewrite(rebuilt) = Ctx::new(&[("a", 1)], 1).filter(&bytes) else { panic!("rewritten") };
    let header = BatchHeader::parse(&rebuilt).unwrap();
    assert_eq!(header.timestamp_type(), crate::batch::TimestampType::LogAppendTime);
    assert_eq!(header.max_timestamp, 1_700_000_050_000);
    assert_eq!(decode(&rebuilt).iter().map(|r| r.0).collect::<Vec<_>>(), vec![1]);
}
