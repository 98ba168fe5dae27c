//! Errors of the protocol crate. Each says enough for one log line.

use kafka_protocol::messages::ApiKey;

use crate::guard::GuardError;

/// Why a request frame could not be turned into a [`crate::request::Request`].
/// The broker answers none of these: it logs one line and closes the connection,
/// as Kafka does for a request it cannot parse.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("request frame of {len} bytes is too short for a request header")]
    TooShort { len: usize },
    #[error("unknown api key {api_key} (correlation id {correlation_id})")]
    UnknownApiKey { api_key: i16, correlation_id: i32 },
    #[error("unsupported version {version} of {api_key:?} (correlation id {correlation_id})")]
    UnsupportedVersion { api_key: ApiKey, version: i16, correlation_id: i32 },
    #[error("invalid request header for {api_key:?} v{version}: {reason}")]
    InvalidHeader { api_key: ApiKey, version: i16, reason: String },
    #[error("refused {api_key:?} v{version} body: {source}")]
    Refused {
        api_key: ApiKey,
        version: i16,
        #[source]
        source: GuardError,
    },
    #[error("malformed {api_key:?} v{version} body: {reason}")]
    Malformed { api_key: ApiKey, version: i16, reason: String },
    #[error("{extra} trailing bytes after {api_key:?} v{version} body")]
    TrailingBytes { api_key: ApiKey, version: i16, extra: usize },
}

/// Why a response could not be encoded (a broker bug, never client input).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode {api_key:?} v{version} response: {reason}")]
pub struct EncodeError {
    pub api_key: ApiKey,
    pub version: i16,
    pub reason: String,
}
