//! Security metadata: salted SCRAM credentials and ACLs, written as Kafka's
//! KRaft controller writes them (`UserScramCredentialRecord`,
//! `AccessControlEntryRecord` and their removals), one batch per request.

use uuid::Uuid;

use super::{MetadataError, MetadataStore};
use crate::auth::acl::AclBinding;
use crate::auth::scram::{ScramCredential, ScramMechanism};
use crate::config::security::SaslUser;
use crate::metadata::records::MetadataRecord;

/// One change of AlterUserScramCredentials.
#[derive(Debug, Clone)]
pub enum ScramChange {
    Upsert { name: String, mechanism: ScramMechanism, credential: ScramCredential },
    Delete { name: String, mechanism: ScramMechanism },
}

impl MetadataStore {
    /// Applies credential changes as one batch; the caller has validated them
    /// (a deletion names an existing credential).
    pub fn alter_scram_credentials(&self, changes: Vec<ScramChange>) -> Result<(), MetadataError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut log = self.lock_log();
        let image = self.image();
        let records = changes
            .into_iter()
            .map(|c| match c {
                ScramChange::Upsert { name, mechanism, credential } => MetadataRecord::UserScramCredential { name, mechanism, credential },
                ScramChange::Delete { name, mechanism } => MetadataRecord::RemoveUserScramCredential { name, mechanism },
            })
            .collect();
        self.commit(&mut log, &image, records)
    }

    /// Makes sure each configured user has a SCRAM credential of every
    /// mechanism that proves its configured password; writes new salted ones
    /// where not. Returns how many were written.
    pub fn bootstrap_scram_users(&self, users: &[SaslUser], iterations: i32) -> Result<usize, MetadataError> {
        let mut log = self.lock_log();
        let image = self.image();
        let mut records = Vec::new();
        for user in users {
            for mechanism in ScramMechanism::ALL {
                let current = image.scram_credentials.get(&user.name).and_then(|m| m.get(&mechanism));
                if current.is_some_and(|c| c.verifies(mechanism, &user.password)) {
                    continue;
                }
                let credential = ScramCredential::new(mechanism, &user.password, iterations);
                records.push(MetadataRecord::UserScramCredential { name: user.name.clone(), mechanism, credential });
            }
        }
        let written = records.len();
        if written > 0 {
            self.commit(&mut log, &image, records)?;
        }
        Ok(written)
    }

    /// Creates ACLs; one that exists already is not written twice (Kafka's
    /// `AclControlManager`). Returns nothing per ACL: all land or none.
    pub fn create_acls(&self, acls: Vec<AclBinding>) -> Result<(), MetadataError> {
        let mut log = self.lock_log();
        let image = self.image();
        let mut records = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for acl in acls {
            if image.acls.values().any(|a| a == &acl) || !seen.insert(acl.clone()) {
                continue;
            }
            let mut id = Uuid::new_v4();
            while image.acls.contains_key(&id) {
                id = Uuid::new_v4();
            }
            records.push(MetadataRecord::AccessControlEntry { id, acl });
        }
        if records.is_empty() {
            return Ok(());
        }
        self.commit(&mut log, &image, records)
    }

    /// Deletes the ACLs with these ids (unknown ids are skipped).
    pub fn delete_acls(&self, ids: &[Uuid]) -> Result<(), MetadataError> {
        let mut log = self.lock_log();
        let image = self.image();
        let mut unique: Vec<Uuid> = ids.iter().copied().filter(|id| image.acls.contains_key(id)).collect();
        unique.sort_unstable();
        unique.dedup();
        if unique.is_empty() {
            return Ok(());
        }
        let records = unique.into_iter().map(|id| MetadataRecord::RemoveAccessControlEntry { id }).collect();
        self.commit(&mut log, &image, records)
    }
}
