//! JoinGroup (key 11), versions 0-9: a member joins (or rejoins) a classic
//! group. The answer waits until the rebalance completes (every known member
//! rejoined, or the rebalance timeout), as in Kafka; the state machine is in
//! `group::coordinator`.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

pub async fn handle(ctx: &RequestContext<'_>, req: JoinGroupRequest) -> JoinGroupResponse {
    // Kafka: READ on the group.
    if !ctx.authorized(AclOperation::Read, ResourceType::Group, &req.group_id) {
        let protocol_name = if ctx.api_version >= 7 { None } else { Some(kafka_protocol::protocol::StrBytes::default()) };
        return JoinGroupResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code())
            .with_generation_id(-1)
            .with_protocol_name(protocol_name);
    }
    ctx.broker.groups.join(req, ctx.api_version, ctx.client_id, ctx.client_host).await
}
