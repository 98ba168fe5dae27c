//! AddPartitionsToTxn (key 24), versions 0-5. v0-3 come from clients: one
//! transaction whose partitions join it (beginning it). v4+ is the
//! broker-to-broker batch form (KIP-890): many transactions, each either added
//! or, with `verify_only`, checked against the coordinator's partitions
//! (TRANSACTION_ABORTABLE for one that is not in the transaction).
//!
//! As Kafka's `handleAddPartitionsToTxnRequest`: a partition that does not
//! exist is UNKNOWN_TOPIC_OR_PARTITION and one of an internal topic is
//! TOPIC_AUTHORIZATION_FAILED (clients add `__consumer_offsets` through
//! AddOffsetsToTxn); then the rest of that transaction is
//! OPERATION_NOT_ATTEMPTED. Otherwise every partition carries the
//! coordinator's answer. Below v2, PRODUCER_FENCED is INVALID_PRODUCER_EPOCH.
//!
//! Authorization as Kafka: clients (v0-3) need WRITE on the transactional id
//! (else every partition is TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and on each
//! topic (TOPIC_AUTHORIZATION_FAILED); brokers (v4+) need CLUSTER_ACTION.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::{AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction};
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};

use super::produce::is_internal;
use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};
use crate::txn::metadata::TopicPartition;

pub async fn handle(ctx: &RequestContext<'_>, req: AddPartitionsToTxnRequest) -> AddPartitionsToTxnResponse {
    if ctx.api_version < 4 {
        let txn = AddPartitionsToTxnTransaction::default()
            .with_transactional_id(req.v3_and_below_transactional_id)
            .with_producer_id(req.v3_and_below_producer_id)
            .with_producer_epoch(req.v3_and_below_producer_epoch)
            .with_topics(req.v3_and_below_topics);
        let result = handle_one(ctx, txn).await;
        return AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(result.topic_results);
    }
    if !ctx.cluster_authorized(AclOperation::ClusterAction) {
        return AddPartitionsToTxnResponse::default().with_error_code(ResponseError::ClusterAuthorizationFailed.code());
    }
    let mut results = Vec::with_capacity(req.transactions.len());
    for txn in req.transactions {
        results.push(handle_one(ctx, txn).await);
    }
    AddPartitionsToTxnResponse::default().with_results_by_transaction(results)
}

/// Per partition of a topic: its index and its own error, if any.
type PartitionChecks = Vec<(i32, Option<ResponseError>)>;

async fn handle_one(ctx: &RequestContext<'_>, txn: AddPartitionsToTxnTransaction) -> AddPartitionsToTxnResult {
    let image = ctx.broker.metadata.image();
    let client = ctx.api_version < 4;
    if client && !ctx.authorized(AclOperation::Write, ResourceType::TransactionalId, &txn.transactional_id) {
        return every_partition(txn, ResponseError::TransactionalIdAuthorizationFailed);
    }
    let mut refused = false;
    // Per partition: None while it may be added, else its own error.
    let checked: Vec<(&AddPartitionsToTxnTopic, PartitionChecks)> = txn
        .topics
        .iter()
        .map(|topic| {
            let known = image.topic(&topic.name.0);
            let writable = !client || (!is_internal(&topic.name.0) && ctx.authorized(AclOperation::Write, ResourceType::Topic, &topic.name.0));
            let partitions = topic
                .partitions
                .iter()
                .map(|&p| {
                    let error = if !writable {
                        Some(ResponseError::TopicAuthorizationFailed)
                    } else if !known.is_some_and(|t| usize::try_from(p).is_ok_and(|i| i < t.partitions.len())) {
                        Some(ResponseError::UnknownTopicOrPartition)
                    } else {
                        None
                    };
                    refused |= error.is_some();
                    (p, error)
                })
                .collect();
            (topic, partitions)
        })
        .collect();
    let wanted: Vec<TopicPartition> =
        checked.iter().flat_map(|(topic, partitions)| partitions.iter().map(|(p, _)| (topic.name.0.to_string(), *p))).collect();
    // The coordinator's answer for each partition, in `wanted` order.
    let answers: Vec<Option<ResponseError>> = if refused {
        vec![Some(ResponseError::OperationNotAttempted); wanted.len()]
    } else if txn.verify_only {
        match ctx.broker.txns.verify_partitions(&txn.transactional_id, txn.producer_id.0, txn.producer_epoch, &wanted) {
            Ok(per_partition) => per_partition.into_iter().map(Result::err).collect(),
            Err(error) => vec![Some(error); wanted.len()],
        }
    } else {
        let partitions: BTreeSet<TopicPartition> = wanted.iter().cloned().collect();
        let added = ctx.broker.txns.add_partitions(&txn.transactional_id, txn.producer_id.0, txn.producer_epoch, &partitions).await;
        let error = added.err().map(|e| if ctx.api_version < 2 && e == ResponseError::ProducerFenced { ResponseError::InvalidProducerEpoch } else { e });
        if let Some(error) = error {
            tracing::debug!(transactional_id = %txn.transactional_id.0, ?error, "AddPartitionsToTxn refused");
        }
        vec![error; wanted.len()]
    };
    let mut answers = answers.into_iter();
    let topic_results = checked
        .into_iter()
        .map(|(topic, partitions)| {
            let results = partitions
                .into_iter()
                .map(|(p, own)| {
                    let answer = answers.next().flatten();
                    let error = own.or(answer);
                    AddPartitionsToTxnPartitionResult::default().with_partition_index(p).with_partition_error_code(error.map_or(0, |e| e.code()))
                })
                .collect();
            AddPartitionsToTxnTopicResult::default().with_name(topic.name.clone()).with_results_by_partition(results)
        })
        .collect();
    AddPartitionsToTxnResult::default().with_transactional_id(txn.transactional_id).with_topic_results(topic_results)
}

/// Kafka's `errorResponseForTransaction`: one error for every partition.
fn every_partition(txn: AddPartitionsToTxnTransaction, error: ResponseError) -> AddPartitionsToTxnResult {
    let topic_results = txn
        .topics
        .into_iter()
        .map(|topic| {
            let results = topic
                .partitions
                .iter()
                .map(|&p| AddPartitionsToTxnPartitionResult::default().with_partition_index(p).with_partition_error_code(error.code()))
                .collect();
            AddPartitionsToTxnTopicResult::default().with_name(topic.name).with_results_by_partition(results)
        })
        .collect();
    AddPartitionsToTxnResult::default().with_transactional_id(txn.transactional_id).with_topic_results(topic_results)
}
