//! Errors of the protocol crate. (Stub: protocol-core owner fills in.)

/// Why a request frame could not be turned into a [`crate::request::Request`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("request frame of {len} bytes is too short for a request header")]
    TooShort { len: usize },
    #[error("malformed request: {0}")]
    Malformed(String),
}

/// Why a response could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("cannot encode response: {0}")]
    Encode(String),
}
