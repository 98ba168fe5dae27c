//! Heartbeat (key 12), versions 0-4: keeps a member's session alive and
//! tells it when a rebalance has begun (REBALANCE_IN_PROGRESS).

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::RequestContext;

pub fn handle(ctx: &RequestContext<'_>, req: HeartbeatRequest) -> HeartbeatResponse {
    ctx.broker.groups.heartbeat(&req, ctx.api_version)
}
