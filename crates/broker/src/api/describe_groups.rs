//! DescribeGroups (key 15), versions 0-6: state, protocol, members with
//! their metadata and assignments, as `kafka-consumer-groups --describe`
//! shows them. An unknown group is described as Dead; from v6 also with
//! GROUP_ID_NOT_FOUND (KIP-1043), as Kafka answers.

use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};

use super::RequestContext;

pub fn handle(ctx: &RequestContext<'_>, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let include_ops = req.include_authorized_operations;
    let groups = req.groups.iter().map(|g| ctx.broker.groups.describe_group(g, include_ops, ctx.api_version)).collect();
    DescribeGroupsResponse::default().with_groups(groups)
}
