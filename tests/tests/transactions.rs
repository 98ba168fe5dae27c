//! The transactional data path against a real strom process, before the
//! transaction coordinator exists: a transactional batch opens a transaction
//! that holds read_committed fetches and ListOffsets at its first offset, across
//! a kill -9 and a clean restart (the open transaction is rebuilt from the log
//! or from the producer snapshot). Markers come with the coordinator.

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use strom_tests::{KafkaConnection, StromProcess};

const TOPIC: &str = "txn-data-path";
const PRODUCER_ID: i64 = 4242;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// One batch of `count` records from PRODUCER_ID, epoch 0, from `sequence`.
fn batch(sequence: i32, count: i32, transactional: bool) -> Bytes {
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: PRODUCER_ID,
            producer_epoch: 0,
            timestamp_type: TimestampType::Creation,
            offset: i64::from(i),
            sequence: sequence + i,
            timestamp: now_ms(),
            key: None,
            value: Some(Bytes::from_static(b"value")),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression: Compression::None }).unwrap();
    buf.freeze()
}

fn produce(conn: &mut KafkaConnection, transactional_id: Option<&str>, records: Bytes) -> i16 {
    let data = PartitionProduceData::default().with_index(0).with_records(Some(records));
    let topic = TopicProduceData::default().with_name(TopicName(StrBytes::from_static_str(TOPIC))).with_partition_data(vec![data]);
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_transactional_id(transactional_id.map(|id| TransactionalId(StrBytes::from_string(id.into()))))
        .with_topic_data(vec![topic]);
    conn.send(&req, 9).unwrap().responses[0].partition_responses[0].error_code
}

/// (high watermark, last stable offset, bytes of records, aborted transactions) of a fetch from 0.
fn fetch(conn: &mut KafkaConnection, isolation_level: i8) -> (i64, i64, usize, Option<usize>) {
    let p = FetchPartition::default().with_partition(0).with_fetch_offset(0).with_partition_max_bytes(1 << 20);
    let t = FetchTopic::default().with_topic(TopicName(StrBytes::from_static_str(TOPIC))).with_partitions(vec![p]);
    let req = FetchRequest::default().with_isolation_level(isolation_level).with_max_bytes(1 << 20).with_max_wait_ms(0).with_topics(vec![t]);
    let response = conn.send(&req, 12).unwrap();
    let p = &response.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    (p.high_watermark, p.last_stable_offset, p.records.as_ref().map_or(0, Bytes::len), p.aborted_transactions.as_ref().map(Vec::len))
}

fn latest(conn: &mut KafkaConnection, isolation_level: i8) -> i64 {
    let p = ListOffsetsPartition::default().with_partition_index(0).with_timestamp(-1);
    let t = ListOffsetsTopic::default().with_name(TopicName(StrBytes::from_static_str(TOPIC))).with_partitions(vec![p]);
    let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_isolation_level(isolation_level).with_topics(vec![t]);
    conn.send(&req, 7).unwrap().topics[0].partitions[0].offset
}

/// What read_committed and read_uncommitted clients see with the transaction open at 2.
fn assert_held_at_the_open_transaction(broker: &StromProcess) {
    let mut conn = broker.connect().unwrap();
    let (hw, lso, bytes, aborted) = fetch(&mut conn, 1);
    assert_eq!((hw, lso, aborted), (5, 2, Some(0)), "log:\n{}", broker.log_tail(20));
    assert!(bytes > 0, "the batch below the LSO is served");
    let (_, uncommitted_lso, uncommitted_bytes, uncommitted_aborted) = fetch(&mut conn, 0);
    assert_eq!((uncommitted_lso, uncommitted_aborted), (2, None));
    assert!(uncommitted_bytes > bytes, "read_uncommitted reads on past the LSO");
    assert_eq!((latest(&mut conn, 1), latest(&mut conn, 0)), (2, 5));
}

#[test]
fn an_open_transaction_holds_read_committed_and_survives_kill_and_restart() {
    let data = tempfile::tempdir().unwrap();
    let broker = StromProcess::start_in(data.path()).unwrap();
    let mut conn = broker.connect().unwrap();
    assert_eq!(produce(&mut conn, None, batch(0, 2, false)), 0); // 0-1, idempotent
    assert_eq!(produce(&mut conn, None, batch(2, 1, true)), 53, "transactional records need a transactional id");
    assert_eq!(produce(&mut conn, Some("tx"), batch(2, 3, true)), 0); // 2-4, opens a transaction
    assert_eq!(produce(&mut conn, Some("tx"), batch(5, 1, false)), 48, "a plain write inside the transaction");
    assert_held_at_the_open_transaction(&broker);

    drop(conn);
    drop(broker); // SIGKILL: the open transaction comes back from the log
    let mut broker = StromProcess::start_in(data.path()).unwrap();
    assert_held_at_the_open_transaction(&broker);
    // The producer continues its transaction where it was.
    let mut conn = broker.connect().unwrap();
    assert_eq!(produce(&mut conn, Some("tx"), batch(2, 3, true)), 0, "a retry is a duplicate");
    assert_eq!(fetch(&mut conn, 0).0, 5);

    broker.terminate(Duration::from_secs(10)).unwrap(); // clean: from the snapshot
    let broker = StromProcess::start_in(data.path()).unwrap();
    assert_held_at_the_open_transaction(&broker);
}
