//! JoinGroup (key 11), versions 0-9: a member joins (or rejoins) a classic
//! group. The answer waits until the rebalance completes (every known member
//! rejoined, or the rebalance timeout), as in Kafka; the state machine is in
//! `group::coordinator`.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

/// First version whose protocol name may be null.
const NULLABLE_PROTOCOL_NAME_VERSION: i16 = 7;

pub async fn handle(ctx: &RequestContext<'_>, req: JoinGroupRequest) -> JoinGroupResponse {
    // Kafka: READ on the group.
    if !ctx.authorized(AclOperation::Read, ResourceType::Group, &req.group_id) {
        return JoinGroupResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code())
            .with_generation_id(-1)
            .with_protocol_name(no_protocol(ctx.api_version));
    }
    let mut response = ctx.broker.groups.join(req, ctx.api_version, ctx.client_id, ctx.client_host).await;
    if response.protocol_name.is_none() {
        response.protocol_name = no_protocol(ctx.api_version);
    }
    response
}

/// "No protocol" as the version can say it: null from v7, an empty name before (as Kafka sends).
fn no_protocol(version: i16) -> Option<kafka_protocol::protocol::StrBytes> {
    (version < NULLABLE_PROTOCOL_NAME_VERSION).then(Default::default)
}
