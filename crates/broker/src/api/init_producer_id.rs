//! InitProducerId (key 22), versions 0-5 (v6, KIP-939's two-phase commit, is
//! unstable in Kafka 4.1). Idempotent producers (no transactional id) get a
//! fresh producer id with epoch 0, unique across restarts (ids come in durable
//! blocks from the metadata log). Transactional producers go to the
//! transaction coordinator, which bumps the id's epoch (fencing older
//! producers and aborting their open transaction), rotates to a new producer
//! id once the epoch is exhausted, and enforces `transaction.max.timeout.ms`.
//! v3+ may carry the producer id and epoch to resume with (KIP-360): both or
//! neither, else INVALID_REQUEST. Below v4, PRODUCER_FENCED is answered as
//! INVALID_PRODUCER_EPOCH, as Kafka does for clients that predate it.
//!
//! Authorization as Kafka: a transactional id needs WRITE on it
//! (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); an idempotent producer needs
//! IDEMPOTENT_WRITE on the cluster or WRITE on some topic
//! (CLUSTER_AUTHORIZATION_FAILED).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

pub async fn handle(ctx: &RequestContext<'_>, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let failed = |error: ResponseError| {
        let error = if ctx.api_version < 4 && error == ResponseError::ProducerFenced { ResponseError::InvalidProducerEpoch } else { error };
        InitProducerIdResponse::default().with_producer_id(ProducerId(-1)).with_producer_epoch(-1).with_error_code(error.code())
    };
    let expected = match (req.producer_id.0, req.producer_epoch) {
        (-1, -1) => None,
        (-1, _) | (_, -1) => return failed(ResponseError::InvalidRequest),
        (id, epoch) => Some((id, epoch)),
    };
    let Some(transactional_id) = req.transactional_id else {
        if !ctx.cluster_authorized(AclOperation::IdempotentWrite) && !ctx.authorized_any(AclOperation::Write, ResourceType::Topic) {
            return failed(ResponseError::ClusterAuthorizationFailed);
        }
        // Idempotent producers: always a new id, whatever they resume with (as Kafka).
        return match ctx.broker.next_producer_id() {
            Ok(id) => InitProducerIdResponse::default().with_producer_id(ProducerId(id)).with_producer_epoch(0),
            Err(error) => {
                tracing::error!(%error, "cannot allocate producer ids");
                failed(ResponseError::KafkaStorageError)
            }
        };
    };
    if !ctx.authorized(AclOperation::Write, ResourceType::TransactionalId, &transactional_id) {
        return failed(ResponseError::TransactionalIdAuthorizationFailed);
    }
    match ctx.broker.txns.init_producer_id(&transactional_id, req.transaction_timeout_ms, expected).await {
        Ok((id, epoch)) => InitProducerIdResponse::default().with_producer_id(ProducerId(id)).with_producer_epoch(epoch),
        Err(error) => failed(error),
    }
}
