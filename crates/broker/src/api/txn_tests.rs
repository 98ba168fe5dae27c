//! Transactions through the handlers: the coordinator APIs (FindCoordinator,
//! InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit,
//! EndTxn, the admin APIs) and the data path they drive (Produce with
//! verification, Fetch and ListOffsets at the last stable offset, OffsetFetch
//! with require_stable), across a crash and restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::{AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::txn_offset_commit_request::{TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::test_support::{broker, one_record_batch, Producer, TestBroker};
use super::tests::ctx;
use super::*;

/// One timestamp for the whole test run: recent, so segments do not roll by age.
fn now() -> i64 {
    static NOW: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *NOW.get_or_init(crate::now_ms)
}

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

fn name(text: &str) -> TopicName {
    TopicName(s(text))
}

/// A v2 batch of one record (null key, value "v") from producer `pid`.
fn batch(pid: i64, epoch: i16, sequence: i32, transactional: bool) -> Bytes {
    batch_at(now(), pid, epoch, sequence, transactional)
}

fn batch_at(timestamp: i64, pid: i64, epoch: i16, sequence: i32, transactional: bool) -> Bytes {
    let attributes = if transactional { 0x10 } else { 0 };
    one_record_batch(timestamp, Producer { id: pid, epoch, sequence }, attributes, b'v')
}

/// A broker and the runtime its marker and timer tasks live on.
struct T {
    b: TestBroker,
    rt: tokio::runtime::Runtime,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

impl T {
    fn new() -> Self {
        let t = T { b: broker(), rt: runtime() };
        t.rt.spawn(std::sync::Arc::clone(&t.b.broker.txns).run_timers());
        t
    }

    fn broker(&self) -> &Broker {
        &self.b.broker
    }

    fn call(&self, version: i16, request: RequestKind) -> ResponseKind {
        let c = ctx(self.broker(), version);
        self.rt.block_on(handle(&c, request)).unwrap().unwrap()
    }

    /// Crashes (tasks of this runtime die with it) and restarts on the same data.
    fn crash_and_restart(self) -> T {
        let T { b, rt } = self;
        rt.shutdown_timeout(Duration::from_secs(5));
        let rt = runtime();
        let b = b.crash_and_restart(&rt);
        rt.spawn(std::sync::Arc::clone(&b.broker.txns).run_timers());
        T { b, rt }
    }

    fn create_topic(&self, topic: &str, partitions: i32) {
        let t = create_topics_request::CreatableTopic::default().with_name(name(topic)).with_num_partitions(partitions).with_replication_factor(1);
        self.call(7, RequestKind::CreateTopics(CreateTopicsRequest::default().with_topics(vec![t])));
    }

