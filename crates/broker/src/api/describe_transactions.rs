//! DescribeTransactions (key 65), version 0 (KIP-664): each transactional
//! id's state, producer id and epoch, timeout, start time and partitions;
//! TRANSACTIONAL_ID_NOT_FOUND for an id the coordinator does not know.

use kafka_protocol::messages::{DescribeTransactionsRequest, DescribeTransactionsResponse};

use super::RequestContext;

pub fn handle(ctx: &RequestContext<'_>, req: DescribeTransactionsRequest) -> DescribeTransactionsResponse {
    let states = req.transactional_ids.iter().map(|id| ctx.broker.txns.describe(id)).collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}
