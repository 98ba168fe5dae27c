//! Transactions against a real strom process: the coordinator's requests on
//! the wire, an open transaction holding read_committed fetches and
//! ListOffsets at its first offset across a kill -9 and a clean restart (the
//! open transaction is rebuilt from the log or from the producer snapshot, its
//! coordinator state from `__transaction_state`), and a kill -9 between
//! PrepareCommit/PrepareAbort and the markers (held back with
//! `STROM_TEST_TXN_MARKER_DELAY_MS`): after the restart the transaction
//! completes as it was decided.

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use strom_tests::records;
use strom_tests::{KafkaConnection, StromProcess};

const TOPIC: &str = "txn-data-path";
const TXN: &str = "txn-test";

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

/// One batch of `count` records from `producer`, from `sequence`.
fn batch(producer: (i64, i16), sequence: i32, count: i32, transactional: bool) -> Bytes {
    let values = vec![b"value".to_vec(); usize::try_from(count).unwrap()];
    records::batch_in_txn(producer, sequence, &values, transactional).unwrap()
}

fn produce(conn: &mut KafkaConnection, transactional_id: Option<&str>, records: Bytes) -> i16 {
    let data = PartitionProduceData::default().with_index(0).with_records(Some(records));
    let topic = TopicProduceData::default().with_name(TopicName(s(TOPIC))).with_partition_data(vec![data]);
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_transactional_id(transactional_id.map(|id| TransactionalId(s(id))))
        .with_topic_data(vec![topic]);
    conn.send(&req, 9).unwrap().responses[0].partition_responses[0].error_code
}

/// (high watermark, last stable offset, bytes of records, aborted transactions) of a fetch from 0.
fn fetch(conn: &mut KafkaConnection, isolation_level: i8) -> (i64, i64, usize, Option<usize>) {
    let p = FetchPartition::default().with_partition(0).with_fetch_offset(0).with_partition_max_bytes(1 << 20);
    let t = FetchTopic::default().with_topic(TopicName(s(TOPIC))).with_partitions(vec![p]);
    let req = FetchRequest::default().with_isolation_level(isolation_level).with_max_bytes(1 << 20).with_max_wait_ms(0).with_topics(vec![t]);
    let response = conn.send(&req, 12).unwrap();
    let p = &response.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    (p.high_watermark, p.last_stable_offset, p.records.as_ref().map_or(0, Bytes::len), p.aborted_transactions.as_ref().map(Vec::len))
}

fn latest(conn: &mut KafkaConnection, isolation_level: i8) -> i64 {
    let p = ListOffsetsPartition::default().with_partition_index(0).with_timestamp(-1);
    let t = ListOffsetsTopic::default().with_name(TopicName(s(TOPIC))).with_partitions(vec![p]);
    let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_isolation_level(isolation_level).with_topics(vec![t]);
    conn.send(&req, 7).unwrap().topics[0].partitions[0].offset
}

fn find_coordinator(conn: &mut KafkaConnection) -> (i16, i32) {
    let req = FindCoordinatorRequest::default().with_key(s(TXN)).with_key_type(1);
    let r = conn.send(&req, 3).unwrap();
    (r.error_code, r.node_id.0)
}

/// InitProducerId for TXN, retrying CONCURRENT_TRANSACTIONS as clients do.
fn init(conn: &mut KafkaConnection) -> (i64, i16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let req = InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(s(TXN))))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let r = conn.send(&req, 4).unwrap();
        if r.error_code == 0 {
            return (r.producer_id.0, r.producer_epoch);
        }
        assert_eq!(r.error_code, 51, "only CONCURRENT_TRANSACTIONS is retried");
        assert!(Instant::now() < deadline, "InitProducerId kept answering CONCURRENT_TRANSACTIONS");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn add_partition(conn: &mut KafkaConnection, producer: (i64, i16)) -> i16 {
    let req = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(s(TXN)))
        .with_v3_and_below_producer_id(ProducerId(producer.0))
        .with_v3_and_below_producer_epoch(producer.1)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default().with_name(TopicName(s(TOPIC))).with_partitions(vec![0])]);
    conn.send(&req, 3).unwrap().results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
}

fn end_txn(conn: &mut KafkaConnection, producer: (i64, i16), commit: bool) -> i16 {
    let req = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(s(TXN)))
        .with_producer_id(ProducerId(producer.0))
        .with_producer_epoch(producer.1)
        .with_committed(commit);
    conn.send(&req, 3).unwrap().error_code
}

fn txn_state(conn: &mut KafkaConnection) -> String {
    let req = DescribeTransactionsRequest::default().with_transactional_ids(vec![TransactionalId(s(TXN))]);
    conn.send(&req, 0).unwrap().transaction_states[0].transaction_state.to_string()
}

fn wait_for_state(conn: &mut KafkaConnection, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while txn_state(conn) != state {
        assert!(Instant::now() < deadline, "{TXN} never reached {state}: {}", txn_state(conn));
        std::thread::sleep(Duration::from_millis(20));
    }
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
    assert_eq!(txn_state(&mut conn), "Ongoing");
}

