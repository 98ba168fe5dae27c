//! What the request path needs from the decode guard, for every advertised
//! API and version. The guard's own tests cover its walk in detail.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failed unwrap is a failed test")]

mod common;

use common::{advertised, header_len, sample_frame};
use strom_protocol::guard::{self, GuardError};

/// A valid body (unknown tagged fields included) must pass the guard, or a
/// real client's request would be refused.
#[test]
fn guard_accepts_every_populated_sample_body() {
    for (api_key, version) in advertised() {
        let (header, _, frame) = sample_frame(api_key, version, 1);
        let body = &frame[header_len(&header)..];
        let verdict = guard::check_request_body(api_key as i16, version, body);
        assert_eq!(verdict, Ok(()), "{api_key:?} v{version}");
    }
}

/// Every advertised version has a guard schema. Proves nothing against the
/// accept-all stub guard in this tree, which answers `Ok` without any schema;
/// once the real guard is merged, drop the `ignore` (and, if it exposes
/// `guard::has_schema`, assert that for each version too).
#[test]
fn guard_has_a_schema_for_every_advertised_version() {
    for (api_key, version) in advertised() {
        let verdict = guard::check_request_body(api_key as i16, version, &[]);
        assert!(!matches!(verdict, Err(GuardError::NoSchema { .. })), "{api_key:?} v{version}: {verdict:?}");
        assert!(guard::has_schema(api_key as i16, version), "{api_key:?} v{version}");
    }
}
