//! DescribeGroups (key 15), versions 0-6: state, protocol, members with
//! their metadata and assignments, as `kafka-consumer-groups --describe`
//! shows them. An unknown group is described as Dead with no error, as Kafka
//! answers for classic groups.

use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};

use super::RequestContext;

pub fn handle(ctx: &RequestContext<'_>, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let include_ops = req.include_authorized_operations;
    let groups = req.groups.iter().map(|g| ctx.broker.groups.describe_group(g, include_ops)).collect();
    DescribeGroupsResponse::default().with_groups(groups)
}
