//! ACLs and their matching rules, after Kafka's `StandardAuthorizerData`:
//! an ACL applies to a resource when its pattern is the literal name, the
//! literal wildcard `*`, or a prefix of the name; a DENY that applies wins
//! over any ALLOW; ALLOW of READ, WRITE, DELETE or ALTER implies DESCRIBE, and
//! ALLOW of ALTER_CONFIGS implies DESCRIBE_CONFIGS (DENY implies nothing);
//! with no ACL at all on a resource, `allow.everyone.if.no.acl.found` decides.
//!
//! Simplification: every check scans all ACLs. Kafka keeps them sorted to
//! find the applicable ones faster; a cluster with thousands of ACLs would
//! want that too.

use serde::{Deserialize, Serialize};

/// The literal resource name and principal that match everything.
pub const WILDCARD: &str = "*";
pub const WILDCARD_PRINCIPAL: &str = "User:*";
/// The one cluster resource's name (Kafka's `CLUSTER_NAME`).
pub const CLUSTER_NAME: &str = "kafka-cluster";

macro_rules! kafka_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($variant),* }

        impl $name {
            /// Kafka's wire code.
            pub fn code(self) -> i8 {
                match self { $($name::$variant => $code),* }
            }

            /// Unknown codes read as `Unknown`, as Kafka's `fromCode` does.
            pub fn from_code(code: i8) -> Self {
                match code { $($code => $name::$variant,)* _ => $name::Unknown }
            }

            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
        }
    };
}

kafka_enum!(
    /// Kafka's `ResourceType`.
    ResourceType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Topic = 2 => "TOPIC",
        Group = 3 => "GROUP",
        Cluster = 4 => "CLUSTER",
        TransactionalId = 5 => "TRANSACTIONAL_ID",
        DelegationToken = 6 => "DELEGATION_TOKEN",
        User = 7 => "USER",
    }
);

kafka_enum!(
    /// Kafka's `PatternType`.
    PatternType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Match = 2 => "MATCH",
        Literal = 3 => "LITERAL",
        Prefixed = 4 => "PREFIXED",
    }
);

kafka_enum!(
    /// Kafka's `AclOperation`.
    AclOperation {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        All = 2 => "ALL",
        Read = 3 => "READ",
        Write = 4 => "WRITE",
        Create = 5 => "CREATE",
        Delete = 6 => "DELETE",
        Alter = 7 => "ALTER",
        Describe = 8 => "DESCRIBE",
        ClusterAction = 9 => "CLUSTER_ACTION",
        DescribeConfigs = 10 => "DESCRIBE_CONFIGS",
        AlterConfigs = 11 => "ALTER_CONFIGS",
        IdempotentWrite = 12 => "IDEMPOTENT_WRITE",
        CreateTokens = 13 => "CREATE_TOKENS",
        DescribeTokens = 14 => "DESCRIBE_TOKENS",
        TwoPhaseCommit = 15 => "TWO_PHASE_COMMIT",
    }
);

kafka_enum!(
    /// Kafka's `AclPermissionType`.
    AclPermissionType {
        Unknown = 0 => "UNKNOWN",
        Any = 1 => "ANY",
        Deny = 2 => "DENY",
        Allow = 3 => "ALLOW",
    }
);

/// One ACL: who may (or may not) do what to which resources, from where.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern_type: PatternType,
    /// "User:alice", or "User:*" for everyone.
    pub principal: String,
    /// A client IP address, or "*".
    pub host: String,
    pub operation: AclOperation,
    pub permission: AclPermissionType,
}

impl AclBinding {
    /// Kafka's `AclControlManager.validateNewAcl`: the message for INVALID_REQUEST.
    pub fn validate_new(&self) -> Result<(), String> {
        if matches!(self.resource_type, ResourceType::Unknown | ResourceType::Any) {
            return Err(format!("Invalid resourceType {}", self.resource_type.name()));
        }
        if !matches!(self.pattern_type, PatternType::Literal | PatternType::Prefixed) {
            return Err(format!("Invalid patternType {}", self.pattern_type.name()));
        }
        if matches!(self.operation, AclOperation::Unknown | AclOperation::Any) {
            return Err(format!("Invalid operation {}", self.operation.name()));
        }
        if !matches!(self.permission, AclPermissionType::Allow | AclPermissionType::Deny) {
            return Err(format!("Invalid permissionType {}", self.permission.name()));
        }
        if self.resource_name.is_empty() {
            return Err("Resource name should not be empty".to_string());
        }
        match self.principal.split_once(':') {
            Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok(()),
            _ => Err(format!("Could not parse principal from `{}` (no colon is present separating the principal type from the principal name)", self.principal)),
        }
    }

