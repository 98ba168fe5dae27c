//! The transactional data path through Produce, Fetch and ListOffsets, with the
//! markers a transaction coordinator would write put in through the storage API.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use strom_storage::control::ControlRecordType;
use strom_storage::log::TxnMarker;

use super::test_support::broker;
use super::tests::call;
use super::*;

/// One timestamp for the whole test run: recent, so segments do not roll by age.
fn now() -> i64 {
    static NOW: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *NOW.get_or_init(crate::now_ms)
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.into()))
}

/// A v2 batch of one record (null key, value "v") from producer `pid`.
fn batch(pid: i64, epoch: i16, sequence: i32, transactional: bool) -> Bytes {
    batch_at(now(), pid, epoch, sequence, transactional)
}

fn batch_at(timestamp: i64, pid: i64, epoch: i16, sequence: i32, transactional: bool) -> Bytes {
    let record = [0x0e, 0, 0, 0, 0x01, 0x02, b'v', 0];
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((49 + record.len()) as i32).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&(if transactional { 0x10i16 } else { 0 }).to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.extend_from_slice(&timestamp.to_be_bytes());
    b.extend_from_slice(&timestamp.to_be_bytes());
    b.extend_from_slice(&pid.to_be_bytes());
    b.extend_from_slice(&epoch.to_be_bytes());
    b.extend_from_slice(&sequence.to_be_bytes());
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&record);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(b)
}

fn produce(broker: &Broker, transactional_id: Option<&str>, batches: Vec<Bytes>) -> ProduceResponse {
    let partitions = batches.into_iter().enumerate().map(|(i, records)| {
        PartitionProduceData::default().with_index(i as i32).with_records(Some(records))
    });
    let topic = TopicProduceData::default().with_name(name("t")).with_partition_data(partitions.collect());
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_transactional_id(transactional_id.map(|id| TransactionalId(StrBytes::from_string(id.into()))))
        .with_topic_data(vec![topic]);
    match call(broker, 9, RequestKind::Produce(req)) {
        ResponseKind::Produce(r) => r,
        other => panic!("{other:?}"),
    }
}

fn fetch(broker: &Broker, isolation_level: i8, offset: i64) -> fetch_response::PartitionData {
    let p = FetchPartition::default().with_partition(0).with_fetch_offset(offset).with_partition_max_bytes(1 << 20);
    let t = FetchTopic::default().with_topic(name("t")).with_partitions(vec![p]);
    let req = FetchRequest::default().with_isolation_level(isolation_level).with_max_bytes(1 << 20).with_topics(vec![t]);
    match call(broker, 12, RequestKind::Fetch(req)) {
        ResponseKind::Fetch(mut r) => r.responses.remove(0).partitions.remove(0),
        other => panic!("{other:?}"),
    }
}

fn list_offset(broker: &Broker, version: i16, isolation_level: i8, timestamp: i64) -> (i64, i64) {
    let p = ListOffsetsPartition::default().with_partition_index(0).with_timestamp(timestamp);
    let t = ListOffsetsTopic::default().with_name(name("t")).with_partitions(vec![p]);
    let req = ListOffsetsRequest::default().with_isolation_level(isolation_level).with_topics(vec![t]);
    match call(broker, version, RequestKind::ListOffsets(req)) {
        ResponseKind::ListOffsets(r) => {
            let p = &r.topics[0].partitions[0];
            assert_eq!(p.error_code, 0);
            (p.timestamp, p.offset)
        }
        other => panic!("{other:?}"),
    }
}

fn create_topic(broker: &Broker, partitions: i32) {
    let topic = create_topics_request::CreatableTopic::default().with_name(name("t")).with_num_partitions(partitions).with_replication_factor(1);
    call(broker, 7, RequestKind::CreateTopics(CreateTopicsRequest::default().with_topics(vec![topic])));
}

fn abort(broker: &Broker, pid: i64, epoch: i16) -> i64 {
    let log = broker.partitions.log("t", 0).unwrap();
    let marker = TxnMarker { producer_id: pid, producer_epoch: epoch, coordinator_epoch: 0, control_type: ControlRecordType::Abort };
    log.write_txn_marker(marker, 0, now()).unwrap().base_offset
}

