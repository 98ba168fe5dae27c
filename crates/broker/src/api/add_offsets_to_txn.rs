//! AddOffsetsToTxn (key 25), versions 0-4. Adds the group's
//! `__consumer_offsets` partition to the producer's transaction, so the
//! offsets it commits there (TxnOffsetCommit) end with the transaction. Below
//! v2, PRODUCER_FENCED is INVALID_PRODUCER_EPOCH. Authorization as Kafka:
//! WRITE on the transactional id, then READ on the group.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};
use crate::group::records::OFFSETS_TOPIC;

pub async fn handle(ctx: &RequestContext<'_>, req: AddOffsetsToTxnRequest) -> AddOffsetsToTxnResponse {
    if !ctx.authorized(AclOperation::Write, ResourceType::TransactionalId, &req.transactional_id) {
        return AddOffsetsToTxnResponse::default().with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code());
    }
    if !ctx.authorized(AclOperation::Read, ResourceType::Group, &req.group_id) {
        return AddOffsetsToTxnResponse::default().with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let groups = &ctx.broker.groups;
    let result = match groups.ensure_offsets_topic() {
        Err(error) => Err(error),
        Ok(()) => {
            let partition = (OFFSETS_TOPIC.to_string(), groups.partition_for(&req.group_id));
            ctx.broker.txns.add_partitions(&req.transactional_id, req.producer_id.0, req.producer_epoch, &BTreeSet::from([partition])).await
        }
    };
    let error = match result {
        Ok(()) => 0,
        Err(ResponseError::ProducerFenced) if ctx.api_version < 2 => ResponseError::InvalidProducerEpoch.code(),
        Err(error) => error.code(),
    };
    AddOffsetsToTxnResponse::default().with_error_code(error)
}
