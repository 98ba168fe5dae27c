//! Sample requests of the transaction APIs, every field each version has.

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

fn s(text: &'static str) -> StrBytes {
    StrBytes::from_static_str(text)
}

pub fn sample_request(api_key: ApiKey, v: i16, extra: std::collections::BTreeMap<i32, Bytes>) -> RequestKind {
    let txn = TransactionalId(s("orders-writer-1"));
    let topic = TopicName(s("orders"));
    match api_key {
        ApiKey::AddPartitionsToTxn => {
            use kafka_protocol::messages::add_partitions_to_txn_request::{AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction};
            let topics = vec![AddPartitionsToTxnTopic::default().with_name(topic).with_partitions(vec![0, 3])];
            let body = if v >= 4 {
                let t = AddPartitionsToTxnTransaction::default()
                    .with_transactional_id(txn)
                    .with_producer_id(ProducerId(4000))
                    .with_producer_epoch(2)
                    .with_verify_only(true)
                    .with_topics(topics);
                AddPartitionsToTxnRequest::default().with_transactions(vec![t])
            } else {
                AddPartitionsToTxnRequest::default()
                    .with_v3_and_below_transactional_id(txn)
                    .with_v3_and_below_producer_id(ProducerId(4000))
                    .with_v3_and_below_producer_epoch(2)
                    .with_v3_and_below_topics(topics)
            };
            RequestKind::AddPartitionsToTxn(body.with_unknown_tagged_fields(extra))
        }
        ApiKey::AddOffsetsToTxn => RequestKind::AddOffsetsToTxn(
            AddOffsetsToTxnRequest::default()
                .with_transactional_id(txn)
                .with_producer_id(ProducerId(4000))
                .with_producer_epoch(2)
                .with_group_id(GroupId(s("orders-app")))
                .with_unknown_tagged_fields(extra),
        ),
        ApiKey::EndTxn => RequestKind::EndTxn(
            EndTxnRequest::default()
                .with_transactional_id(txn)
                .with_producer_id(ProducerId(4000))
                .with_producer_epoch(2)
                .with_committed(true)
                .with_unknown_tagged_fields(extra),
        ),
        ApiKey::TxnOffsetCommit => {
            use kafka_protocol::messages::txn_offset_commit_request::{TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic};
            let mut p = TxnOffsetCommitRequestPartition::default().with_partition_index(1).with_committed_offset(42).with_committed_metadata(Some(s("m")));
            if v >= 2 {
                p = p.with_committed_leader_epoch(3);
            }
            let mut body = TxnOffsetCommitRequest::default()
                .with_transactional_id(txn)
                .with_group_id(GroupId(s("orders-app")))
                .with_producer_id(ProducerId(4000))
                .with_producer_epoch(2)
                .with_topics(vec![TxnOffsetCommitRequestTopic::default().with_name(topic).with_partitions(vec![p])]);
            if v >= 3 {
                body = body.with_generation_id(5).with_member_id(s("consumer-1")).with_group_instance_id(Some(s("instance-1")));
            }
            RequestKind::TxnOffsetCommit(body.with_unknown_tagged_fields(extra))
        }
        ApiKey::DescribeProducers => {
            use kafka_protocol::messages::describe_producers_request::TopicRequest;
            RequestKind::DescribeProducers(
                DescribeProducersRequest::default()
                    .with_topics(vec![TopicRequest::default().with_name(topic).with_partition_indexes(vec![0, 1])])
                    .with_unknown_tagged_fields(extra),
            )
        }
        ApiKey::DescribeTransactions => RequestKind::DescribeTransactions(
            DescribeTransactionsRequest::default().with_transactional_ids(vec![txn]).with_unknown_tagged_fields(extra),
        ),
        ApiKey::ListTransactions => {
            let mut body = ListTransactionsRequest::default().with_state_filters(vec![s("Ongoing")]).with_producer_id_filters(vec![ProducerId(4000)]);
            if v >= 1 {
                body = body.with_duration_filter(60_000);
            }
            if v >= 2 {
                body = body.with_transactional_id_pattern(Some(s("orders-.*")));
            }
            RequestKind::ListTransactions(body.with_unknown_tagged_fields(extra))
        }
        other => panic!("{other:?} is not a transaction API"),
    }
}