#[test]
fn transactional_batches_need_a_transactional_id_as_in_kafka() {
    let b = broker();
    create_topic(&b.broker, 2);
    // One transactional batch fails the whole request, every partition.
    let r = produce(&b.broker, None, vec![batch(1, 0, 0, false), batch(1, 0, 0, true)]);
    let partitions = &r.responses[0].partition_responses;
    assert!(partitions.iter().all(|p| p.error_code == ResponseError::TransactionalIdAuthorizationFailed.code()), "{partitions:?}");
    assert_eq!(partitions[0].error_message.as_deref(), Some("Transactional Id authorization failed."));
    assert_eq!(b.broker.partitions.log("t", 0).unwrap().log_end_offset(), 0);
    let r = produce(&b.broker, Some("tx"), vec![batch(1, 0, 0, true)]);
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    assert_eq!(b.broker.partitions.log("t", 0).unwrap().open_transaction(1), Some(0));
    // Inside the transaction a plain batch is INVALID_TXN_STATE.
    let r = produce(&b.broker, Some("tx"), vec![batch(1, 0, 1, false)]);
    assert_eq!(r.responses[0].partition_responses[0].error_code, ResponseError::InvalidTxnState.code());
}

#[test]
fn read_committed_fetches_stop_at_the_last_stable_offset_and_list_aborted_transactions() {
    let b = broker();
    create_topic(&b.broker, 1);
    produce(&b.broker, Some("tx"), vec![batch(7, 0, 0, true)]); // 0
    produce(&b.broker, None, vec![batch(-1, -1, -1, false)]); // 1
    let committed = fetch(&b.broker, 1, 0);
    assert_eq!((committed.high_watermark, committed.last_stable_offset), (2, 0));
    assert_eq!(committed.records.as_deref(), Some(&[][..]), "nothing at or past the LSO");
    assert_eq!(committed.aborted_transactions.as_deref(), Some(&[][..]));
    let uncommitted = fetch(&b.broker, 0, 0);
    assert_eq!((uncommitted.high_watermark, uncommitted.last_stable_offset), (2, 0));
    assert!(!uncommitted.records.unwrap().is_empty());
    assert!(uncommitted.aborted_transactions.is_none(), "null for read_uncommitted, as Kafka");

    assert_eq!(abort(&b.broker, 7, 0), 2);
    let committed = fetch(&b.broker, 1, 0);
    assert_eq!((committed.high_watermark, committed.last_stable_offset), (3, 3));
    let records = committed.records.unwrap();
    let batches = strom_storage::batch::BatchScanner::new(&records).map(|b| b.unwrap().1.base_offset).collect::<Vec<_>>();
    assert_eq!(batches, vec![0, 1, 2], "the aborted batch, the plain one and the marker");
    let aborted = committed.aborted_transactions.unwrap();
    assert_eq!(aborted.iter().map(|t| (t.producer_id.0, t.first_offset)).collect::<Vec<_>>(), vec![(7, 0)]);
    // From inside it the transaction is still listed (its marker is in range); at the end, nothing is.
    assert_eq!(fetch(&b.broker, 1, 1).aborted_transactions.map(|a| a.len()), Some(1));
    assert_eq!(fetch(&b.broker, 1, 3).aborted_transactions.map(|a| a.len()), Some(0));
}

#[test]
fn list_offsets_answers_the_last_stable_offset_to_read_committed() {
    let b = broker();
    create_topic(&b.broker, 1);
    produce(&b.broker, None, vec![batch(-1, -1, -1, false)]); // 0
    produce(&b.broker, Some("tx"), vec![batch(3, 0, 0, true)]); // 1
    produce(&b.broker, None, vec![batch_at(now() + 5, -1, -1, -1, false)]); // 2
    assert_eq!(list_offset(&b.broker, 7, 1, -1), (-1, 1));
    assert_eq!(list_offset(&b.broker, 7, 0, -1), (-1, 3));
    assert_eq!(list_offset(&b.broker, 1, 0, -1), (-1, 3), "v1 has no isolation level");
    // A timestamp lookup landing at or past the LSO finds nothing for read_committed.
    assert_eq!(list_offset(&b.broker, 7, 1, now()), (now(), 0));
    assert_eq!(list_offset(&b.broker, 7, 1, now() + 1), (-1, -1));
    assert_eq!(list_offset(&b.broker, 7, 0, now() + 1), (now() + 5, 2));
    assert_eq!(list_offset(&b.broker, 7, 1, -3), (-1, -1), "the max timestamp is past the LSO");
    assert_eq!(list_offset(&b.broker, 7, 0, -3), (now() + 5, 2));
    assert_eq!(list_offset(&b.broker, 7, 1, -2), (-1, 0));
    abort(&b.broker, 3, 0);
    assert_eq!(list_offset(&b.broker, 7, 1, -1), (-1, 4));
    assert_eq!(list_offset(&b.broker, 7, 1, now() + 1), (now() + 5, 2));
}
