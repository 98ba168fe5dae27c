//! EndTxn (key 26), versions 0-5. Commits or aborts the producer's
//! transaction: answered once PrepareCommit/PrepareAbort is in
//! `__transaction_state`; the markers follow, and until they are written the
//! next transaction of the id gets CONCURRENT_TRANSACTIONS (the client
//! retries). A retried EndTxn of a completed transaction succeeds again.
//! v5 (KIP-890 part 2, epoch bump per transaction) is handled as v4: clients
//! use it only with `transaction.version` 2, which is not advertised. Below
//! v2, PRODUCER_FENCED is INVALID_PRODUCER_EPOCH. It needs WRITE on the
//! transactional id, as in Kafka.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse, ProducerId};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

pub async fn handle(ctx: &RequestContext<'_>, req: EndTxnRequest) -> EndTxnResponse {
    if !ctx.authorized(AclOperation::Write, ResourceType::TransactionalId, &req.transactional_id) {
        let error = ResponseError::TransactionalIdAuthorizationFailed;
        return EndTxnResponse::default().with_error_code(error.code()).with_producer_id(ProducerId(-1)).with_producer_epoch(-1);
    }
    let ended = ctx.broker.txns.end_txn(&req.transactional_id, req.producer_id.0, req.producer_epoch, req.committed).await;
    match ended {
        Ok((id, epoch)) => EndTxnResponse::default().with_producer_id(ProducerId(id)).with_producer_epoch(epoch),
        Err(error) => {
            let error = if ctx.api_version < 2 && error == ResponseError::ProducerFenced { ResponseError::InvalidProducerEpoch } else { error };
            tracing::debug!(transactional_id = %req.transactional_id.0, commit = req.committed, ?error, "EndTxn refused");
            EndTxnResponse::default().with_error_code(error.code()).with_producer_id(ProducerId(-1)).with_producer_epoch(-1)
        }
    }
}