    fn init_at(&self, version: i16, txn: &str, timeout_ms: i32, expected: (i64, i16)) -> InitProducerIdResponse {
        let req = InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(s(txn))))
            .with_transaction_timeout_ms(timeout_ms)
            .with_producer_id(ProducerId(expected.0))
            .with_producer_epoch(expected.1);
        match self.call(version, RequestKind::InitProducerId(req)) {
            ResponseKind::InitProducerId(r) => r,
            other => panic!("{other:?}"),
        }
    }

    /// InitProducerId, retrying CONCURRENT_TRANSACTIONS as clients do.
    fn init(&self, txn: &str) -> (i64, i16) {
        for _ in 0..200 {
            let r = self.init_at(5, txn, 60_000, (-1, -1));
            if r.error_code == 0 {
                return (r.producer_id.0, r.producer_epoch);
            }
            assert_eq!(r.error_code, ResponseError::ConcurrentTransactions.code());
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("InitProducerId kept answering CONCURRENT_TRANSACTIONS");
    }

    fn add_at(&self, version: i16, txn: &str, p: (i64, i16), topics: &[(&str, &[i32])]) -> Vec<(String, i32, i16)> {
        let topics: Vec<AddPartitionsToTxnTopic> =
            topics.iter().map(|(t, ps)| AddPartitionsToTxnTopic::default().with_name(name(t)).with_partitions(ps.to_vec())).collect();
        let req = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(TransactionalId(s(txn)))
            .with_v3_and_below_producer_id(ProducerId(p.0))
            .with_v3_and_below_producer_epoch(p.1)
            .with_v3_and_below_topics(topics);
        match self.call(version, RequestKind::AddPartitionsToTxn(req)) {
            ResponseKind::AddPartitionsToTxn(r) => r
                .results_by_topic_v3_and_below
                .iter()
                .flat_map(|t| t.results_by_partition.iter().map(|p| (t.name.0.to_string(), p.partition_index, p.partition_error_code)))
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    fn add(&self, txn: &str, p: (i64, i16), topics: &[(&str, &[i32])]) {
        for (topic, partition, error) in self.add_at(3, txn, p, topics) {
            assert_eq!(error, 0, "{topic}-{partition}");
        }
    }

    fn end_at(&self, version: i16, txn: &str, p: (i64, i16), commit: bool) -> EndTxnResponse {
        let req = EndTxnRequest::default().with_transactional_id(TransactionalId(s(txn))).with_producer_id(ProducerId(p.0)).with_producer_epoch(p.1).with_committed(commit);
        match self.call(version, RequestKind::EndTxn(req)) {
            ResponseKind::EndTxn(r) => r,
            other => panic!("{other:?}"),
        }
    }

    /// EndTxn, then waits until its markers are written.
    fn end(&self, txn: &str, p: (i64, i16), commit: bool) {
        assert_eq!(self.end_at(3, txn, p, commit).error_code, 0);
        self.wait_for_state(txn, if commit { "CompleteCommit" } else { "CompleteAbort" });
    }

    fn describe(&self, txn: &str) -> describe_transactions_response::TransactionState {
        let req = DescribeTransactionsRequest::default().with_transactional_ids(vec![TransactionalId(s(txn))]);
        match self.call(0, RequestKind::DescribeTransactions(req)) {
            ResponseKind::DescribeTransactions(mut r) => r.transaction_states.remove(0),
            other => panic!("{other:?}"),
        }
    }

    fn wait_for_state(&self, txn: &str, state: &str) {
        for _ in 0..500 {
            if self.describe(txn).transaction_state.as_str() == state {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{txn} never reached {state}: {:?}", self.describe(txn));
    }

    fn produce_at(&self, version: i16, txn: Option<&str>, topic: &str, batches: Vec<Bytes>) -> Vec<produce_response::PartitionProduceResponse> {
        let partitions = batches.into_iter().enumerate().map(|(i, records)| PartitionProduceData::default().with_index(i as i32).with_records(Some(records)));
        let t = TopicProduceData::default().with_name(name(topic)).with_partition_data(partitions.collect());
        let req = ProduceRequest::default().with_acks(-1).with_transactional_id(txn.map(|id| TransactionalId(s(id)))).with_topic_data(vec![t]);
        match self.call(version, RequestKind::Produce(req)) {
            ResponseKind::Produce(mut r) => r.responses.remove(0).partition_responses,
            other => panic!("{other:?}"),
        }
    }

    fn produce(&self, txn: Option<&str>, topic: &str, batches: Vec<Bytes>) -> Vec<i16> {
        self.produce_at(9, txn, topic, batches).iter().map(|p| p.error_code).collect()
    }

    fn fetch(&self, topic: &str, isolation_level: i8, offset: i64) -> fetch_response::PartitionData {
        let p = FetchPartition::default().with_partition(0).with_fetch_offset(offset).with_partition_max_bytes(1 << 20);
        let t = FetchTopic::default().with_topic(name(topic)).with_partitions(vec![p]);
        let req = FetchRequest::default().with_isolation_level(isolation_level).with_max_bytes(1 << 20).with_topics(vec![t]);
        match self.call(12, RequestKind::Fetch(req)) {
            ResponseKind::Fetch(mut r) => r.responses.remove(0).partitions.remove(0),
            other => panic!("{other:?}"),
        }
    }

    fn list_offset(&self, version: i16, isolation_level: i8, timestamp: i64) -> (i64, i64) {
        let p = ListOffsetsPartition::default().with_partition_index(0).with_timestamp(timestamp);
        let t = ListOffsetsTopic::default().with_name(name("t")).with_partitions(vec![p]);
        let req = ListOffsetsRequest::default().with_isolation_level(isolation_level).with_topics(vec![t]);
        match self.call(version, RequestKind::ListOffsets(req)) {
            ResponseKind::ListOffsets(r) => {
                let p = &r.topics[0].partitions[0];
                assert_eq!(p.error_code, 0);
                (p.timestamp, p.offset)
            }
            other => panic!("{other:?}"),
        }
    }

    fn add_offsets(&self, version: i16, txn: &str, p: (i64, i16), group: &str) -> i16 {
        let req = AddOffsetsToTxnRequest::default()
            .with_transactional_id(TransactionalId(s(txn)))
            .with_producer_id(ProducerId(p.0))
            .with_producer_epoch(p.1)
            .with_group_id(GroupId(s(group)));
        match self.call(version, RequestKind::AddOffsetsToTxn(req)) {
            ResponseKind::AddOffsetsToTxn(r) => r.error_code,
            other => panic!("{other:?}"),
        }
    }

    fn txn_commit(&self, version: i16, txn: &str, p: (i64, i16), group: &str, offset: i64) -> i16 {
        let partition = TxnOffsetCommitRequestPartition::default().with_partition_index(0).with_committed_offset(offset).with_committed_leader_epoch(-1);
        let req = TxnOffsetCommitRequest::default()
            .with_transactional_id(TransactionalId(s(txn)))
            .with_group_id(GroupId(s(group)))
            .with_producer_id(ProducerId(p.0))
            .with_producer_epoch(p.1)
            .with_generation_id(-1)
            .with_topics(vec![TxnOffsetCommitRequestTopic::default().with_name(name("t")).with_partitions(vec![partition])]);
        match self.call(version, RequestKind::TxnOffsetCommit(req)) {
            ResponseKind::TxnOffsetCommit(r) => r.topics[0].partitions[0].error_code,
            other => panic!("{other:?}"),
        }
    }

    /// OffsetFetch v8 of t-0: (error, committed offset).
    fn fetch_offset(&self, group: &str, require_stable: bool) -> (i16, i64) {
        let topic = offset_fetch_request::OffsetFetchRequestTopics::default().with_name(name("t")).with_partition_indexes(vec![0]);
        let g = offset_fetch_request::OffsetFetchRequestGroup::default().with_group_id(GroupId(s(group))).with_topics(Some(vec![topic]));
        let req = OffsetFetchRequest::default().with_groups(vec![g]).with_require_stable(require_stable);
        match self.call(8, RequestKind::OffsetFetch(req)) {
            ResponseKind::OffsetFetch(r) => {
                let p = &r.groups[0].topics[0].partitions[0];
                (p.error_code, p.committed_offset)
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn find_coordinator_answers_transactional_ids_and_creates_the_state_topic() {
    let t = T::new();
    for version in [1, 3] {
        let req = FindCoordinatorRequest::default().with_key(s("tx")).with_key_type(1);
        let ResponseKind::FindCoordinator(r) = t.call(version, RequestKind::FindCoordinator(req)) else { panic!() };
        assert_eq!((r.error_code, r.node_id.0, r.host.as_str(), r.port), (0, 1, "localhost", 9092), "v{version}");
    }
    let req = FindCoordinatorRequest::default().with_key_type(1).with_coordinator_keys(vec![s("a"), s("b")]);
    let ResponseKind::FindCoordinator(r) = t.call(4, RequestKind::FindCoordinator(req)) else { panic!() };
    assert_eq!(r.coordinators.iter().map(|c| (c.key.as_str(), c.error_code, c.node_id.0)).collect::<Vec<_>>(), vec![("a", 0, 1), ("b", 0, 1)]);
    let topic = t.broker().metadata.image().topic("__transaction_state").cloned().unwrap();
    assert_eq!(topic.partitions.len(), 3);
    assert_eq!(topic.configs.get("cleanup.policy").map(String::as_str), Some("compact"));
    let req = FindCoordinatorRequest::default().with_key(s("x")).with_key_type(2);
    let ResponseKind::FindCoordinator(r) = t.call(3, RequestKind::FindCoordinator(req)) else { panic!() };
    assert_eq!(r.error_code, ResponseError::InvalidRequest.code());
}

#[test]
fn init_producer_id_bumps_fences_and_maps_errors_by_version() {
    let t = T::new();
    let first = t.init_at(0, "tx", 60_000, (-1, -1));
    assert_eq!((first.error_code, first.producer_epoch), (0, 0));
    let pid = first.producer_id.0;
    assert_eq!(t.init_at(5, "tx", 60_000, (-1, -1)).producer_epoch, 1);
    // KIP-360: resuming with the current epoch bumps it; a stale one is fenced.
    let resumed = t.init_at(4, "tx", 60_000, (pid, 1));
    assert_eq!((resumed.error_code, resumed.producer_id.0, resumed.producer_epoch), (0, pid, 2));
    assert_eq!(t.init_at(3, "tx", 60_000, (pid + 100, 0)).error_code, ResponseError::InvalidProducerEpoch.code(), "v3: the pre-KIP-588 code");
    let fenced = t.init_at(4, "tx", 60_000, (pid + 100, 0));
    assert_eq!((fenced.error_code, fenced.producer_id.0, fenced.producer_epoch), (ResponseError::ProducerFenced.code(), -1, -1));
    assert_eq!(t.init_at(3, "tx", 60_000, (-1, 2)).error_code, ResponseError::InvalidRequest.code());
    assert_eq!(t.init_at(5, "tx", 900_001, (-1, -1)).error_code, ResponseError::InvalidTransactionTimeout.code());
    assert_eq!(t.init_at(5, "", 60_000, (-1, -1)).error_code, ResponseError::InvalidRequest.code());
    // Idempotent producers are unaffected.
    let ResponseKind::InitProducerId(r) = t.call(5, RequestKind::InitProducerId(InitProducerIdRequest::default().with_transactional_id(None).with_producer_id(ProducerId(-1)).with_producer_epoch(-1))) else { panic!() };
    assert_eq!((r.error_code, r.producer_epoch), (0, 0));
    assert_ne!(r.producer_id.0, pid);
}

#[test]
fn add_partitions_checks_each_partition_first() {
    let t = T::new();
    t.create_topic("t", 2);
    let p = t.init("tx");
    let r = t.add_at(3, "tx", p, &[("t", &[0, 5]), ("missing", &[0])]);
    let unknown = ResponseError::UnknownTopicOrPartition.code();
    let skipped = ResponseError::OperationNotAttempted.code();
    assert_eq!(r, vec![("t".into(), 0, skipped), ("t".into(), 5, unknown), ("missing".into(), 0, unknown)]);
    assert_eq!(t.describe("tx").transaction_state.as_str(), "Empty", "nothing was added");
    let r = t.add_at(3, "tx", p, &[("__consumer_offsets", &[0])]);
    assert_eq!(r[0].2, ResponseError::TopicAuthorizationFailed.code(), "internal topics go through AddOffsetsToTxn");
    assert_eq!(t.add_at(1, "tx", (p.0, p.1 + 1), &[("t", &[0])])[0].2, ResponseError::InvalidProducerEpoch.code());
    assert_eq!(t.add_at(3, "tx", (p.0, p.1 + 1), &[("t", &[0])])[0].2, ResponseError::ProducerFenced.code());
    assert_eq!(t.add_at(3, "other", p, &[("t", &[0])])[0].2, ResponseError::InvalidProducerIdMapping.code());
    t.add("tx", p, &[("t", &[0, 1])]);
    let described = t.describe("tx");
    assert_eq!((described.transaction_state.as_str(), described.topics[0].partitions.clone()), ("Ongoing", vec![0, 1]));
    // The broker-to-broker form (v4+): a batch of transactions, verify-only or not.
    let txn = |verify_only, partitions: Vec<i32>| {
        AddPartitionsToTxnTransaction::default()
            .with_transactional_id(TransactionalId(s("tx")))
            .with_producer_id(ProducerId(p.0))
            .with_producer_epoch(p.1)
            .with_verify_only(verify_only)
            .with_topics(vec![AddPartitionsToTxnTopic::default().with_name(name("t")).with_partitions(partitions)])
    };
    let other = AddPartitionsToTxnTransaction::default().with_transactional_id(TransactionalId(s("nope"))).with_verify_only(true).with_topics(vec![
        AddPartitionsToTxnTopic::default().with_name(name("t")).with_partitions(vec![0]),
    ]);
    let req = AddPartitionsToTxnRequest::default().with_transactions(vec![txn(true, vec![0]), other]);
    let ResponseKind::AddPartitionsToTxn(r) = t.call(5, RequestKind::AddPartitionsToTxn(req)) else { panic!() };
    let codes: Vec<(String, i16)> =
        r.results_by_transaction.iter().map(|t| (t.transactional_id.0.to_string(), t.topic_results[0].results_by_partition[0].partition_error_code)).collect();
    assert_eq!(codes, vec![("tx".into(), 0), ("nope".into(), ResponseError::InvalidProducerIdMapping.code())]);
}

#[test]
fn transactional_produce_needs_a_transactional_id_and_a_verified_partition() {
    let t = T::new();
    t.create_topic("t", 2);
    // One transactional batch fails the whole request, every partition.
    let partitions = t.produce_at(9, None, "t", vec![batch(1, 0, 0, false), batch(1, 0, 0, true)]);
    assert!(partitions.iter().all(|p| p.error_code == ResponseError::TransactionalIdAuthorizationFailed.code()), "{partitions:?}");
    assert_eq!(partitions[0].error_message.as_deref(), Some("Transactional Id authorization failed."));
    let p = t.init("tx");
    // KIP-890: a partition not in the transaction is refused before anything is written.
    let refused = t.produce_at(9, Some("tx"), "t", vec![batch(p.0, p.1, 0, true)]);
    assert_eq!((refused[0].error_code, refused[0].error_message.as_deref()), (ResponseError::InvalidTxnState.code(), Some("Partition was not added to the transaction")));
    assert_eq!(t.produce_at(11, Some("tx"), "t", vec![batch(p.0, p.1, 0, true)])[0].error_code, ResponseError::TransactionAbortable.code(), "v11+");
    assert_eq!(t.produce(Some("tx"), "t", vec![batch(p.0, p.1 + 1, 0, true)]), vec![ResponseError::InvalidProducerEpoch.code()], "fenced");
    assert_eq!(t.broker().partitions.log("t", 0).unwrap().log_end_offset(), 0);
    t.add("tx", p, &[("t", &[0])]);
    assert_eq!(t.produce(Some("tx"), "t", vec![batch(p.0, p.1, 0, true)]), vec![0]);
    assert_eq!(t.broker().partitions.log("t", 0).unwrap().open_transaction(p.0), Some(0));
    // Inside the transaction a plain batch is INVALID_TXN_STATE.
    assert_eq!(t.produce(Some("tx"), "t", vec![batch(p.0, p.1, 1, false)]), vec![ResponseError::InvalidTxnState.code()]);
    // While the transaction is being committed, a first write elsewhere is retried.
    t.add("tx", p, &[("t", &[1])]);
    t.broker().txns.delay_markers(Duration::from_secs(3600));
    assert_eq!(t.end_at(3, "tx", p, true).error_code, 0);
    let busy = t.produce_at(9, Some("tx"), "t", vec![batch(p.0, p.1, 1, true), batch(p.0, p.1, 0, true)]);
    assert_eq!(busy[1].error_code, ResponseError::NotEnoughReplicas.code());
    assert_eq!(
        busy[1].error_message.as_deref(),
        Some("Unable to verify the partition has been added to the transaction. Underlying error: CONCURRENT_TRANSACTIONS")
    );
}

#[test]
fn commit_makes_every_partition_readable_at_once_and_abort_hides_the_records() {
    let t = T::new();
    t.create_topic("t", 1);
    t.create_topic("u", 1);
    let p = t.init("tx");
    t.add("tx", p, &[("t", &[0]), ("u", &[0])]);
    assert_eq!(t.produce(Some("tx"), "t", vec![batch(p.0, p.1, 0, true)]), vec![0]); // t@0
    assert_eq!(t.produce(None, "t", vec![batch(-1, -1, -1, false)]), vec![0]); // t@1
    assert_eq!(t.produce(Some("tx"), "u", vec![batch(p.0, p.1, 0, true)]), vec![0]); // u@0
    let open = t.fetch("t", 1, 0);
    assert_eq!((open.high_watermark, open.last_stable_offset), (2, 0));
    assert_eq!(open.records.as_deref(), Some(&[][..]), "nothing at or past the LSO");
    assert_eq!(open.aborted_transactions.as_deref(), Some(&[][..]));
    let uncommitted = t.fetch("t", 0, 0);
    assert_eq!((uncommitted.high_watermark, uncommitted.last_stable_offset), (2, 0));
    assert!(!uncommitted.records.unwrap().is_empty());
    assert!(uncommitted.aborted_transactions.is_none(), "null for read_uncommitted, as Kafka");
    t.end("tx", p, true);
    for (topic, end) in [("t", 3), ("u", 2)] {
        let committed = t.fetch(topic, 1, 0);
        assert_eq!((committed.high_watermark, committed.last_stable_offset), (end, end), "{topic}: the COMMIT marker is written");
        assert_eq!(committed.aborted_transactions.as_deref(), Some(&[][..]));
    }
    // The next transaction aborts: read_committed is told to skip it.
    t.add("tx", p, &[("t", &[0])]);
    assert_eq!(t.produce(Some("tx"), "t", vec![batch(p.0, p.1, 1, true)]), vec![0]); // t@3
    t.end("tx", p, false);
    let committed = t.fetch("t", 1, 0);
    assert_eq!((committed.high_watermark, committed.last_stable_offset), (5, 5));
    let aborted = committed.aborted_transactions.unwrap();
    assert_eq!(aborted.iter().map(|a| (a.producer_id.0, a.first_offset)).collect::<Vec<_>>(), vec![(p.0, 3)]);
    let records = committed.records.unwrap();
    let batches: Vec<(i64, bool)> =
        strom_storage::batch::BatchScanner::new(&records).map(|b| b.unwrap().1).map(|h| (h.base_offset, h.is_control())).collect();
    assert_eq!(batches, vec![(0, false), (1, false), (2, true), (3, false), (4, true)]);
}

#[test]
fn list_offsets_answers_the_last_stable_offset_to_read_committed() {
    let t = T::new();
    t.create_topic("t", 1);
    let p = t.init("tx");
    t.add("tx", p, &[("t", &[0])]);
    assert_eq!(t.produce(None, "t", vec![batch(-1, -1, -1, false)]), vec![0]); // 0
    assert_eq!(t.produce(Some("tx"), "t", vec![batch(p.0, p.1, 0, true)]), vec![0]); // 1
    assert_eq!(t.produce(None, "t", vec![batch_at(now() + 5, -1, -1, -1, false)]), vec![0]); // 2
    assert_eq!(t.list_offset(7, 1, -1), (-1, 1));
    assert_eq!(t.list_offset(7, 0, -1), (-1, 3));
    assert_eq!(t.list_offset(1, 0, -1), (-1, 3), "v1 has no isolation level");
    // A timestamp lookup landing at or past the LSO finds nothing for read_committed.
    assert_eq!(t.list_offset(7, 1, now()), (now(), 0));
    assert_eq!(t.list_offset(7, 1, now() + 1), (-1, -1));
    assert_eq!(t.list_offset(7, 0, now() + 1), (now() + 5, 2));
    assert_eq!(t.list_offset(7, 1, -3), (-1, -1), "the max timestamp is past the LSO");
    assert_eq!(t.list_offset(7, 0, -3), (now() + 5, 2));
    assert_eq!(t.list_offset(7, 1, -2), (-1, 0));
    t.end("tx", p, false);
    assert_eq!(t.list_offset(7, 1, -1), (-1, 4));
    assert_eq!(t.list_offset(7, 1, now() + 1), (now() + 5, 2));
}

#[test]
fn transactional_offsets_are_visible_only_after_the_commit() {
    let t = T::new();
    t.create_topic("t", 1);
    let p = t.init("tx");
    assert_eq!(t.fetch_offset("g", true), (0, -1));
    // Without AddOffsetsToTxn the group's partition is not in the transaction.
    assert_eq!(t.txn_commit(3, "tx", p, "g", 5), ResponseError::InvalidTxnState.code());
    assert_eq!(t.txn_commit(4, "tx", p, "g", 5), ResponseError::TransactionAbortable.code());
    assert_eq!(t.add_offsets(1, "tx", (p.0, p.1 + 1), "g"), ResponseError::InvalidProducerEpoch.code());
    assert_eq!(t.add_offsets(3, "tx", (p.0, p.1 + 1), "g"), ResponseError::ProducerFenced.code());
    assert_eq!(t.add_offsets(3, "tx", p, "g"), 0);
    let described = t.describe("tx");
    assert_eq!(described.topics[0].topic.0.as_str(), "__consumer_offsets");
    assert_eq!(t.txn_commit(3, "tx", p, "g", 5), 0);
    assert_eq!(t.fetch_offset("g", false), (0, -1), "not visible before the commit");
    assert_eq!(t.fetch_offset("g", true), (ResponseError::UnstableOffsetCommit.code(), -1));
    t.end("tx", p, true);
    assert_eq!(t.fetch_offset("g", true), (0, 5));
    // An aborted commit leaves the offset as it was.
    assert_eq!(t.add_offsets(3, "tx", p, "g"), 0);
    assert_eq!(t.txn_commit(3, "tx", p, "g", 9), 0);
    t.end("tx", p, false);
    assert_eq!(t.fetch_offset("g", true), (0, 5));
    // A fenced producer's offsets are refused.
    let new = t.init("tx");
    assert_eq!(t.add_offsets(3, "tx", new, "g"), 0);
    assert_eq!(t.txn_commit(3, "tx", p, "g", 7), ResponseError::InvalidProducerEpoch.code());
    // Unknown partitions are refused one by one.
    let partition = TxnOffsetCommitRequestPartition::default().with_partition_index(3).with_committed_offset(1);
    let req = TxnOffsetCommitRequest::default()
        .with_transactional_id(TransactionalId(s("tx")))
        .with_group_id(GroupId(s("g")))
        .with_producer_id(ProducerId(new.0))
        .with_producer_epoch(new.1)
        .with_topics(vec![TxnOffsetCommitRequestTopic::default().with_name(name("t")).with_partitions(vec![partition])]);
    let ResponseKind::TxnOffsetCommit(r) = t.call(3, RequestKind::TxnOffsetCommit(req)) else { panic!() };
    assert_eq!(r.topics[0].partitions[0].error_code, ResponseError::UnknownTopicOrPartition.code());
}

#[test]
fn a_crash_in_prepare_commit_completes_the_commit_and_offsets_survive() {
    let mut t = T::new();
    t.create_topic("t", 1);
    let p = t.init("tx");
    t.add("tx", p, &[("t", &[0])]);
    assert_eq!(t.add_offsets(3, "tx", p, "g"), 0);
    assert_eq!(t.produce(Some("tx"), "t", vec![batch(p.0, p.1, 0, true)]), vec![0]);
    assert_eq!(t.txn_commit(3, "tx", p, "g", 1), 0);
    let committed_before = t.fetch_offset("g", true);
    assert_eq!(committed_before.0, ResponseError::UnstableOffsetCommit.code());
    // Restart with everything still pending: the open transaction is reloaded.
    t = t.crash_and_restart();
    assert_eq!(t.describe("tx").transaction_state.as_str(), "Ongoing");
    assert_eq!(t.fetch("t", 1, 0).last_stable_offset, 0);
    assert_eq!(t.fetch_offset("g", true).0, ResponseError::UnstableOffsetCommit.code(), "pending offsets reloaded");
    assert_eq!(t.fetch_offset("g", false), (0, -1));
    // Decide it, and crash before any marker is written.
    t.broker().txns.delay_markers(Duration::from_secs(3600));
    assert_eq!(t.end_at(3, "tx", p, true).error_code, 0);
    assert_eq!(t.describe("tx").transaction_state.as_str(), "PrepareCommit");
    t = t.crash_and_restart();
    t.wait_for_state("tx", "CompleteCommit");
    assert_eq!(t.fetch("t", 1, 0).last_stable_offset, 2, "the commit finished after the restart");
    assert_eq!(t.fetch_offset("g", true), (0, 1));
    // And the completed state survives another restart.
    t = t.crash_and_restart();
    assert_eq!(t.describe("tx").transaction_state.as_str(), "CompleteCommit");
    assert_eq!(t.fetch_offset("g", true), (0, 1));
    assert_eq!(t.end_at(3, "tx", p, true).error_code, 0, "a retried EndTxn still succeeds");
}

#[test]
fn a_crash_in_prepare_abort_completes_the_abort() {
    let mut t = T::new();
    t.create_topic("t", 1);
    let p = t.init("tx");
    t.add("tx", p, &[("t", &[0])]);
    assert_eq!(t.add_offsets(3, "tx", p, "g"), 0);
    assert_eq!(t.produce(Some("tx"), "t", vec![batch(p.0, p.1, 0, true)]), vec![0]);
    assert_eq!(t.txn_commit(3, "tx", p, "g", 1), 0);
    t.broker().txns.delay_markers(Duration::from_secs(3600));
    assert_eq!(t.end_at(3, "tx", p, false).error_code, 0);
    assert_eq!(t.describe("tx").transaction_state.as_str(), "PrepareAbort");
    t = t.crash_and_restart();
    t.wait_for_state("tx", "CompleteAbort");
    let committed = t.fetch("t", 1, 0);
    assert_eq!(committed.last_stable_offset, 2);
    assert_eq!(committed.aborted_transactions.unwrap().len(), 1);
    assert_eq!(t.fetch_offset("g", true), (0, -1), "aborted offsets never become visible");
}

#[test]
fn timed_out_transactions_are_aborted() {
    let t = T::new();
    t.create_topic("t", 1);
    let r = t.init_at(5, "tx", 200, (-1, -1));
    let p = (r.producer_id.0, r.producer_epoch);
    t.add("tx", p, &[("t", &[0])]);
    assert_eq!(t.produce(Some("tx"), "t", vec![batch(p.0, p.1, 0, true)]), vec![0]);
    t.wait_for_state("tx", "CompleteAbort");
    assert_eq!(t.describe("tx").producer_epoch, p.1 + 1, "the producer was fenced");
    assert_eq!(t.fetch("t", 1, 0).last_stable_offset, 2);
    assert_eq!(t.end_at(3, "tx", p, true).error_code, ResponseError::ProducerFenced.code());
    assert_eq!(t.produce(Some("tx"), "t", vec![batch(p.0, p.1, 1, true)]), vec![ResponseError::InvalidProducerEpoch.code()]);
}

#[test]
fn admin_apis_describe_list_and_show_producers() {
    let t = T::new();
    t.create_topic("t", 1);
    let p = t.init("tx-a");
    let q = t.init("tx-b");
    t.add("tx-a", p, &[("t", &[0])]);
    assert_eq!(t.produce(Some("tx-a"), "t", vec![batch(p.0, p.1, 0, true)]), vec![0]);
    let described = t.describe("tx-a");
    assert_eq!((described.error_code, described.transaction_state.as_str(), described.producer_id.0), (0, "Ongoing", p.0));
    assert_eq!(described.transaction_timeout_ms, 60_000);
    assert_eq!(t.describe("nope").error_code, ResponseError::TransactionalIdNotFound.code());
    let list = |version, states: Vec<&str>, pattern: Option<&str>| {
        let req = ListTransactionsRequest::default()
            .with_state_filters(states.into_iter().map(s).collect())
            .with_duration_filter(-1)
            .with_transactional_id_pattern(pattern.map(s));
        let ResponseKind::ListTransactions(r) = t.call(version, RequestKind::ListTransactions(req)) else { panic!() };
        let ids: Vec<String> = r.transaction_states.iter().map(|t| format!("{}:{}", t.transactional_id.0, t.transaction_state)).collect();
        (r.error_code, ids, r.unknown_state_filters.iter().map(|u| u.to_string()).collect::<Vec<_>>())
    };
    assert_eq!(list(0, vec![], None), (0, vec!["tx-a:Ongoing".into(), "tx-b:Empty".into()], vec![]));
    assert_eq!(list(1, vec!["Empty", "Nope"], None), (0, vec!["tx-b:Empty".into()], vec!["Nope".into()]));
    assert_eq!(list(2, vec![], Some("tx-.")), (0, vec!["tx-a:Ongoing".into(), "tx-b:Empty".into()], vec![]));
    assert_eq!(list(2, vec![], Some("tx")).1.len(), 0, "the whole id must match");
    assert_eq!(list(2, vec![], Some(".*b")).1, vec!["tx-b:Empty".to_string()]);
    assert_eq!(list(1, vec![], Some(".*b")).1.len(), 2, "v1 has no pattern");
    assert_eq!(list(2, vec![], Some("(")).0, ResponseError::InvalidRegularExpression.code());
    let req = DescribeProducersRequest::default().with_topics(vec![
        describe_producers_request::TopicRequest::default().with_name(name("t")).with_partition_indexes(vec![0, 4]),
    ]);
    let ResponseKind::DescribeProducers(r) = t.call(0, RequestKind::DescribeProducers(req)) else { panic!() };
    let partitions = &r.topics[0].partitions;
    assert_eq!(partitions[1].error_code, ResponseError::UnknownTopicOrPartition.code());
    let producer = &partitions[0].active_producers[0];
    assert_eq!((producer.producer_id.0, producer.producer_epoch, producer.last_sequence, producer.current_txn_start_offset), (p.0, 0, 0, 0));
    assert_eq!((producer.coordinator_epoch, producer.last_timestamp), (-1, now()));
    let _ = q;
}

/// Whether `key` is one of the transaction APIs [`request_for`] builds.
pub fn is_txn_api(key: ApiKey) -> bool {
    matches!(
        key,
        ApiKey::AddPartitionsToTxn
            | ApiKey::AddOffsetsToTxn
            | ApiKey::EndTxn
            | ApiKey::TxnOffsetCommit
            | ApiKey::DescribeTransactions
            | ApiKey::ListTransactions
            | ApiKey::DescribeProducers
    )
}

/// A request of transaction API `key` at `version` for a broker where topic
/// "t" exists: answered at once (mostly with the coordinator's errors).
pub fn request_for(key: ApiKey, version: i16) -> RequestKind {
    let txn = TransactionalId(s("unknown"));
    match key {
        ApiKey::AddPartitionsToTxn if version < 4 => RequestKind::AddPartitionsToTxn(
            AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(txn)
                .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default().with_name(name("t")).with_partitions(vec![0, 9])]),
        ),
        ApiKey::AddPartitionsToTxn => RequestKind::AddPartitionsToTxn(AddPartitionsToTxnRequest::default().with_transactions(vec![
            AddPartitionsToTxnTransaction::default()
                .with_transactional_id(txn)
                .with_verify_only(true)
                .with_topics(vec![AddPartitionsToTxnTopic::default().with_name(name("t")).with_partitions(vec![0])]),
        ])),
        ApiKey::AddOffsetsToTxn => RequestKind::AddOffsetsToTxn(AddOffsetsToTxnRequest::default().with_transactional_id(txn).with_group_id(GroupId(s("g")))),
        ApiKey::EndTxn => RequestKind::EndTxn(EndTxnRequest::default().with_transactional_id(txn).with_committed(true)),
        ApiKey::TxnOffsetCommit => {
            let partition = TxnOffsetCommitRequestPartition::default().with_partition_index(0).with_committed_offset(1);
            RequestKind::TxnOffsetCommit(
                TxnOffsetCommitRequest::default()
                    .with_transactional_id(txn)
                    .with_group_id(GroupId(s("g")))
                    .with_generation_id(-1)
                    .with_topics(vec![TxnOffsetCommitRequestTopic::default().with_name(name("t")).with_partitions(vec![partition])]),
            )
        }
        ApiKey::DescribeTransactions => RequestKind::DescribeTransactions(DescribeTransactionsRequest::default().with_transactional_ids(vec![txn])),
        ApiKey::ListTransactions => RequestKind::ListTransactions(ListTransactionsRequest::default().with_duration_filter(-1)),
        ApiKey::DescribeProducers => RequestKind::DescribeProducers(DescribeProducersRequest::default().with_topics(vec![
            describe_producers_request::TopicRequest::default().with_name(name("t")).with_partition_indexes(vec![0]),
        ])),
        other => panic!("{other:?} is not a transaction API"),
    }
}
