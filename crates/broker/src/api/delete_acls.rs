//! DeleteAcls (key 31), versions 1-3 (v0 removed in Kafka 4.0): deletes every
//! ACL each filter matches and lists them per filter. Needs ALTER on the
//! cluster; without an authorizer Kafka answers SECURITY_DISABLED. All
//! deletions of one request are one batch in the metadata log.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_acls_response::{DeleteAclsFilterResult, DeleteAclsMatchingAcl};
use kafka_protocol::messages::{DeleteAclsRequest, DeleteAclsResponse};

use super::{str_bytes, RequestContext};
use crate::auth::acl::{AclFilter, AclOperation, AclPermissionType, PatternType, ResourceType};

pub fn handle(ctx: &RequestContext<'_>, req: DeleteAclsRequest) -> DeleteAclsResponse {
    let refuse_all = |error: ResponseError, message: &str| {
        let results = req
            .filters
            .iter()
            .map(|_| DeleteAclsFilterResult::default().with_error_code(error.code()).with_error_message(Some(str_bytes(message))))
            .collect();
        DeleteAclsResponse::default().with_filter_results(results)
    };
    if !ctx.broker.authorizer.enabled() {
        return refuse_all(ResponseError::SecurityDisabled, "No Authorizer is configured.");
    }
    if !ctx.cluster_authorized(AclOperation::Alter) {
        return refuse_all(ResponseError::ClusterAuthorizationFailed, "Cluster authorization failed.");
    }
    let image = ctx.broker.metadata.image();
    let mut ids = Vec::new();
    let mut results = Vec::new();
    for f in &req.filters {
        let filter = AclFilter {
            resource_type: ResourceType::from_code(f.resource_type_filter),
            resource_name: f.resource_name_filter.as_ref().map(|n| n.to_string()),
            pattern_type: PatternType::from_code(f.pattern_type_filter),
            principal: f.principal_filter.as_ref().map(|p| p.to_string()),
            host: f.host_filter.as_ref().map(|h| h.to_string()),
            operation: AclOperation::from_code(f.operation),
            permission: AclPermissionType::from_code(f.permission_type),
        };
        if let Err(message) = filter.validate() {
            results.push(
                DeleteAclsFilterResult::default()
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(str_bytes(message))),
            );
            continue;
        }
        let matching = image
            .acls
            .iter()
            .filter(|(_, acl)| filter.matches(acl))
            .map(|(id, acl)| {
                ids.push(*id);
                DeleteAclsMatchingAcl::default()
                    .with_error_message(None)
                    .with_resource_type(acl.resource_type.code())
                    .with_resource_name(str_bytes(acl.resource_name.clone()))
                    .with_pattern_type(acl.pattern_type.code())
                    .with_principal(str_bytes(acl.principal.clone()))
                    .with_host(str_bytes(acl.host.clone()))
                    .with_operation(acl.operation.code())
                    .with_permission_type(acl.permission.code())
            })
            .collect();
        results.push(DeleteAclsFilterResult::default().with_error_message(None).with_matching_acls(matching));
    }
    if let Err(error) = ctx.broker.metadata.delete_acls(&ids) {
        tracing::error!(%error, "cannot delete ACLs from the metadata log");
        return refuse_all(ResponseError::KafkaStorageError, "cannot write the metadata log");
    }
    DeleteAclsResponse::default().with_filter_results(results)
}
