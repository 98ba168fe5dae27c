//! Group commit within one connection: a producer keeps many Produce requests
//! in flight on one connection (acks=all, idempotent, a topic with
//! `flush.messages=1`, an fsync per write). Strom appends the requests that
//! follow while an earlier one waits for its fsync; the client must not be
//! able to tell except by speed:
//!
//! - every response arrives, in request order, each batch appended once at
//!   the next offsets; requests of other APIs in between (Metadata), acks=1
//!   produces answered without an fsync, and acks=0 produces (no response)
//!   keep their places;
//! - a client that leaves with responses owed leaves a log holding a prefix
//!   of its batches, each once, in order, and a broker that goes on serving;
//! - a broker shut down (SIGTERM) with responses owed writes them first: every
//!   response received is in order and successful, and after a restart the
//!   log holds every acknowledged batch, once, in order.

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, ProduceRequest, ProduceResponse, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, HeaderVersion, StrBytes};
use strom_tests::client::encode_request;
use strom_tests::records;
use strom_tests::{KafkaConnection, StromProcess};

const DURABLE: &str = "pipelined-durable";
const PLAIN: &str = "pipelined-plain";
const RECORDS_PER_BATCH: i32 = 10;
const PRODUCE_VERSION: i16 = 9;
const METADATA_VERSION: i16 = 12;
/// Upper bound on reading every response of a test.
const DEADLINE: Duration = Duration::from_secs(60);

/// The value of record `i` of batch `n`.
fn value(n: i32, i: i32) -> Vec<u8> {
    format!("{n:06}:{i}").into_bytes()
}

fn values(n: i32) -> Vec<Vec<u8>> {
    (0..RECORDS_PER_BATCH).map(|i| value(n, i)).collect()
}

fn produce_frame(correlation_id: i32, topic: &str, acks: i16, batch: Bytes) -> Vec<u8> {
    let data = PartitionProduceData::default().with_index(0).with_records(Some(batch));
    let topic_data = TopicProduceData::default().with_name(TopicName(StrBytes::from_string(topic.into()))).with_partition_data(vec![data]);
    let request = ProduceRequest::default().with_acks(acks).with_timeout_ms(30_000).with_topic_data(vec![topic_data]);
    encode_request(&request, PRODUCE_VERSION, correlation_id).unwrap()
}

/// The durable topic's batch `n`, from `producer`, at its sequence.
fn durable_frame(correlation_id: i32, producer: (i64, i16), n: i32) -> Vec<u8> {
    produce_frame(correlation_id, DURABLE, -1, records::batch(producer, n * RECORDS_PER_BATCH, &values(n)).unwrap())
}

/// What the broker should answer to a request sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The durable topic's batch n: at offset n * RECORDS_PER_BATCH.
    Durable(i32),
    /// An acks=1 produce to the plain topic.
    Plain,
    Metadata,
}

/// Writes `frames` from another thread (the broker may answer before the
/// last is sent), so this thread can read meanwhile.
fn send_all(stream: &TcpStream, frames: Vec<Vec<u8>>) -> std::thread::JoinHandle<std::io::Result<()>> {
    let mut stream = stream.try_clone().unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        // Several requests per write, as a client's pipeline puts them on the wire.
        for chunk in frames.chunks(7) {
            stream.write_all(&chunk.concat())?;
        }
        Ok(())
    })
}

