//! The authorizer handlers ask (Kafka's `StandardAuthorizer`). Off unless
//! configured (Kafka without `authorizer.class.name`): then every principal
//! may do everything. On: super users may do everything, everyone else what
//! the ACLs in the metadata image allow (see `acl`).

use std::collections::HashSet;

use super::acl::{self, AclOperation, AclPermissionType, Decision, PatternType, ResourceType, WILDCARD, WILDCARD_PRINCIPAL};
use super::Principal;
use crate::config::SecurityConfig;
use crate::metadata::MetadataImage;

pub struct Authorizer {
    enabled: bool,
    super_users: HashSet<String>,
    allow_everyone_if_no_acl_found: bool,
}

impl Authorizer {
    pub fn new(config: &SecurityConfig) -> Self {
        Self {
            enabled: config.authorizer,
            super_users: config.super_users.iter().cloned().collect(),
            allow_everyone_if_no_acl_found: config.allow_everyone_if_no_acl_found,
        }
    }

    /// Whether ACLs are enforced (and the ACL APIs answer).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// May `principal`, connected from `host` (an IP address), do `operation` on the
    /// resource `name` of `resource_type`?
    pub fn authorize(
        &self,
        image: &MetadataImage,
        principal: &Principal,
        host: &str,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        if !self.enabled || self.super_users.contains(principal.as_str()) {
            return true;
        }
        let decision = acl::decide(image.acls.values(), principal.as_str(), host, operation, resource_type, name);
        let allowed = match decision {
            Decision::Allowed => true,
            Decision::Denied => false,
            Decision::NoAcls => self.allow_everyone_if_no_acl_found,
        };
        if !allowed {
            // Kafka logs denials at INFO in its authorizer log; one debug line here.
            tracing::debug!(%principal, host, operation = operation.name(), resource = resource_type.name(), name, "denied");
        }
        allowed
    }

    /// Whether `principal` may do `operation` on at least one resource of
    /// `resource_type` (Kafka's `authorizeByResourceType`, KIP-679): some
    /// ALLOW pattern not wholly covered by a DENY.
    pub fn authorize_any(&self, image: &MetadataImage, principal: &Principal, host: &str, operation: AclOperation, resource_type: ResourceType) -> bool {
        if !self.enabled || self.super_users.contains(principal.as_str()) {
            return true;
        }
        let applicable = |a: &&acl::AclBinding| {
            a.resource_type == resource_type
                && (a.principal == principal.as_str() || a.principal == WILDCARD_PRINCIPAL)
                && (a.host == WILDCARD || a.host == host)
                && (a.operation == operation || a.operation == AclOperation::All)
        };
        if self.allow_everyone_if_no_acl_found && !image.acls.values().any(|a| a.resource_type == resource_type) {
            return true;
        }
        let denies: Vec<&acl::AclBinding> =
            image.acls.values().filter(applicable).filter(|a| a.permission == AclPermissionType::Deny).collect();
        let denied = |name: &str| {
            denies.iter().any(|d| match d.pattern_type {
                PatternType::Literal => d.resource_name == name || d.resource_name == WILDCARD,
                PatternType::Prefixed => name.starts_with(&d.resource_name),
                _ => false,
            })
        };
        image
            .acls
            .values()
            .filter(applicable)
            .filter(|a| a.permission == AclPermissionType::Allow)
            .any(|a| !denied(&a.resource_name))
    }
}
