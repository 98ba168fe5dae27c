//! The protocol hot paths in isolation (docs/benchmarks.md):
//! `cargo bench -p strom-protocol`.
//!
//! - frame splitting of pipelined requests from a read buffer;
//! - request decoding (guard + kafka-protocol) of Produce and Fetch;
//! - response encoding of Produce and Fetch: kafka-protocol's encoder, which
//!   copies the records into the response buffer, against the parts the
//!   broker writes with vectored writes (`encode_response_parts`).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark that fails should stop")]

use std::hint::black_box;

use bytes::{BufMut, Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};
use strom_protocol::request::{decode_request, Decoded};
use strom_protocol::{frame, response};

const PRODUCE_VERSION: i16 = 9;
const FETCH_VERSION: i16 = 12;

fn topic() -> TopicName {
    TopicName(StrBytes::from_static_str("bench-topic"))
}

/// A request frame with its size prefix, as a client sends it.
fn frame_of(api_key: ApiKey, version: i16, body: &impl Encodable) -> Bytes {
    let mut payload = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("producer-1")))
        .encode(&mut payload, api_key.request_header_version(version))
        .unwrap();
    body.encode(&mut payload, version).unwrap();
    let mut framed = BytesMut::with_capacity(payload.len() + 4);
    framed.put_i32(payload.len() as i32);
    framed.extend_from_slice(&payload);
    framed.freeze()
}

/// A Produce request with one 16 KiB batch (opaque bytes: decoding never looks inside) per partition.
fn produce_frame(partitions: i32) -> Bytes {
    let data = (0..partitions)
        .map(|index| PartitionProduceData::default().with_index(index).with_records(Some(Bytes::from(vec![0u8; 16 * 1024]))))
        .collect();
    let body = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![TopicProduceData::default().with_name(topic()).with_partition_data(data)]);
    frame_of(ApiKey::Produce, PRODUCE_VERSION, &body)
}

fn fetch_frame(partitions: i32) -> Bytes {
    let parts = (0..partitions)
        .map(|p| FetchPartition::default().with_partition(p).with_fetch_offset(1_000_000).with_partition_max_bytes(1 << 20))
        .collect();
    let body = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_max_bytes(50 << 20)
        .with_topics(vec![FetchTopic::default().with_topic(topic()).with_partitions(parts)]);
    frame_of(ApiKey::Fetch, FETCH_VERSION, &body)
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_request");
    for (name, framed) in [
        ("produce 1 partition x 16KiB", produce_frame(1)),
        ("produce 6 partitions x 16KiB", produce_frame(6)),
        ("fetch 6 partitions", fetch_frame(6)),
    ] {
        group.throughput(Throughput::Bytes(framed.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| match decode_request(black_box(framed.slice(4..))).unwrap() {
                Decoded::Request(request) => request.api_version,
                Decoded::UnsupportedApiVersions { .. } => unreachable!(),
            })
        });
    }
    // Splitting 64 pipelined Fetch frames out of one read buffer.
    let one = fetch_frame(6);
    let mut many = BytesMut::new();
    for _ in 0..64 {
        many.extend_from_slice(&one);
    }
    group.throughput(Throughput::Elements(64));
    group.bench_function("split 64 pipelined frames", |b| {
        b.iter(|| {
            let mut buf = many.clone();
            let mut n = 0;
            while let Some(frame) = frame::split_frame(&mut buf, 100 << 20).unwrap() {
                n += frame.len();
            }
            n
        })
    });
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_response");
    let produce = ResponseKind::Produce(ProduceResponse::default().with_responses(vec![TopicProduceResponse::default()
        .with_name(topic())
        .with_partition_responses(
            (0..6).map(|i| PartitionProduceResponse::default().with_index(i).with_base_offset(1_000 * i64::from(i))).collect(),
        )]));
    group.bench_function("produce 6 partitions", |b| {
        b.iter(|| response::encode_response(ApiKey::Produce, PRODUCE_VERSION, 7, black_box(&produce)).unwrap().len())
    });
    for (name, partitions, bytes) in [("fetch 1 partition x 1MiB", 1, 1 << 20), ("fetch 6 partitions x 256KiB", 6, 256 << 10)] {
        let records = Bytes::from(vec![7u8; bytes]);
        let fetch = ResponseKind::Fetch(FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
            .with_topic(topic())
            .with_partitions(
                (0..partitions)
                    .map(|p| {
                        PartitionData::default()
                            .with_partition_index(p)
                            .with_high_watermark(2_000_000)
                            .with_last_stable_offset(2_000_000)
                            .with_records(Some(records.clone()))
                    })
                    .collect(),
            )]));
        group.throughput(Throughput::Bytes((partitions as u64) * bytes as u64));
        group.bench_function(format!("{name}, kafka-protocol (copies records)"), |b| {
            b.iter(|| response::encode_response(ApiKey::Fetch, FETCH_VERSION, 7, black_box(&fetch)).unwrap().len())
        });
        group.bench_function(format!("{name}, parts (records shared)"), |b| {
            b.iter(|| response::encode_response_parts(ApiKey::Fetch, FETCH_VERSION, 7, black_box(&fetch)).unwrap().len())
        });
    }
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
