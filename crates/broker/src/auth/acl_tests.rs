use super::*;

fn acl(rt: ResourceType, name: &str, pattern: PatternType, principal: &str, op: AclOperation, perm: AclPermissionType) -> AclBinding {
    AclBinding {
        resource_type: rt,
        resource_name: name.to_string(),
        pattern_type: pattern,
        principal: principal.to_string(),
        host: WILDCARD.to_string(),
        operation: op,
        permission: perm,
    }
}

use AclOperation as Op;
use AclPermissionType::{Allow, Deny};
use PatternType::{Literal, Prefixed};
use ResourceType::{Group, Topic};

fn topic(acls: &[AclBinding], principal: &str, op: Op, name: &str) -> Decision {
    decide(acls, principal, "127.0.0.1", op, Topic, name)
}

#[test]
fn literal_prefixed_and_wildcard_patterns_apply() {
    let acls = [
        acl(Topic, "orders", Literal, "User:alice", Op::Read, Allow),
        acl(Topic, "logs-", Prefixed, "User:alice", Op::Write, Allow),
        acl(Topic, "*", Literal, "User:bob", Op::Read, Allow),
    ];
    assert_eq!(topic(&acls, "User:alice", Op::Read, "orders"), Decision::Allowed);
    assert_eq!(topic(&acls, "User:alice", Op::Read, "orders2"), Decision::Denied, "bob's wildcard ACL covers it, none for alice");
    assert_eq!(topic(&acls, "User:alice", Op::Write, "logs-app"), Decision::Allowed);
    assert_eq!(topic(&acls, "User:alice", Op::Write, "orders"), Decision::Denied);
    assert_eq!(topic(&acls, "User:bob", Op::Read, "anything"), Decision::Allowed);
    assert_eq!(decide(&acls, "User:alice", "h", Op::Read, Group, "orders"), Decision::NoAcls);
}

#[test]
fn deny_beats_allow_and_a_resource_with_acls_denies_by_default() {
    let acls = [
        acl(Topic, "*", Literal, "User:*", Op::All, Allow),
        acl(Topic, "secret", Literal, "User:alice", Op::Read, Deny),
    ];
    assert_eq!(topic(&acls, "User:alice", Op::Read, "secret"), Decision::Denied);
    assert_eq!(topic(&acls, "User:alice", Op::Write, "secret"), Decision::Allowed);
    assert_eq!(topic(&acls, "User:carol", Op::Read, "secret"), Decision::Allowed);
    let only_bob = [acl(Topic, "t", Literal, "User:bob", Op::Read, Allow)];
    assert_eq!(topic(&only_bob, "User:alice", Op::Read, "t"), Decision::Denied);
    assert_eq!(topic(&only_bob, "User:alice", Op::Read, "u"), Decision::NoAcls);
}

#[test]
fn allow_implies_describe_but_deny_implies_nothing() {
    for op in [Op::Read, Op::Write, Op::Delete, Op::Alter] {
        let acls = [acl(Topic, "t", Literal, "User:a", op, Allow)];
        assert_eq!(topic(&acls, "User:a", Op::Describe, "t"), Decision::Allowed, "{op:?}");
    }
    let acls = [acl(Topic, "t", Literal, "User:a", Op::AlterConfigs, Allow)];
    assert_eq!(topic(&acls, "User:a", Op::DescribeConfigs, "t"), Decision::Allowed);
    assert_eq!(topic(&acls, "User:a", Op::Describe, "t"), Decision::Denied);
    let acls = [acl(Topic, "t", Literal, "User:a", Op::Create, Allow)];
    assert_eq!(topic(&acls, "User:a", Op::Describe, "t"), Decision::Denied, "CREATE does not imply DESCRIBE");
    let acls = [acl(Topic, "t", Literal, "User:a", Op::All, Allow), acl(Topic, "t", Literal, "User:a", Op::Read, Deny)];
    assert_eq!(topic(&acls, "User:a", Op::Describe, "t"), Decision::Allowed);
    let acls = [acl(Topic, "t", Literal, "User:a", Op::All, Allow), acl(Topic, "t", Literal, "User:a", Op::All, Deny)];
    assert_eq!(topic(&acls, "User:a", Op::Describe, "t"), Decision::Denied);
}

