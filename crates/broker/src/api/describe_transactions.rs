//! DescribeTransactions (key 65), version 0 (KIP-664): each transactional
//! id's state, producer id and epoch, timeout, start time and partitions;
//! TRANSACTIONAL_ID_NOT_FOUND for an id the coordinator does not know. As in
//! Kafka, an id needs DESCRIBE (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
//! and only topics the principal may DESCRIBE are listed.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_transactions_response::TransactionState;
use kafka_protocol::messages::{DescribeTransactionsRequest, DescribeTransactionsResponse};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

pub fn handle(ctx: &RequestContext<'_>, req: DescribeTransactionsRequest) -> DescribeTransactionsResponse {
    let states = req
        .transactional_ids
        .iter()
        .map(|id| {
            if !ctx.authorized(AclOperation::Describe, ResourceType::TransactionalId, id) {
                let error = ResponseError::TransactionalIdAuthorizationFailed.code();
                return TransactionState::default().with_transactional_id(id.clone()).with_error_code(error);
            }
            let mut state = ctx.broker.txns.describe(id);
            state.topics.retain(|t| ctx.authorized(AclOperation::Describe, ResourceType::Topic, &t.topic.0));
            state
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}
