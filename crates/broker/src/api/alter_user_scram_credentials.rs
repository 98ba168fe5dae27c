//! AlterUserScramCredentials (key 51), version 0: upsert or delete SCRAM
//! credentials. Clients send salted passwords (never passwords); the broker
//! derives StoredKey and ServerKey and appends one batch to the metadata log.
//! Needs ALTER on the cluster. Follows Kafka's `ScramControlManager.alterCredentials`:
//! a user may be altered once per request (else DUPLICATE_RESOURCE), names
//! must not be empty, mechanisms must be known, iterations 4096-16384, and a
//! deletion must name an existing credential. Results list deletions, then
//! upsertions, then errors.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse};

use super::{str_bytes, RequestContext};
use crate::auth::acl::AclOperation;
use crate::auth::scram::{ScramCredential, ScramMechanism, MAX_ITERATIONS, MIN_ITERATIONS};
use crate::metadata::store::ScramChange;

type Failure = (ResponseError, &'static str);

pub fn handle(ctx: &RequestContext<'_>, req: AlterUserScramCredentialsRequest) -> AlterUserScramCredentialsResponse {
    if !ctx.cluster_authorized(AclOperation::Alter) {
        let names = req.deletions.iter().map(|d| &d.name).chain(req.upsertions.iter().map(|u| &u.name));
        let results = names.map(|name| result(name.to_string(), Some((ResponseError::ClusterAuthorizationFailed, "Cluster authorization failed.")))).collect();
        return AlterUserScramCredentialsResponse::default().with_results(results);
    }
    let image = ctx.broker.metadata.image();
    let mut deletions: Vec<(String, ScramMechanism)> = Vec::new();
    let mut upserts: Vec<(String, ScramMechanism, ScramCredential)> = Vec::new();
    let mut errors: Vec<(String, Failure)> = Vec::new();
    const TWICE: Failure = (ResponseError::DuplicateResource, "A user credential cannot be altered twice in the same request");
    for deletion in &req.deletions {
        let name = deletion.name.to_string();
        if errors.iter().any(|(n, _)| n == &name) {
            continue;
        }
        if let Some(i) = deletions.iter().position(|(n, _)| n == &name) {
            deletions.remove(i);
            errors.push((name, TWICE));
            continue;
        }
        match valid_name_and_mechanism(&name, deletion.mechanism) {
            Err(failure) => errors.push((name, failure)),
            Ok(mechanism) if image.scram_credentials.get(&name).is_none_or(|c| !c.contains_key(&mechanism)) => {
                errors.push((name, (ResponseError::ResourceNotFound, "Attempt to delete a user credential that does not exist")));
            }
            Ok(mechanism) => deletions.push((name, mechanism)),
        }
    }
    for upsertion in &req.upsertions {
        let name = upsertion.name.to_string();
        if errors.iter().any(|(n, _)| n == &name) {
            continue;
        }
        let deleted = deletions.iter().position(|(n, _)| n == &name);
        let upserted = upserts.iter().position(|(n, _, _)| n == &name);
        if deleted.is_some() || upserted.is_some() {
            if let Some(i) = deleted {
                deletions.remove(i);
            }
            if let Some(i) = upserted {
                upserts.remove(i);
            }
            errors.push((name, TWICE));
            continue;
        }
        let checked = valid_name_and_mechanism(&name, upsertion.mechanism).and_then(|mechanism| {
            if upsertion.iterations < MIN_ITERATIONS {
                Err((ResponseError::UnacceptableCredential, "Too few iterations"))
            } else if upsertion.iterations > MAX_ITERATIONS {
                Err((ResponseError::UnacceptableCredential, "Too many iterations"))
            } else {
                Ok(mechanism)
            }
        });
        match checked {
            Err(failure) => errors.push((name, failure)),
            Ok(mechanism) => {
                let credential =
                    ScramCredential::from_salted_password(mechanism, upsertion.salt.to_vec(), &upsertion.salted_password, upsertion.iterations);
                upserts.push((name, mechanism, credential));
            }
        }
    }
    let mut results: Vec<AlterUserScramCredentialsResult> = Vec::new();
    let changes: Vec<ScramChange> = deletions
        .iter()
        .map(|(name, mechanism)| ScramChange::Delete { name: name.clone(), mechanism: *mechanism })
        .chain(upserts.iter().map(|(name, mechanism, credential)| ScramChange::Upsert {
            name: name.clone(),
            mechanism: *mechanism,
            credential: credential.clone(),
        }))
        .collect();
    let written = ctx.broker.metadata.alter_scram_credentials(changes);
    if let Err(error) = &written {
        tracing::error!(%error, "cannot write SCRAM credentials to the metadata log");
    }
    let outcome = || written.as_ref().err().map(|_| (ResponseError::KafkaStorageError, "cannot write the metadata log"));
    results.extend(deletions.into_iter().map(|(name, _)| result(name, outcome())));
    results.extend(upserts.into_iter().map(|(name, _, _)| result(name, outcome())));
    results.extend(errors.into_iter().map(|(name, failure)| result(name, Some(failure))));
    AlterUserScramCredentialsResponse::default().with_results(results)
}

fn valid_name_and_mechanism(name: &str, mechanism: i8) -> Result<ScramMechanism, Failure> {
    if name.is_empty() {
        return Err((ResponseError::UnacceptableCredential, "Username must not be empty"));
    }
    ScramMechanism::from_type_code(mechanism).ok_or((ResponseError::UnsupportedSaslMechanism, "Unknown SCRAM mechanism"))
}

fn result(user: String, failure: Option<Failure>) -> AlterUserScramCredentialsResult {
    let result = AlterUserScramCredentialsResult::default().with_user(str_bytes(user)).with_error_message(None);
    match failure {
        None => result,
        Some((error, message)) => result.with_error_code(error.code()).with_error_message(Some(str_bytes(message))),
    }
}
