//! DescribeUserScramCredentials (key 50), version 0: mechanisms and iterations
//! of users' SCRAM credentials, never the keys. Needs DESCRIBE on the cluster.
//! As Kafka's `ScramImage.describe`: no users listed means every user; a user
//! listed twice gets DUPLICATE_RESOURCE, an unknown one RESOURCE_NOT_FOUND.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_user_scram_credentials_response::{CredentialInfo, DescribeUserScramCredentialsResult};
use kafka_protocol::messages::{DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse};

use super::{str_bytes, RequestContext};
use crate::auth::acl::AclOperation;

pub fn handle(ctx: &RequestContext<'_>, req: DescribeUserScramCredentialsRequest) -> DescribeUserScramCredentialsResponse {
    let users = req.users.unwrap_or_default();
    if !ctx.cluster_authorized(AclOperation::Describe) {
        let error = ResponseError::ClusterAuthorizationFailed;
        let message = || Some(str_bytes("Cluster authorization failed."));
        let results = users
            .iter()
            .map(|_| DescribeUserScramCredentialsResult::default().with_error_code(error.code()).with_error_message(message()))
            .collect();
        return DescribeUserScramCredentialsResponse::default()
            .with_error_code(error.code())
            .with_error_message(message())
            .with_results(results);
    }
    let image = ctx.broker.metadata.image();
    // User name -> listed more than once.
    let mut wanted: BTreeMap<String, bool> = BTreeMap::new();
    if users.is_empty() {
        wanted.extend(image.scram_credentials.keys().map(|u| (u.clone(), false)));
    } else {
        for user in &users {
            wanted.entry(user.name.to_string()).and_modify(|twice| *twice = true).or_insert(false);
        }
    }
    let results = wanted
        .into_iter()
        .map(|(user, twice)| {
            let result = DescribeUserScramCredentialsResult::default().with_user(str_bytes(user.clone()));
            if twice {
                return result.with_error_code(ResponseError::DuplicateResource.code()).with_error_message(Some(str_bytes(format!(
                    "Cannot describe SCRAM credentials for the same user twice in a single request: {user}"
                ))));
            }
            match image.scram_credentials.get(&user) {
                Some(credentials) if !credentials.is_empty() => result.with_credential_infos(
                    credentials
                        .iter()
                        .map(|(m, c)| CredentialInfo::default().with_mechanism(m.type_code()).with_iterations(c.iterations))
                        .collect(),
                ),
                _ => result.with_error_code(ResponseError::ResourceNotFound.code()).with_error_message(Some(str_bytes(format!(
                    "Attempt to describe a user credential that does not exist: {user}"
                )))),
            }
        })
        .collect();
    DescribeUserScramCredentialsResponse::default().with_results(results)
}
