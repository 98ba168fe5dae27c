//! LeaveGroup (key 13), versions 0-5: one member (v0-2) or a batch of
//! members by id or instance id (v3+, KIP-345) leave; the group rebalances.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

pub fn handle(ctx: &RequestContext<'_>, req: LeaveGroupRequest) -> LeaveGroupResponse {
    // Kafka: READ on the group.
    if !ctx.authorized(AclOperation::Read, ResourceType::Group, &req.group_id) {
        return LeaveGroupResponse::default().with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    ctx.broker.groups.leave(&req, ctx.api_version)
}
