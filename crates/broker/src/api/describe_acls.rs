//! DescribeAcls (key 29), versions 1-3 (v0 removed in Kafka 4.0): the ACLs a
//! filter matches, grouped by resource pattern. Needs DESCRIBE on the
//! cluster; without an authorizer Kafka answers SECURITY_DISABLED.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{DescribeAclsRequest, DescribeAclsResponse};

use super::{str_bytes, RequestContext};
use crate::auth::acl::{AclFilter, AclOperation, AclPermissionType, PatternType, ResourceType};

pub fn handle(ctx: &RequestContext<'_>, req: DescribeAclsRequest) -> DescribeAclsResponse {
    let fail = |error: ResponseError, message: String| {
        DescribeAclsResponse::default().with_error_code(error.code()).with_error_message(Some(str_bytes(message)))
    };
    if !ctx.broker.authorizer.enabled() {
        return fail(ResponseError::SecurityDisabled, "No Authorizer is configured.".to_string());
    }
    if !ctx.cluster_authorized(AclOperation::Describe) {
        return fail(ResponseError::ClusterAuthorizationFailed, "Cluster authorization failed.".to_string());
    }
    let filter = AclFilter {
        resource_type: ResourceType::from_code(req.resource_type_filter),
        resource_name: req.resource_name_filter.map(|n| n.to_string()),
        pattern_type: PatternType::from_code(req.pattern_type_filter),
        principal: req.principal_filter.map(|p| p.to_string()),
        host: req.host_filter.map(|h| h.to_string()),
        operation: AclOperation::from_code(req.operation),
        permission: AclPermissionType::from_code(req.permission_type),
    };
    if let Err(message) = filter.validate() {
        return fail(ResponseError::InvalidRequest, message);
    }
    let image = ctx.broker.metadata.image();
    let mut by_resource: BTreeMap<(i8, String, i8), Vec<AclDescription>> = BTreeMap::new();
    for acl in image.acls.values().filter(|a| filter.matches(a)) {
        by_resource
            .entry((acl.resource_type.code(), acl.resource_name.clone(), acl.pattern_type.code()))
            .or_default()
            .push(
                AclDescription::default()
                    .with_principal(str_bytes(acl.principal.clone()))
                    .with_host(str_bytes(acl.host.clone()))
                    .with_operation(acl.operation.code())
                    .with_permission_type(acl.permission.code()),
            );
    }
    let resources = by_resource
        .into_iter()
        .map(|((resource_type, name, pattern_type), acls)| {
            DescribeAclsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(str_bytes(name))
                .with_pattern_type(pattern_type)
                .with_acls(acls)
        })
        .collect();
    DescribeAclsResponse::default().with_error_message(None).with_resources(resources)
}
