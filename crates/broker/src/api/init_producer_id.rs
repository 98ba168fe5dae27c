//! InitProducerId (key 22), versions 0-5 (v6 is unstable in Kafka 4.1).
//! Idempotent producers (no transactional id) get a fresh producer id with
//! epoch 0, unique across restarts (ids come in durable blocks from the
//! metadata log). A producer id and epoch sent with it (v3+, KIP-360) are
//! ignored for idempotent producers, as Kafka does. Transactional ids need
//! the transaction coordinator, which Strom does not have yet.
//!
//! Authorization as Kafka: a transactional id needs WRITE on it
//! (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); an idempotent producer needs
//! IDEMPOTENT_WRITE on the cluster or WRITE on some topic
//! (CLUSTER_AUTHORIZATION_FAILED).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

pub fn handle(ctx: &RequestContext<'_>, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let response = InitProducerIdResponse::default().with_producer_id(ProducerId(-1)).with_producer_epoch(-1);
    if let Some(id) = &req.transactional_id {
        if !ctx.authorized(AclOperation::Write, ResourceType::TransactionalId, id) {
            return response.with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code());
        }
        return response.with_error_code(ResponseError::CoordinatorNotAvailable.code());
    }
    if !ctx.cluster_authorized(AclOperation::IdempotentWrite) && !ctx.authorized_any(AclOperation::Write, ResourceType::Topic) {
        return response.with_error_code(ResponseError::ClusterAuthorizationFailed.code());
    }
    match ctx.broker.next_producer_id() {
        Ok(id) => response.with_producer_id(ProducerId(id)).with_producer_epoch(0),
        Err(error) => {
            tracing::error!(%error, "cannot allocate producer ids");
            response.with_error_code(ResponseError::KafkaStorageError.code())
        }
    }
}
