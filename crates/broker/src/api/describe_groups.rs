//! DescribeGroups (key 15), versions 0-6: state, protocol, members with
//! their metadata and assignments, as `kafka-consumer-groups --describe`
//! shows them. An unknown group is described as Dead; from v6 also with
//! GROUP_ID_NOT_FOUND (KIP-1043), as Kafka answers.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};

use super::{RequestContext, GROUP_OPERATIONS};
use crate::auth::acl::{AclOperation, ResourceType};

pub fn handle(ctx: &RequestContext<'_>, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let include_ops = req.include_authorized_operations;
    // Kafka: DESCRIBE on each group.
    let groups = req
        .groups
        .iter()
        .map(|g| {
            if !ctx.authorized(AclOperation::Describe, ResourceType::Group, g) {
                return DescribedGroup::default().with_group_id(g.clone()).with_error_code(ResponseError::GroupAuthorizationFailed.code());
            }
            let mut described = ctx.broker.groups.describe_group(g, include_ops, ctx.api_version);
            if include_ops {
                described.authorized_operations = ctx.authorized_operations(ResourceType::Group, g, GROUP_OPERATIONS);
            }
            described
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}
