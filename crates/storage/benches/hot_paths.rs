//! The storage hot paths in isolation (docs/benchmarks.md):
//! `cargo bench -p strom-storage`.
//!
//! - batch validation and offset assignment of one produced batch (CRC included);
//! - segment append through `PartitionLog::append_records` (validation + write);
//! - fetch reads: locating whole batches from an offset and reading them.
//!
//! Batches are 16 KiB, as a Kafka producer with default `batch.size` sends
//! them, of 1 KiB and of 100-byte records, built with kafka-protocol's encoder
//! (and, for fetch reads, also batches of one 1 KiB record).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark that fails should stop")]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use strom_storage::batch::BatchHeader;
use strom_storage::config::LogConfig;
use strom_storage::log::PartitionLog;
use strom_storage::validator::{validate_and_assign, ValidationConfig};

const BATCH_BYTES: usize = 16 * 1024;
const NOW_MS: i64 = 1_700_000_000_000;

/// One uncompressed v2 batch of about 16 KiB of `record_size`-byte values.
fn batch(record_size: usize) -> Vec<u8> {
    batch_of(record_size, BATCH_BYTES / (record_size + 8))
}

/// One uncompressed v2 batch of `count` values of `record_size` bytes.
fn batch_of(record_size: usize, count: usize) -> Vec<u8> {
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch where offset - sequence changes.
            sequence: (i as i32).wrapping_sub(1),
            timestamp: NOW_MS,
            key: None,
            value: Some(Bytes::from(vec![b'x'; record_size])),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression: Compression::None }).unwrap();
    buf.to_vec()
}

fn validation(c: &mut Criterion) {
    let cfg = ValidationConfig::default();
    let mut group = c.benchmark_group("validate_and_assign");
    for record_size in [1024, 100] {
        let batch = batch(record_size);
        group.throughput(Throughput::Bytes(batch.len() as u64));
        group.bench_function(format!("16KiB batch of {record_size} B records"), |b| {
            b.iter_batched_ref(|| batch.clone(), |records| validate_and_assign(black_box(records), 42, 0, NOW_MS, &cfg).unwrap(), BatchSize::SmallInput)
        });
    }
    let batch = batch(1024);
    group.bench_function("batch header parse", |b| b.iter(|| BatchHeader::parse(black_box(&batch)).unwrap()));
    group.finish();
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("segment_append");
    for record_size in [1024, 100] {
        let batch = batch(record_size);
        let dir = tempfile::tempdir().unwrap();
        // Small segments so that a long run rolls instead of filling the disk.
        let config = LogConfig { segment_bytes: 64 * 1024 * 1024, ..LogConfig::default() };
        let log = PartitionLog::open(&dir.path().join("t-0"), config, true).unwrap();
        group.throughput(Throughput::Bytes(batch.len() as u64));
        group.bench_function(format!("16KiB batch of {record_size} B records"), |b| {
            b.iter_batched_ref(|| batch.clone(), |records| log.append_records(records, 0, NOW_MS).unwrap(), BatchSize::SmallInput)
        });
    }
    group.finish();
}

fn fetch(c: &mut Criterion) {
    let mut group = c.benchmark_group("fetch_read");
    // 16 KiB batches as a busy producer sends them, and one-record batches
    // as a producer with linger.ms=0 at a low rate does (a header every KiB).
    let cases = [("1024 B records", batch(1024)), ("100 B records", batch(100)), ("1-record batches of 1024 B", batch_of(1024, 1))];
    for (what, batch) in cases {
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(&dir.path().join("t-0"), LogConfig::default(), true).unwrap();
        // 64 MiB of batches, in the page cache after writing.
        for _ in 0..(64 * 1024 * 1024 / batch.len()) {
            log.append_records(&batch.clone(), 0, NOW_MS).unwrap();
        }
        let end = log.log_end_offset();
        let max_bytes = 1024 * 1024; // Kafka's default max.partition.fetch.bytes
        group.throughput(Throughput::Bytes(max_bytes as u64));
        let mut offset = 0;
        // Fetches walk the log like a consumer, wrapping around at its end.
        group.bench_function(format!("locate 1 MiB of {what}"), |b| {
            b.iter(|| {
                let read = log.read(offset, max_bytes, end).unwrap();
                let slice = read.data.unwrap();
                offset = (offset + (end / 64)) % end;
                slice.len
            })
        });
        group.bench_function(format!("locate and read 1 MiB of {what}"), |b| {
            b.iter(|| {
                let read = log.read(offset, max_bytes, end).unwrap();
                let bytes = read.data.unwrap().read().unwrap();
                offset = (offset + (end / 64)) % end;
                bytes.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, validation, append, fetch);
criterion_main!(benches);
