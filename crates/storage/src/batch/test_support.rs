#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is a failure report

//! Test helpers: v2 batches built with kafka-protocol's `RecordBatchEncoder` (an independent
//! encoder), with lz4 and zstd compressors plugged in from the pure-Rust crates.

use bytes::BufMut;
use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{
    Compression as KpCompression, Record, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType as KpTimestampType,
};

use super::{compute_crc, Compression};

/// A record's key and value.
pub type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// What to put in a test batch.
#[derive(Debug, Clone)]
pub struct Spec {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub transactional: bool,
    pub control: bool,
    pub compression: Compression,
    pub base_timestamp: i64,
    /// (key, value) per record; record i has timestamp base_timestamp + i.
    pub records: Vec<KeyValue>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            transactional: false,
            control: false,
            compression: Compression::None,
            base_timestamp: 1_700_000_000_000,
            records: vec![(Some(b"k".to_vec()), Some(b"v".to_vec()))],
        }
    }
}

impl Spec {
    pub fn with_records(n: usize) -> Spec {
        Spec {
            records: (0..n)
                .map(|i| {
                    (
                        Some(format!("key-{i}").into_bytes()),
                        Some(vec![i as u8; i % 50]),
                    )
                })
                .collect(),
            ..Spec::default()
        }
    }

    pub fn idempotent(mut self, producer_id: i64, epoch: i16, base_sequence: i32) -> Spec {
        self.producer_id = producer_id;
        self.producer_epoch = epoch;
        self.base_sequence = base_sequence;
        self
    }

    pub fn compressed(mut self, compression: Compression) -> Spec {
        self.compression = compression;
        self
    }
}

/// Encodes `spec` as one v2 batch with base offset 0.
pub fn build(spec: &Spec) -> Vec<u8> {
    let records: Vec<Record> = spec
        .records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: spec.transactional,
            control: spec.control,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: spec.producer_id,
            producer_epoch: spec.producer_epoch,
            timestamp_type: KpTimestampType::Creation,
            offset: i as i64,
            // The encoder splits batches where offset - sequence changes, so the sequence
            // always steps with the offset; the header gets base_sequence either way.
            sequence: spec.base_sequence.wrapping_add(i as i32),
            timestamp: spec.base_timestamp + i as i64,
            key: key.clone().map(Bytes::from),
            value: value.clone().map(Bytes::from),
            headers: IndexMap::new(),
        })
        .collect();
    let compression = match spec.compression {
        Compression::None => KpCompression::None,
        Compression::Gzip => KpCompression::Gzip,
        Compression::Snappy => KpCompression::Snappy,
        Compression::Lz4 => KpCompression::Lz4,
        Compression::Zstd => KpCompression::Zstd,
    };
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    let mut buf = BytesMut::new();
    let result = match spec.compression {
        Compression::Lz4 | Compression::Zstd => RecordBatchEncoder::encode_with_custom_compression(
            &mut buf,
            &records,
            &options,
            Some(|raw: &mut BytesMut, out: &mut BytesMut, c: KpCompression| {
                out.put_slice(&compress(c, raw));
                Ok(())
            }),
        ),
        _ => RecordBatchEncoder::encode(&mut buf, &records, &options),
    };
    assert!(result.is_ok(), "encoding failed: {result:?}");
    buf.to_vec()
}

fn compress(codec: KpCompression, raw: &[u8]) -> Vec<u8> {
    match codec {
        KpCompression::Lz4 => {
            use std::io::Write;
            let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
            assert!(encoder.write_all(raw).is_ok());
            encoder.finish().unwrap_or_default()
        }
        KpCompression::Zstd => {
            ruzstd::encoding::compress_to_vec(raw, ruzstd::encoding::CompressionLevel::Fastest)
        }
        other => panic!("no test compressor for {other:?}"),
    }
}

/// Overwrites bytes at `at` and recomputes the CRC, to make a batch that is CRC-valid but
/// otherwise wrong.
pub fn patch(batch: &mut [u8], at: usize, value: &[u8]) {
    batch[at..at + value.len()].copy_from_slice(value);
    refresh_crc(batch);
}

pub fn refresh_crc(batch: &mut [u8]) {
    let crc = compute_crc(batch);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Replaces the records part (after the header) and fixes batchLength and the CRC.
pub fn with_payload(batch: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = batch[..super::HEADER_BYTES].to_vec();
    out.extend_from_slice(payload);
    let length = (out.len() - super::LOG_OVERHEAD) as i32;
    out[8..12].copy_from_slice(&length.to_be_bytes());
    refresh_crc(&mut out);
    out
}
