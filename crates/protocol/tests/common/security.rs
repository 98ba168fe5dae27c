//! Sample requests of the security APIs, every field each version has.

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

fn s(text: &'static str) -> StrBytes {
    StrBytes::from_static_str(text)
}

pub fn sample_request(api_key: ApiKey, extra: std::collections::BTreeMap<i32, Bytes>) -> RequestKind {
    match api_key {
        ApiKey::SaslHandshake => RequestKind::SaslHandshake(SaslHandshakeRequest::default().with_mechanism(s("SCRAM-SHA-512"))),
        ApiKey::SaslAuthenticate => RequestKind::SaslAuthenticate(
            SaslAuthenticateRequest::default()
                .with_auth_bytes(Bytes::from_static(b"n,,n=alice,r=rOprNGfwEbeRWgbNEkqO"))
                .with_unknown_tagged_fields(extra),
        ),
        ApiKey::DescribeUserScramCredentials => {
            use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
            let users = vec![UserName::default().with_name(s("alice")), UserName::default().with_name(s("bob"))];
            RequestKind::DescribeUserScramCredentials(DescribeUserScramCredentialsRequest::default().with_users(Some(users)).with_unknown_tagged_fields(extra))
        }
        ApiKey::AlterUserScramCredentials => {
            use kafka_protocol::messages::alter_user_scram_credentials_request::{ScramCredentialDeletion, ScramCredentialUpsertion};
            let deletion = ScramCredentialDeletion::default().with_name(s("bob")).with_mechanism(1);
            let upsertion = ScramCredentialUpsertion::default()
                .with_name(s("alice"))
                .with_mechanism(2)
                .with_iterations(8192)
                .with_salt(Bytes::from_static(b"salt-salt"))
                .with_salted_password(Bytes::from_static(&[9; 64]));
            RequestKind::AlterUserScramCredentials(
                AlterUserScramCredentialsRequest::default()
                    .with_deletions(vec![deletion])
                    .with_upsertions(vec![upsertion])
                    .with_unknown_tagged_fields(extra),
            )
        }
        ApiKey::DescribeAcls => RequestKind::DescribeAcls(
            DescribeAclsRequest::default()
                .with_resource_type_filter(2)
                .with_resource_name_filter(Some(s("orders")))
                .with_pattern_type_filter(2)
                .with_principal_filter(Some(s("User:alice")))
                .with_host_filter(None)
                .with_operation(3)
                .with_permission_type(3)
                .with_unknown_tagged_fields(extra),
        ),
        ApiKey::CreateAcls => {
            use kafka_protocol::messages::create_acls_request::AclCreation;
            let acl = AclCreation::default()
                .with_resource_type(2)
                .with_resource_name(s("orders"))
                .with_resource_pattern_type(4)
                .with_principal(s("User:alice"))
                .with_host(s("*"))
                .with_operation(4)
                .with_permission_type(3);
            RequestKind::CreateAcls(CreateAclsRequest::default().with_creations(vec![acl.clone(), acl]).with_unknown_tagged_fields(extra))
        }
        ApiKey::DeleteAcls => {
            use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
            let filter = DeleteAclsFilter::default()
                .with_resource_type_filter(1)
                .with_resource_name_filter(None)
                .with_pattern_type_filter(1)
                .with_principal_filter(Some(s("User:alice")))
                .with_host_filter(None)
                .with_operation(1)
                .with_permission_type(1);
            RequestKind::DeleteAcls(DeleteAclsRequest::default().with_filters(vec![filter]).with_unknown_tagged_fields(extra))
        }
        other => panic!("{other:?} is not a security API"),
    }
}