#[test]
fn an_open_transaction_holds_read_committed_and_survives_kill_and_restart() {
    let data = tempfile::tempdir().unwrap();
    let broker = StromProcess::start_in(data.path()).unwrap();
    let mut conn = broker.connect().unwrap();
    assert_eq!(find_coordinator(&mut conn), (0, 1));
    let idempotent = InitProducerIdRequest::default().with_transactional_id(None).with_transaction_timeout_ms(60_000);
    let idempotent = conn.send(&idempotent, 4).unwrap();
    let idempotent = (idempotent.producer_id.0, idempotent.producer_epoch);
    assert_eq!(produce(&mut conn, None, batch(idempotent, 0, 2, false)), 0); // 0-1
    let producer = init(&mut conn);
    assert_eq!(produce(&mut conn, None, batch(producer, 0, 1, true)), 53, "transactional records need a transactional id");
    assert_eq!(produce(&mut conn, Some(TXN), batch(producer, 0, 1, true)), 48, "the partition is not in the transaction");
    assert_eq!(add_partition(&mut conn, producer), 0);
    assert_eq!(produce(&mut conn, Some(TXN), batch(producer, 0, 3, true)), 0); // 2-4, opens the transaction here
    assert_eq!(produce(&mut conn, Some(TXN), batch(producer, 3, 1, false)), 48, "a plain write inside the transaction");
    assert_held_at_the_open_transaction(&broker);

    drop(conn);
    drop(broker); // SIGKILL: the open transaction comes back from the log
    let mut broker = StromProcess::start_in(data.path()).unwrap();
    assert_held_at_the_open_transaction(&broker);
    // The producer continues its transaction where it was.
    let mut conn = broker.connect().unwrap();
    assert_eq!(produce(&mut conn, Some(TXN), batch(producer, 0, 3, true)), 0, "a retry is a duplicate");
    assert_eq!(fetch(&mut conn, 0).0, 5);

    broker.terminate(Duration::from_secs(10)).unwrap(); // clean: from the snapshot
    let broker = StromProcess::start_in(data.path()).unwrap();
    assert_held_at_the_open_transaction(&broker);
    // Committed after all that: everything is readable at once.
    let mut conn = broker.connect().unwrap();
    assert_eq!(end_txn(&mut conn, producer, true), 0);
    wait_for_state(&mut conn, "CompleteCommit");
    assert_eq!(fetch(&mut conn, 1).1, 6, "the COMMIT marker at 5 moved the LSO past it");
    assert_eq!(latest(&mut conn, 1), 6);
}

/// Decides the transaction with its markers held back, SIGKILLs the broker,
/// and restarts it without the delay: the decision is carried out.
fn kill_between_prepare_and_markers(commit: bool) {
    let data = tempfile::tempdir().unwrap();
    let broker = StromProcess::start_in_with_env(data.path(), &[("STROM_TEST_TXN_MARKER_DELAY_MS", "600000")]).unwrap();
    let mut conn = broker.connect().unwrap();
    let topic = create_topics_request::CreatableTopic::default().with_name(TopicName(s(TOPIC))).with_num_partitions(1).with_replication_factor(1);
    assert_eq!(conn.send(&CreateTopicsRequest::default().with_topics(vec![topic]).with_timeout_ms(5000), 7).unwrap().topics[0].error_code, 0);
    let producer = init(&mut conn);
    assert_eq!(add_partition(&mut conn, producer), 0);
    assert_eq!(produce(&mut conn, Some(TXN), batch(producer, 0, 3, true)), 0); // 0-2
    assert_eq!(end_txn(&mut conn, producer, commit), 0, "answered once decided");
    assert_eq!(txn_state(&mut conn), if commit { "PrepareCommit" } else { "PrepareAbort" });
    assert_eq!(fetch(&mut conn, 1).1, 0, "no marker yet");
    drop(conn);
    drop(broker); // SIGKILL

    let broker = StromProcess::start_in(data.path()).unwrap();
    let mut conn = broker.connect().unwrap();
    wait_for_state(&mut conn, if commit { "CompleteCommit" } else { "CompleteAbort" });
    let (hw, lso, _, aborted) = fetch(&mut conn, 1);
    assert_eq!((hw, lso), (4, 4), "the marker at 3 is written after the restart");
    assert_eq!(aborted, Some(usize::from(!commit)), "read_committed skips an aborted transaction");
    assert_eq!(latest(&mut conn, 1), 4);
    // The producer's next transaction needs a new epoch after a fence, not after a decision.
    assert_eq!(add_partition(&mut conn, producer), 0);
}

#[test]
fn a_kill_in_prepare_commit_commits_after_the_restart() {
    kill_between_prepare_and_markers(true);
}

#[test]
fn a_kill_in_prepare_abort_aborts_after_the_restart() {
    kill_between_prepare_and_markers(false);
}
