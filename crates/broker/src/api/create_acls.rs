//! CreateAcls (key 30), versions 1-3 (v0 removed in Kafka 4.0; v2 flexible,
//! v3 adds the USER resource type). Needs ALTER on the cluster. Each ACL is
//! checked as Kafka's `AclControlManager.validateNewAcl` does (INVALID_REQUEST
//! with its message); the valid ones land in the metadata log as one batch.
//! Without an authorizer Kafka answers SECURITY_DISABLED.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{CreateAclsRequest, CreateAclsResponse};

use super::{str_bytes, RequestContext};
use crate::auth::acl::{AclBinding, AclOperation, AclPermissionType, PatternType, ResourceType};

pub fn handle(ctx: &RequestContext<'_>, req: CreateAclsRequest) -> CreateAclsResponse {
    let refuse_all = |error: ResponseError, message: &str| {
        let results = req
            .creations
            .iter()
            .map(|_| AclCreationResult::default().with_error_code(error.code()).with_error_message(Some(str_bytes(message))))
            .collect();
        CreateAclsResponse::default().with_results(results)
    };
    if !ctx.broker.authorizer.enabled() {
        return refuse_all(ResponseError::SecurityDisabled, "No Authorizer is configured.");
    }
    if !ctx.cluster_authorized(AclOperation::Alter) {
        return refuse_all(ResponseError::ClusterAuthorizationFailed, "Cluster authorization failed.");
    }
    let bindings: Vec<Result<AclBinding, String>> = req
        .creations
        .iter()
        .map(|c| {
            let acl = AclBinding {
                resource_type: ResourceType::from_code(c.resource_type),
                resource_name: c.resource_name.to_string(),
                pattern_type: PatternType::from_code(c.resource_pattern_type),
                principal: c.principal.to_string(),
                host: c.host.to_string(),
                operation: AclOperation::from_code(c.operation),
                permission: AclPermissionType::from_code(c.permission_type),
            };
            acl.validate_new().map(|()| acl)
        })
        .collect();
    let valid: Vec<AclBinding> = bindings.iter().filter_map(|b| b.as_ref().ok().cloned()).collect();
    let written = ctx.broker.metadata.create_acls(valid);
    if let Err(error) = &written {
        tracing::error!(%error, "cannot write ACLs to the metadata log");
    }
    let results = bindings
        .into_iter()
        .map(|binding| match (binding, &written) {
            (Err(message), _) => AclCreationResult::default()
                .with_error_code(ResponseError::InvalidRequest.code())
                .with_error_message(Some(str_bytes(message))),
            (Ok(_), Err(_)) => AclCreationResult::default()
                .with_error_code(ResponseError::KafkaStorageError.code())
                .with_error_message(Some(str_bytes("cannot write the metadata log"))),
            (Ok(_), Ok(())) => AclCreationResult::default().with_error_message(None),
        })
        .collect();
    CreateAclsResponse::default().with_results(results)
}
