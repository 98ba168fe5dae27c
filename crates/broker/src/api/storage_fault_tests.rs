//! Disk faults seen from a client: Produce and Fetch on partition logs whose
//! file system fails on demand ([`FaultyFs`]). A failed write or fsync fails
//! the produce with KAFKA_STORAGE_ERROR and never acknowledges data that is
//! not written; a full disk refuses produces until there is room again; a
//! failed fsync takes only that partition offline.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use strom_storage::fs::faulty::{Fault, FaultyFs, Op};

use super::test_support::{broker_on, one_record_batch, Producer};
use super::tests::call;
use super::*;
use crate::metadata::NewTopic;

const TOPIC: &str = "durable";

fn name() -> TopicName {
    TopicName(StrBytes::from_static_str(TOPIC))
}

/// A v2 batch of one record whose value is `value`, from idempotent producer 9.
fn batch(sequence: i32, value: u8) -> Bytes {
    one_record_batch(crate::now_ms(), Producer { id: 9, epoch: 0, sequence }, 0, value)
}

fn setup() -> (FaultyFs, super::test_support::TestBroker) {
    let faulty = FaultyFs::new(strom_storage::fs::os());
    let broker = broker_on(&faulty.fs());
    let mut topic = NewTopic::with_defaults(TOPIC);
    topic.num_partitions = 2;
    // The flush policy that promises durability: every acks=all produce waits for its fsync.
    topic.configs.insert("flush.messages".into(), Some("1".into()));
    broker.broker.metadata.create_topic(topic, false).unwrap();
    (faulty, broker)
}

/// (error code, error message, base offset) of an acks=all produce to `partition`.
fn produce(broker: &Broker, partition: i32, records: Bytes) -> (i16, String, i64) {
    let data = PartitionProduceData::default().with_index(partition).with_records(Some(records));
    let topic = TopicProduceData::default().with_name(name()).with_partition_data(vec![data]);
    let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5000).with_topic_data(vec![topic]);
    match call(broker, 9, RequestKind::Produce(req)) {
        ResponseKind::Produce(r) => {
            let p = &r.responses[0].partition_responses[0];
            (p.error_code, p.error_message.as_ref().map_or(String::new(), |m| m.to_string()), p.base_offset)
        }
        other => panic!("{other:?}"),
    }
}

/// (error code, record values) of a fetch of `partition` from offset 0.
fn fetch(broker: &Broker, partition: i32) -> (i16, Vec<u8>) {
    let p = FetchPartition::default().with_partition(partition).with_fetch_offset(0).with_partition_max_bytes(1 << 20);
    let t = FetchTopic::default().with_topic(name()).with_partitions(vec![p]);
    let req = FetchRequest::default().with_max_bytes(1 << 20).with_topics(vec![t]);
    let p = match call(broker, 12, RequestKind::Fetch(req)) {
        ResponseKind::Fetch(mut r) => r.responses.remove(0).partitions.remove(0),
        other => panic!("{other:?}"),
    };
    let mut records = p.records.unwrap_or_default();
    let mut values = Vec::new();
    while !records.is_empty() {
        let set = kafka_protocol::records::RecordBatchDecoder::decode(&mut records).unwrap();
        values.extend(set.records.iter().map(|r| r.value.as_ref().unwrap()[0]));
    }
    (p.error_code, values)
}

const STORAGE_ERROR: i16 = 56;

#[test]
fn a_full_disk_fails_produces_with_kafka_storage_error_until_there_is_room() {
    assert_eq!(ResponseError::KafkaStorageError.code(), STORAGE_ERROR);
    let (faulty, b) = setup();
    let broker = &b.broker;
    assert_eq!(produce(broker, 0, batch(0, b'a')).0, 0);
    faulty.inject(Fault::new(Op::Write).on("durable-0").partial(20).enospc());
    for _ in 0..3 {
        let (code, message, _) = produce(broker, 0, batch(1, b'b'));
        assert_eq!(code, STORAGE_ERROR);
        assert!(message.contains("No space left on device"), "{message}");
    }
    assert_eq!(fetch(broker, 0), (0, b"a".to_vec()), "only the acknowledged record is there");
    faulty.clear();
    assert_eq!(produce(broker, 0, batch(1, b'b')), (0, String::new(), 1), "the retry lands once there is room");
    assert_eq!(fetch(broker, 0), (0, b"ab".to_vec()));
}

#[test]
fn a_failed_fsync_fails_the_produce_and_takes_only_its_partition_offline() {
    let (faulty, b) = setup();
    let broker = &b.broker;
    assert_eq!(produce(broker, 0, batch(0, b'a')).0, 0);
    assert_eq!(produce(broker, 1, batch(0, b'x')).0, 0);
    faulty.inject(Fault::new(Op::Sync).on("durable-0").once());
    let (code, message, _) = produce(broker, 0, batch(1, b'b'));
    assert_eq!(code, STORAGE_ERROR, "{message}");
    assert!(message.contains("fsync"), "{message}");
    // Offline: nothing more is written or served, not even what the failed fsync covered.
    assert_eq!(produce(broker, 0, batch(1, b'b')).0, STORAGE_ERROR);
    assert_eq!(fetch(broker, 0).0, STORAGE_ERROR);
    // The other partition goes on.
    assert_eq!(produce(broker, 1, batch(1, b'y')).0, 0);
    assert_eq!(fetch(broker, 1), (0, b"xy".to_vec()));
}
