//! SyncGroup (key 14), versions 0-5: the leader hands in the assignment,
//! every member waits for its own share of it.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

pub async fn handle(ctx: &RequestContext<'_>, req: SyncGroupRequest) -> SyncGroupResponse {
    // Kafka: READ on the group.
    if !ctx.authorized(AclOperation::Read, ResourceType::Group, &req.group_id) {
        return SyncGroupResponse::default().with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    ctx.broker.groups.sync(req, ctx.api_version).await
}
