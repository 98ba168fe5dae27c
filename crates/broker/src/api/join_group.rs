//! JoinGroup (key 11), versions 0-9: a member joins (or rejoins) a classic
//! group. The answer waits until the rebalance completes (every known member
//! rejoined, or the rebalance timeout), as in Kafka; the state machine is in
//! `group::coordinator`.

use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};

use super::RequestContext;

/// First version whose protocol name may be null.
const NULLABLE_PROTOCOL_NAME_VERSION: i16 = 7;

pub async fn handle(ctx: &RequestContext<'_>, req: JoinGroupRequest) -> JoinGroupResponse {
    let mut response = ctx.broker.groups.join(req, ctx.api_version, ctx.client_id, ctx.client_host).await;
    // Older versions cannot say "no protocol": Kafka sends an empty name.
    if ctx.api_version < NULLABLE_PROTOCOL_NAME_VERSION && response.protocol_name.is_none() {
        response.protocol_name = Some(Default::default());
    }
    response
}