    /// Whether this ACL's pattern covers the literal resource `name`.
    fn covers(&self, resource_type: ResourceType, name: &str) -> bool {
        self.resource_type == resource_type
            && match self.pattern_type {
                PatternType::Literal => self.resource_name == name || self.resource_name == WILDCARD,
                PatternType::Prefixed => name.starts_with(&self.resource_name),
                _ => false,
            }
    }

    /// Allow, deny, or nothing, for this principal, host and operation
    /// (Kafka's `StandardAuthorizerData.findResult`).
    fn result(&self, principal: &str, host: &str, operation: AclOperation) -> Option<bool> {
        if self.principal != principal && self.principal != WILDCARD_PRINCIPAL {
            return None;
        }
        if self.host != WILDCARD && self.host != host {
            return None;
        }
        let allow = self.permission == AclPermissionType::Allow;
        if self.operation != AclOperation::All {
            let applies = if allow {
                match operation {
                    AclOperation::Describe => matches!(
                        self.operation,
                        AclOperation::Describe | AclOperation::Read | AclOperation::Write | AclOperation::Delete | AclOperation::Alter
                    ),
                    AclOperation::DescribeConfigs => {
                        matches!(self.operation, AclOperation::DescribeConfigs | AclOperation::AlterConfigs)
                    }
                    op => op == self.operation,
                }
            } else {
                operation == self.operation
            };
            if !applies {
                return None;
            }
        }
        Some(allow)
    }
}

/// What the ACLs say about one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Denied,
    /// No ACL exists on the resource at all (for any principal).
    NoAcls,
}

/// Kafka's `findAclRule` over `acls`.
pub fn decide<'a>(
    acls: impl IntoIterator<Item = &'a AclBinding>,
    principal: &str,
    host: &str,
    operation: AclOperation,
    resource_type: ResourceType,
    name: &str,
) -> Decision {
    let mut any_on_resource = false;
    let mut allowed = false;
    for acl in acls.into_iter().filter(|a| a.covers(resource_type, name)) {
        any_on_resource = true;
        match acl.result(principal, host, operation) {
            Some(false) => return Decision::Denied,
            Some(true) => allowed = true,
            None => {}
        }
    }
    match (allowed, any_on_resource) {
        (true, _) => Decision::Allowed,
        (false, true) => Decision::Denied,
        (false, false) => Decision::NoAcls,
    }
}

/// Kafka's `AclBindingFilter`: `None` fields and ANY match everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFilter {
    pub resource_type: ResourceType,
    pub resource_name: Option<String>,
    pub pattern_type: PatternType,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: AclOperation,
    pub permission: AclPermissionType,
}

impl AclFilter {
    /// Kafka's `validateFilter`: filters with UNKNOWN parts match nothing useful.
    pub fn validate(&self) -> Result<(), String> {
        if self.resource_type == ResourceType::Unknown || self.pattern_type == PatternType::Unknown {
            return Err("Unknown patternFilter.".to_string());
        }
        if self.operation == AclOperation::Unknown || self.permission == AclPermissionType::Unknown {
            return Err("Unknown entryFilter.".to_string());
        }
        Ok(())
    }

    /// Kafka's `AclBindingFilter.matches`.
    pub fn matches(&self, acl: &AclBinding) -> bool {
        let resource_type = self.resource_type == ResourceType::Any || self.resource_type == acl.resource_type;
        let pattern = match (self.pattern_type, &self.resource_name) {
            (PatternType::Any, None) => true,
            (PatternType::Any, Some(name)) => &acl.resource_name == name,
            (PatternType::Match, None) => true,
            // MATCH: every ACL that would apply to the literal resource `name`.
            (PatternType::Match, Some(name)) => match acl.pattern_type {
                PatternType::Literal => &acl.resource_name == name || acl.resource_name == WILDCARD,
                PatternType::Prefixed => name.starts_with(&acl.resource_name),
                _ => false,
            },
            (p, name) => p == acl.pattern_type && name.as_ref().is_none_or(|n| n == &acl.resource_name),
        };
        let principal = self.principal.as_ref().is_none_or(|p| p == &acl.principal);
        let host = self.host.as_ref().is_none_or(|h| h == &acl.host);
        let operation = self.operation == AclOperation::Any || self.operation == acl.operation;
        let permission = self.permission == AclPermissionType::Any || self.permission == acl.permission;
        resource_type && pattern && principal && host && operation && permission
    }
}

#[cfg(test)]
#[path = "acl_tests.rs"]
mod tests;
