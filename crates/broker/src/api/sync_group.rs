//! SyncGroup (key 14), versions 0-5: the leader hands in the assignment,
//! every member waits for its own share of it.

use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

use super::RequestContext;

pub async fn handle(ctx: &RequestContext<'_>, req: SyncGroupRequest) -> SyncGroupResponse {
    ctx.broker.groups.sync(req, ctx.api_version).await
}
