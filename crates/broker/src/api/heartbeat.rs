//! Heartbeat (key 12), versions 0-4: keeps a member's session alive and
//! tells it when a rebalance has begun (REBALANCE_IN_PROGRESS).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

pub fn handle(ctx: &RequestContext<'_>, req: HeartbeatRequest) -> HeartbeatResponse {
    // Kafka: READ on the group.
    if !ctx.authorized(AclOperation::Read, ResourceType::Group, &req.group_id) {
        return HeartbeatResponse::default().with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    ctx.broker.groups.heartbeat(&req, ctx.api_version)
}
