//! JoinGroup (key 11), versions 0-9: a member joins (or rejoins) a classic
//! group. The answer waits until the rebalance completes (every known member
//! rejoined, or the rebalance timeout), as in Kafka; the state machine is in
//! `group::coordinator`.

use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};

use super::RequestContext;

pub async fn handle(ctx: &RequestContext<'_>, req: JoinGroupRequest) -> JoinGroupResponse {
    ctx.broker.groups.join(req, ctx.api_version, ctx.client_id, ctx.client_host).await
}