#[test]
fn hosts_must_match_unless_wildcard() {
    let mut only_there = acl(Topic, "t", Literal, "User:a", Op::Read, Allow);
    only_there.host = "10.0.0.1".to_string();
    let acls = [only_there];
    assert_eq!(decide(&acls, "User:a", "10.0.0.1", Op::Read, Topic, "t"), Decision::Allowed);
    assert_eq!(decide(&acls, "User:a", "127.0.0.1", Op::Read, Topic, "t"), Decision::Denied);
}

#[test]
fn new_acls_are_validated_as_kafka_does() {
    let good = acl(Topic, "t", Literal, "User:a", Op::Read, Allow);
    assert_eq!(good.validate_new(), Ok(()));
    let cases = [
        (AclBinding { resource_type: ResourceType::Any, ..good.clone() }, "Invalid resourceType ANY"),
        (AclBinding { pattern_type: PatternType::Match, ..good.clone() }, "Invalid patternType MATCH"),
        (AclBinding { operation: Op::Any, ..good.clone() }, "Invalid operation ANY"),
        (AclBinding { permission: AclPermissionType::Any, ..good.clone() }, "Invalid permissionType ANY"),
        (AclBinding { resource_name: String::new(), ..good.clone() }, "Resource name should not be empty"),
    ];
    for (bad, message) in cases {
        assert_eq!(bad.validate_new(), Err(message.to_string()));
    }
    assert!(AclBinding { principal: "alice".into(), ..good }.validate_new().is_err());
}

#[test]
fn filters_match_like_kafkas_acl_binding_filter() {
    let literal = acl(Topic, "orders", Literal, "User:a", Op::Read, Allow);
    let prefixed = acl(Topic, "ord", Prefixed, "User:a", Op::Read, Allow);
    let wildcard = acl(Topic, "*", Literal, "User:b", Op::Write, Deny);
    let any = AclFilter {
        resource_type: ResourceType::Any,
        resource_name: None,
        pattern_type: PatternType::Any,
        principal: None,
        host: None,
        operation: Op::Any,
        permission: AclPermissionType::Any,
    };
    assert!([&literal, &prefixed, &wildcard].iter().all(|a| any.matches(a)));
    let matching = AclFilter { resource_type: Topic, resource_name: Some("orders".into()), pattern_type: PatternType::Match, ..any.clone() };
    assert!([&literal, &prefixed, &wildcard].iter().all(|a| matching.matches(a)));
    let exact = AclFilter { resource_name: Some("orders".into()), pattern_type: Literal, ..any.clone() };
    assert!(exact.matches(&literal) && !exact.matches(&prefixed) && !exact.matches(&wildcard));
    let by_name_any_pattern = AclFilter { resource_name: Some("ord".into()), ..any.clone() };
    assert!(by_name_any_pattern.matches(&prefixed) && !by_name_any_pattern.matches(&literal));
    let deny_only = AclFilter { permission: Deny, ..any.clone() };
    assert!(deny_only.matches(&wildcard) && !deny_only.matches(&literal));
    assert!(AclFilter { operation: Op::Unknown, ..any }.validate().is_err());
}

#[test]
fn codes_round_trip_and_unknown_codes_read_as_unknown() {
    for code in 0..=15 {
        assert_eq!(AclOperation::from_code(code).code(), code);
    }
    assert_eq!(ResourceType::from_code(7), ResourceType::User);
    assert_eq!(ResourceType::from_code(99), ResourceType::Unknown);
    assert_eq!(PatternType::from_code(-1), PatternType::Unknown);
}
