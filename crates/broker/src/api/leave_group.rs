//! LeaveGroup (key 13), versions 0-5: one member (v0-2) or a batch of
//! members by id or instance id (v3+, KIP-345) leave; the group rebalances.

use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use super::RequestContext;

pub fn handle(ctx: &RequestContext<'_>, req: LeaveGroupRequest) -> LeaveGroupResponse {
    ctx.broker.groups.leave(&req, ctx.api_version)
}