/// Reads the next response, checks it answers `correlation_id` and what it says.
fn read_response(conn: &mut KafkaConnection, correlation_id: i32, expect: Expect) -> anyhow::Result<()> {
    let mut frame = conn.read_frame()?.ok_or_else(|| anyhow::anyhow!("closed before the response to {correlation_id}"))?;
    let version = if expect == Expect::Metadata { METADATA_VERSION } else { PRODUCE_VERSION };
    let header_version = match expect {
        Expect::Metadata => MetadataResponse::header_version(version),
        _ => ProduceResponse::header_version(version),
    };
    let header = ResponseHeader::decode(&mut frame, header_version)?;
    anyhow::ensure!(header.correlation_id == correlation_id, "response to {} where {correlation_id} ({expect:?}) was next", header.correlation_id);
    if expect == Expect::Metadata {
        let metadata = MetadataResponse::decode(&mut frame, version)?;
        anyhow::ensure!(!metadata.brokers.is_empty(), "a Metadata response without brokers");
        return Ok(());
    }
    let response = ProduceResponse::decode(&mut frame, version)?;
    let partition = response.responses.first().and_then(|t| t.partition_responses.first()).ok_or_else(|| anyhow::anyhow!("no partition"))?;
    anyhow::ensure!(partition.error_code == 0, "{expect:?}: error {} {:?}", partition.error_code, partition.error_message);
    if let Expect::Durable(n) = expect {
        anyhow::ensure!(partition.base_offset == i64::from(n * RECORDS_PER_BATCH), "batch {n} at offset {}", partition.base_offset);
    }
    Ok(())
}

/// The durable topic holds batches 0..n, each once, in order, and nothing else;
/// returns n.
fn durable_batches(conn: &mut KafkaConnection) -> i32 {
    let records = records::fetch_all(conn, DURABLE, 0, 0).unwrap();
    assert_eq!(records.len() % RECORDS_PER_BATCH as usize, 0, "whole batches only");
    for (k, (offset, got)) in records.iter().enumerate() {
        let k = i32::try_from(k).unwrap();
        assert_eq!(*offset, i64::from(k), "offsets without gaps");
        assert_eq!(*got, value(k / RECORDS_PER_BATCH, k % RECORDS_PER_BATCH), "record {k}: each batch once, in order");
    }
    i32::try_from(records.len()).unwrap() / RECORDS_PER_BATCH
}

fn setup(conn: &mut KafkaConnection) -> (i64, i16) {
    records::create_topic(conn, DURABLE, 1, &[("flush.messages", "1")]).unwrap();
    records::create_topic(conn, PLAIN, 1, &[]).unwrap();
    records::init_producer_id(conn).unwrap()
}

#[test]
fn pipelined_produces_are_answered_in_order_each_once() {
    const BATCHES: i32 = 400;
    let broker = StromProcess::start().unwrap();
    let mut conn = broker.connect().unwrap();
    let producer = setup(&mut conn);
    let mut frames = Vec::new();
    let mut expected = Vec::new();
    let mut plain_values = Vec::new();
    let mut plain = |frames: &mut Vec<Vec<u8>>, correlation_id: i32, acks: i16| {
        let value = format!("plain-{}-{acks}", plain_values.len()).into_bytes();
        let batch = records::batch((-1, -1), -1, std::slice::from_ref(&value)).unwrap();
        plain_values.push(value);
        frames.push(produce_frame(correlation_id, PLAIN, acks, batch));
    };
    for n in 0..BATCHES {
        let correlation_id = conn.next_correlation_id();
        frames.push(durable_frame(correlation_id, producer, n));
        expected.push((correlation_id, Expect::Durable(n)));
        if n % 25 == 7 {
            let correlation_id = conn.next_correlation_id();
            frames.push(encode_request(&MetadataRequest::default().with_topics(None), METADATA_VERSION, correlation_id).unwrap());
            expected.push((correlation_id, Expect::Metadata));
        }
        if n % 40 == 13 {
            let correlation_id = conn.next_correlation_id();
            plain(&mut frames, correlation_id, 1);
            expected.push((correlation_id, Expect::Plain));
        }
        if n % 60 == 29 {
            // acks=0: no response at all, the others keep their order.
            plain(&mut frames, conn.next_correlation_id(), 0);
        }
    }
    let writer = send_all(conn.stream(), frames);
    let started = Instant::now();
    for (correlation_id, expect) in expected {
        read_response(&mut conn, correlation_id, expect).unwrap_or_else(|e| panic!("{e:#}; broker log:\n{}", broker.log_tail(20)));
        assert!(started.elapsed() < DEADLINE, "responses too slow");
    }
    writer.join().unwrap().unwrap();
    assert_eq!(durable_batches(&mut conn), BATCHES);
    let plain_read: Vec<Vec<u8>> = records::fetch_all(&mut conn, PLAIN, 0, 0).unwrap().into_iter().map(|(_, v)| v).collect();
    assert_eq!(plain_read, plain_values, "acks=1 and acks=0 produces in their order");
    // The same producer goes on at the next sequence: the broker saw every batch once.
    let next = records::batch(producer, BATCHES * RECORDS_PER_BATCH, &values(BATCHES)).unwrap();
    let produced = records::produce(&mut conn, DURABLE, 0, -1, next).unwrap();
    assert_eq!((produced.error_code, produced.base_offset), (0, i64::from(BATCHES * RECORDS_PER_BATCH)));
}

