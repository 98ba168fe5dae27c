//! ListGroups (key 16), versions 0-5: every group this broker coordinates,
//! filtered by state (v4+, KIP-518) and type (v5+, KIP-848; all of Strom's
//! groups are "classic").

use kafka_protocol::messages::{ListGroupsRequest, ListGroupsResponse};

use super::RequestContext;
use crate::auth::acl::{AclOperation, ResourceType};

pub fn handle(ctx: &RequestContext<'_>, req: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = req.states_filter.iter().map(|s| s.to_string()).collect();
    let types: Vec<String> = req.types_filter.iter().map(|s| s.to_string()).collect();
    // Kafka: everything with DESCRIBE on the cluster, else the groups the principal may DESCRIBE.
    let all = ctx.cluster_authorized(AclOperation::Describe);
    let groups = ctx
        .broker
        .groups
        .list_groups(&states, &types)
        .into_iter()
        .filter(|g| all || ctx.authorized(AclOperation::Describe, ResourceType::Group, &g.group_id))
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}
