//! Long-polling fetches and what wakes them: a produce to a partition they
//! asked for, the deletion of their topic, shutdown; never a produce to
//! another partition (see `fetch_waiters`).

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::test_support::{broker, one_record_batch, Producer, TestBroker};
use super::tests::ctx;
use super::*;
use crate::metadata::NewTopic;

const TOPIC: &str = "waited";

fn name() -> TopicName {
    TopicName(StrBytes::from_static_str(TOPIC))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap()
}

/// A v2 batch of one record with value `value`, no producer id.
fn batch(value: u8) -> Bytes {
    one_record_batch(crate::now_ms(), Producer::NONE, 0, value)
}

fn setup(partitions: i32) -> TestBroker {
    let b = broker();
    let mut topic = NewTopic::with_defaults(TOPIC);
    topic.num_partitions = partitions;
    b.broker.metadata.create_topic(topic, false).unwrap();
    b
}

/// A long poll of `partition` from offset 0 for at least one byte.
fn long_poll(partition: i32, max_wait_ms: i32) -> RequestKind {
    let p = FetchPartition::default().with_partition(partition).with_fetch_offset(0).with_partition_max_bytes(1 << 20);
    let t = FetchTopic::default().with_topic(name()).with_partitions(vec![p]);
    RequestKind::Fetch(FetchRequest::default().with_max_wait_ms(max_wait_ms).with_min_bytes(1).with_max_bytes(1 << 20).with_topics(vec![t]))
}

fn produce_request(partition: i32, value: u8) -> RequestKind {
    let data = PartitionProduceData::default().with_index(partition).with_records(Some(batch(value)));
    let topic = TopicProduceData::default().with_name(name()).with_partition_data(vec![data]);
    RequestKind::Produce(ProduceRequest::default().with_acks(1).with_timeout_ms(5000).with_topic_data(vec![topic]))
}

/// The fetch's partition: (error code, record bytes).
fn answer(response: Result<Option<ResponseKind>, NoHandler>) -> (i16, usize) {
    match response {
        Ok(Some(ResponseKind::Fetch(mut r))) => {
            let p = r.responses.remove(0).partitions.remove(0);
            (p.error_code, p.records.map_or(0, |r| r.len()))
        }
        other => panic!("{other:?}"),
    }
}

/// Runs a long poll of `partition` and, `after` it started, `then` on the
/// broker; returns the fetch's answer and how long it took.
fn poll_while(b: &Broker, partition: i32, max_wait_ms: i32, after: Duration, then: impl AsyncFnOnce(&Broker)) -> ((i16, usize), Duration) {
    runtime().block_on(async {
        let fetch_ctx = ctx(b, 12);
        let started = Instant::now();
        let fetch = async { (answer(handle(&fetch_ctx, long_poll(partition, max_wait_ms)).await), started.elapsed()) };
        let other = async {
            tokio::time::sleep(after).await;
            assert_eq!(b.partitions.waiters().partitions_waited_on(), 1, "the fetch waits on its partition only");
            then(b).await;
        };
        let (fetched, ()) = tokio::join!(fetch, other);
        fetched
    })
}

#[test]
fn a_produce_to_the_partition_answers_a_waiting_fetch_at_once() {
    let b = setup(2);
    let ((code, bytes), took) = poll_while(&b.broker, 0, 10_000, Duration::from_millis(100), async |broker| {
        let produced = handle(&ctx(broker, 9), produce_request(0, b'a')).await;
        assert!(matches!(produced, Ok(Some(ResponseKind::Produce(_)))));
    });
    assert_eq!(code, 0);
    assert!(bytes > 0, "the fetch returns the new batch");
    assert!(took < Duration::from_secs(5), "woken by the produce, not by max_wait_ms: {took:?}");
    assert_eq!(b.broker.partitions.waiters().partitions_waited_on(), 0, "the fetch left the registry");
}

#[test]
fn a_produce_to_another_partition_leaves_a_waiting_fetch_asleep() {
    let b = setup(2);
    let ((code, bytes), took) = poll_while(&b.broker, 0, 600, Duration::from_millis(50), async |broker| {
        for value in 0..5 {
            handle(&ctx(broker, 9), produce_request(1, value)).await.unwrap();
        }
    });
    assert_eq!((code, bytes), (0, 0), "nothing for partition 0");
    assert!(took >= Duration::from_millis(590), "waited its max_wait_ms: {took:?}");
    assert_eq!(b.broker.partitions.waiters().partitions_waited_on(), 0);
}

#[test]
fn deleting_the_topic_answers_a_waiting_fetch_at_once() {
    let b = setup(1);
    let ((code, _), took) = poll_while(&b.broker, 0, 10_000, Duration::from_millis(100), async |broker| {
        let req = DeleteTopicsRequest::default().with_topic_names(vec![name()]);
        handle(&ctx(broker, 5), RequestKind::DeleteTopics(req)).await.unwrap();
    });
    assert_eq!(code, ResponseError::UnknownTopicOrPartition.code());
    assert!(took < Duration::from_secs(5), "woken by the deletion: {took:?}");
    assert_eq!(b.broker.partitions.waiters().partitions_waited_on(), 0);
}

#[test]
fn shutdown_answers_a_waiting_fetch_at_once() {
    let b = setup(1);
    let ((code, bytes), took) = poll_while(&b.broker, 0, 10_000, Duration::from_millis(100), async |broker| {
        broker.partitions.waiters().close();
    });
    assert_eq!((code, bytes), (0, 0));
    assert!(took < Duration::from_secs(5), "answered at shutdown: {took:?}");
}
