//! FindCoordinator (key 10), versions 0-6. Groups are coordinated by the
//! leader of their `__consumer_offsets` partition, transactional ids (key
//! type 1) by the leader of their `__transaction_state` partition; each topic is
//! created on first use, as Kafka does (Kafka answers COORDINATOR_NOT_AVAILABLE
//! while it creates it; here the topic exists before the answer, so the first
//! lookup succeeds). v4+ asks for many keys at once. Share groups (key type 2)
//! are not served.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::{str_bytes, RequestContext};
use crate::auth::acl::{AclOperation, ResourceType};
use crate::broker::endpoint_for;
use crate::group::records::OFFSETS_TOPIC;
use crate::txn::records::TRANSACTION_STATE_TOPIC;

const GROUP_KEY: i8 = 0;
const TRANSACTION_KEY: i8 = 1;

pub fn handle(ctx: &RequestContext<'_>, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    if ctx.api_version >= 4 {
        let coordinators = req.coordinator_keys.into_iter().map(|key| find(ctx, req.key_type, key)).collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let found = find(ctx, req.key_type, req.key);
    FindCoordinatorResponse::default()
        .with_error_code(found.error_code)
        .with_error_message(found.error_message)
        .with_node_id(found.node_id)
        .with_host(found.host)
        .with_port(found.port)
}

fn find(ctx: &RequestContext<'_>, key_type: i8, key: StrBytes) -> Coordinator {
    let coordinator = Coordinator::default().with_key(key.clone()).with_node_id(BrokerId(-1)).with_host(str_bytes("")).with_port(-1);
    let failed = |error: ResponseError| {
        let message = match error {
            ResponseError::InvalidRequest => "Unsupported coordinator key type.",
            _ => "The coordinator is not available.",
        };
        coordinator.clone().with_error_code(error.code()).with_error_message(Some(str_bytes(message)))
    };
    // Kafka: DESCRIBE on the group or transactional id.
    let resource = if key_type == GROUP_KEY { ResourceType::Group } else { ResourceType::TransactionalId };
    if matches!(key_type, 0 | 1) && !ctx.authorized(AclOperation::Describe, resource, &key) {
        let (error, message) = if key_type == GROUP_KEY {
            (ResponseError::GroupAuthorizationFailed, "Group authorization failed.")
        } else {
            (ResponseError::TransactionalIdAuthorizationFailed, "Transactional Id authorization failed.")
        };
        return coordinator.with_error_code(error.code()).with_error_message(Some(str_bytes(message)));
    }
    let (topic, partition) = match key_type {
        GROUP_KEY => {
            let groups = &ctx.broker.groups;
            if let Err(error) = groups.ensure_offsets_topic() {
                return failed(error);
            }
            (OFFSETS_TOPIC, groups.partition_for(&key))
        }
        TRANSACTION_KEY => {
            let txns = &ctx.broker.txns;
            if let Err(error) = txns.ensure_state_topic() {
                return failed(error);
            }
            (TRANSACTION_STATE_TOPIC, txns.partition_for(&key))
        }
        _ => return failed(ResponseError::InvalidRequest),
    };
    let image = ctx.broker.metadata.image();
    let leader = image
        .topic(topic)
        .and_then(|t| t.partitions.get(usize::try_from(partition).unwrap_or(usize::MAX)))
        .map(|p| p.leader);
    let Some(endpoint) = leader.and_then(|leader| endpoint_for(&image, leader, ctx.listener).map(|e| (leader, e))) else {
        return failed(ResponseError::CoordinatorNotAvailable);
    };
    let (leader, endpoint) = endpoint;
    coordinator
        .with_node_id(BrokerId(leader))
        .with_host(str_bytes(endpoint.host.clone()))
        .with_port(endpoint.port)
        .with_error_message(None)
}