#[test]
fn a_client_leaving_with_responses_owed_loses_nothing_it_was_told() {
    const BATCHES: i32 = 64;
    let broker = StromProcess::start().unwrap();
    let mut conn = broker.connect().unwrap();
    let producer = setup(&mut conn);
    let frames: Vec<Vec<u8>> = (0..BATCHES).map(|n| durable_frame(conn.next_correlation_id(), producer, n)).collect();
    send_all(conn.stream(), frames).join().unwrap().unwrap();
    drop(conn); // responses unread: the broker may see a reset
    let mut other = broker.connect().unwrap();
    // The broker finishes what it read, in order, and serves others.
    let deadline = Instant::now() + DEADLINE;
    let mut appended = durable_batches(&mut other);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        let now = durable_batches(&mut other);
        if now == appended {
            break;
        }
        appended = now;
    }
    assert!(appended <= BATCHES);
    other.metadata_all(METADATA_VERSION).unwrap();
    let (id, epoch) = records::init_producer_id(&mut other).unwrap();
    let produced = records::produce(&mut other, DURABLE, 0, -1, records::batch((id, epoch), 0, &values(appended)).unwrap()).unwrap();
    assert_eq!((produced.error_code, produced.base_offset), (0, i64::from(appended * RECORDS_PER_BATCH)));
}

#[test]
fn shutdown_with_responses_owed_writes_them_in_order_and_keeps_them() {
    const BATCHES: i32 = 2_000;
    let data = tempfile::tempdir().unwrap();
    let mut broker = StromProcess::start_in(data.path()).unwrap();
    let mut conn = broker.connect().unwrap();
    let producer = setup(&mut conn);
    let mut frames = Vec::new();
    let mut expected = Vec::new();
    for n in 0..BATCHES {
        let correlation_id = conn.next_correlation_id();
        frames.push(durable_frame(correlation_id, producer, n));
        expected.push((correlation_id, Expect::Durable(n)));
    }
    let writer = send_all(conn.stream(), frames);
    let (first, first_read) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acknowledged = 0;
        for (correlation_id, expect) in expected {
            match read_response(&mut conn, correlation_id, expect) {
                Ok(()) => acknowledged += 1,
                // The broker closed the connection: nothing after it.
                Err(error) if format!("{error:#}").contains("closed before") || format!("{error:#}").contains("reset") => break,
                Err(error) => panic!("response {acknowledged}: {error:#}"),
            }
            if acknowledged == 1 {
                first.send(()).unwrap();
            }
        }
        acknowledged
    });
    first_read.recv_timeout(DEADLINE).expect("a first response");
    broker.terminate(Duration::from_secs(10)).unwrap();
    let acknowledged = reader.join().unwrap();
    // The writer may fail once the broker is gone; that is the point.
    let _ = writer.join().unwrap();
    drop(broker);
    let broker = StromProcess::start_in(data.path()).unwrap();
    let mut conn = broker.connect().unwrap();
    let kept = durable_batches(&mut conn);
    assert!(kept >= acknowledged, "{acknowledged} batches acknowledged, {kept} kept");
}
