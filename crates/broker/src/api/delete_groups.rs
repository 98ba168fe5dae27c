//! DeleteGroups (key 42), versions 0-2: deletes empty groups and their
//! committed offsets (NON_EMPTY_GROUP while members remain,
//! GROUP_ID_NOT_FOUND for unknown groups).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

pub fn handle(ctx: &RequestContext<'_>, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let results = req
        .groups_names
        .into_iter()
        .map(|group| {
            // Kafka: DELETE on the group.
            let error = if ctx.authorized(AclOperation::Delete, ResourceType::Group, &group) {
                ctx.broker.groups.delete_group(&group).err().map_or(0, |e| e.code())
            } else {
                ResponseError::GroupAuthorizationFailed.code()
            };
            DeletableGroupResult::default().with_group_id(group).with_error_code(error)
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}
