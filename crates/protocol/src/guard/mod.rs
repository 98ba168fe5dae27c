//! Decode guard: walks a request body by its schema and checks that every
//! array count fits in the bytes that remain, before `kafka-protocol` (whose
//! 0.18 decoders call `Vec::with_capacity(count)` on counts read from the wire,
//! and where a failed allocation aborts the process) allocates anything.
//!
//! - [`dsl`]: the schema language (messages, fields, types, versions, tags).
//! - `schema/`: one const [`dsl::Message`] per covered request, by area.
//! - [`walker`]: the allocation-free walk that enforces the bounds.
//! - [`sample`]: a generator of valid bodies, for tests and fuzzing.
//!
//! A body the guard accepts may still fail to decode (bad UTF-8, bad enum
//! values); it can no longer make the crate allocate more elements than the
//! body has bytes.

mod dsl;
mod sample;
mod schema;
mod walker;

#[cfg(test)]
mod tests;

/// Why the guard refused a request body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("no decode schema for api key {api_key} version {version}")]
    NoSchema { api_key: i16, version: i16 },
    #[error("malformed request body: {0}")]
    Malformed(String),
}

/// Checks a request body (the bytes after the request header) of the given
/// API key and version. `Ok(())` means `kafka-protocol` may decode it: every
/// count in it is bounded by the bytes that remain, and the walk consumed the
/// whole body. Never panics.
pub fn check_request_body(api_key: i16, version: i16, body: &[u8]) -> Result<(), GuardError> {
    let used = message_length(api_key, version, body)?;
    match body.len() - used {
        0 => Ok(()),
        extra => Err(GuardError::Malformed(format!("{extra} trailing bytes at byte {used}"))),
    }
}

/// Walks a request body like [`check_request_body`] but allows bytes after
/// the message, as Apache Kafka does (librdkafka 2.x sends some in Metadata
/// v13): returns the message's length; `body[..length]` may be decoded.
pub fn message_length(api_key: i16, version: i16, body: &[u8]) -> Result<usize, GuardError> {
    match schema::lookup(api_key) {
        Some(msg) if msg.supports(version) => walker::walk(msg, version, body),
        _ => Err(GuardError::NoSchema { api_key, version }),
    }
}

/// Whether the guard has a schema for this API key and version. The broker
/// must not advertise (or decode) a version for which this is false.
pub fn has_schema(api_key: i16, version: i16) -> bool {
    schema::lookup(api_key).is_some_and(|msg| msg.supports(version))
}

/// Every request API key the guard has a schema for.
pub fn covered_api_keys() -> &'static [i16] {
    schema::COVERED_API_KEYS
}

/// The version range the guard covers for an API key (the range the crate's
/// message type decodes), if any.
pub fn schema_versions(api_key: i16) -> Option<(i16, i16)> {
    schema::versions(api_key)
}

/// Deterministic valid request body for tests and fuzzing (schema-driven
/// generator, tiny internal PRNG). `None` if no schema.
#[doc(hidden)]
pub fn sample_body(api_key: i16, version: i16, seed: u64) -> Option<Vec<u8>> {
    let msg = schema::lookup(api_key).filter(|msg| msg.supports(version))?;
    Some(sample::generate(msg, version, seed))
}
