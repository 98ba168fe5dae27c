//! Handler tests for the security APIs: SASL outside an exchange, SCRAM
//! credentials, ACLs and the authorization checks of the other handlers.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_request::{ScramCredentialDeletion, ScramCredentialUpsertion};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::test_support::broker;
use super::tests::ctx;
use super::*;
use crate::auth::scram::ScramMechanism;

pub(super) fn is_security_api(key: ApiKey) -> bool {
    matches!(
        key,
        ApiKey::SaslHandshake
            | ApiKey::SaslAuthenticate
            | ApiKey::DescribeUserScramCredentials
            | ApiKey::AlterUserScramCredentials
            | ApiKey::DescribeAcls
            | ApiKey::CreateAcls
            | ApiKey::DeleteAcls
    )
}

/// A request of each security API that every advertised version can carry.
pub(super) fn request_for(key: ApiKey) -> RequestKind {
    match key {
        ApiKey::SaslHandshake => RequestKind::SaslHandshake(SaslHandshakeRequest::default().with_mechanism(name("PLAIN"))),
        ApiKey::SaslAuthenticate => RequestKind::SaslAuthenticate(SaslAuthenticateRequest::default()),
        ApiKey::DescribeUserScramCredentials => RequestKind::DescribeUserScramCredentials(DescribeUserScramCredentialsRequest::default()),
        ApiKey::AlterUserScramCredentials => RequestKind::AlterUserScramCredentials(AlterUserScramCredentialsRequest::default()),
        ApiKey::DescribeAcls => RequestKind::DescribeAcls(DescribeAclsRequest::default().with_resource_type_filter(1).with_pattern_type_filter(1).with_operation(1).with_permission_type(1)),
        ApiKey::CreateAcls => RequestKind::CreateAcls(CreateAclsRequest::default()),
        ApiKey::DeleteAcls => RequestKind::DeleteAcls(DeleteAclsRequest::default()),
        other => panic!("{other:?} is not a security API"),
    }
}

fn name(s: &'static str) -> StrBytes {
    StrBytes::from_static_str(s)
}

fn call(broker: &Broker, version: i16, request: RequestKind) -> ResponseKind {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(handle(&ctx(broker, version), request)).unwrap().unwrap()
}

#[test]
fn sasl_requests_outside_an_exchange_get_illegal_sasl_state() {
    let b = broker();
    let ResponseKind::SaslHandshake(r) = call(&b.broker, 1, request_for(ApiKey::SaslHandshake)) else { panic!() };
    assert_eq!(r.error_code, ResponseError::IllegalSaslState.code());
    let ResponseKind::SaslAuthenticate(r) = call(&b.broker, 2, request_for(ApiKey::SaslAuthenticate)) else { panic!() };
    assert_eq!(r.error_code, ResponseError::IllegalSaslState.code());
}

fn upsert(user: &'static str, mechanism: i8, iterations: i32) -> ScramCredentialUpsertion {
    ScramCredentialUpsertion::default()
        .with_name(name(user))
        .with_mechanism(mechanism)
        .with_iterations(iterations)
        .with_salt(bytes::Bytes::from_static(b"salt"))
        .with_salted_password(bytes::Bytes::from_static(&[7; 32]))
}

fn delete(user: &'static str, mechanism: i8) -> ScramCredentialDeletion {
    ScramCredentialDeletion::default().with_name(name(user)).with_mechanism(mechanism)
}

fn alter(broker: &Broker, deletions: Vec<ScramCredentialDeletion>, upsertions: Vec<ScramCredentialUpsertion>) -> Vec<(String, i16, Option<String>)> {
    let req = AlterUserScramCredentialsRequest::default().with_deletions(deletions).with_upsertions(upsertions);
    let ResponseKind::AlterUserScramCredentials(r) = call(broker, 0, RequestKind::AlterUserScramCredentials(req)) else { panic!() };
    r.results.into_iter().map(|r| (r.user.to_string(), r.error_code, r.error_message.map(|m| m.to_string()))).collect()
}

fn describe(broker: &Broker, users: Option<Vec<&'static str>>) -> Vec<(String, i16, Vec<(i8, i32)>)> {
    let users = users.map(|u| u.into_iter().map(|n| UserName::default().with_name(name(n))).collect());
    let req = DescribeUserScramCredentialsRequest::default().with_users(users);
    let ResponseKind::DescribeUserScramCredentials(r) = call(broker, 0, RequestKind::DescribeUserScramCredentials(req)) else { panic!() };
    assert_eq!(r.error_code, 0);
    r.results
        .into_iter()
        .map(|r| (r.user.to_string(), r.error_code, r.credential_infos.iter().map(|c| (c.mechanism, c.iterations)).collect()))
        .collect()
}

#[test]
fn scram_credentials_are_upserted_described_and_deleted() {
    let b = broker();
    assert_eq!(alter(&b.broker, vec![], vec![upsert("alice", 1, 4096), upsert("bob", 2, 8192)]), [
        ("alice".into(), 0, None),
        ("bob".into(), 0, None)
    ]);
    assert_eq!(describe(&b.broker, None), [("alice".into(), 0, vec![(1, 4096)]), ("bob".into(), 0, vec![(2, 8192)])]);
    let image = b.broker.metadata.image();
    let stored = &image.scram_credentials["alice"][&ScramMechanism::Sha256];
    assert_eq!(stored.salt, b"salt", "the salt is kept, the salted password is not");
    assert_eq!(alter(&b.broker, vec![delete("alice", 1)], vec![]), [("alice".into(), 0, None)]);
    let not_found = ResponseError::ResourceNotFound.code();
    assert_eq!(describe(&b.broker, Some(vec!["alice", "bob"])), [
        ("alice".into(), not_found, vec![]),
        ("bob".into(), 0, vec![(2, 8192)])
    ]);
    let duplicate = ResponseError::DuplicateResource.code();
    assert_eq!(describe(&b.broker, Some(vec!["bob", "bob"])), [("bob".into(), duplicate, vec![])]);
}

#[test]
fn bad_scram_alterations_get_kafkas_errors() {
    let b = broker();
    let unacceptable = ResponseError::UnacceptableCredential.code();
    let results = alter(
        &b.broker,
        vec![delete("ghost", 1), delete("", 1)],
        vec![upsert("few", 1, 4095), upsert("many", 2, 16385), upsert("odd", 3, 4096), upsert("twice", 1, 4096), upsert("twice", 2, 4096)],
    );
    let expected: Vec<(String, i16, Option<String>)> = vec![
        ("ghost".into(), ResponseError::ResourceNotFound.code(), Some("Attempt to delete a user credential that does not exist".into())),
        ("".into(), unacceptable, Some("Username must not be empty".into())),
        ("few".into(), unacceptable, Some("Too few iterations".into())),
        ("many".into(), unacceptable, Some("Too many iterations".into())),
        ("odd".into(), ResponseError::UnsupportedSaslMechanism.code(), Some("Unknown SCRAM mechanism".into())),
        ("twice".into(), ResponseError::DuplicateResource.code(), Some("A user credential cannot be altered twice in the same request".into())),
    ];
    assert_eq!(results, expected);
    assert!(b.broker.metadata.image().scram_credentials.is_empty());
}
