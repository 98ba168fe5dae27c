//! Request decoding: header, guard, body, trailing-byte check.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Decodable;

use crate::error::DecodeError;
use crate::{guard, header, versions};

/// A decoded request.
#[derive(Debug)]
pub struct Request {
    pub api_key: ApiKey,
    pub api_version: i16,
    pub header: RequestHeader,
    pub body: RequestKind,
}

impl Request {
    pub fn correlation_id(&self) -> i32 {
        self.header.correlation_id
    }
}

/// What a request frame turned out to be.
#[derive(Debug)]
pub enum Decoded {
    Request(Request),
    /// An ApiVersions request of a version Strom does not know: answer it with
    /// [`crate::response::encode_unsupported_api_versions`], never close.
    UnsupportedApiVersions { correlation_id: i32, version: i16 },
}

/// Decodes one request frame (the bytes after the size prefix).
pub fn decode_request(frame: Bytes) -> Result<Decoded, DecodeError> {
    let prefix = header::peek_prefix(&frame).ok_or(DecodeError::TooShort { len: frame.len() })?;
    let correlation_id = prefix.correlation_id;
    let api_key = ApiKey::try_from(prefix.api_key)
        .map_err(|_| DecodeError::UnknownApiKey { api_key: prefix.api_key, correlation_id })?;
    let version = prefix.api_version;
    if !versions::is_supported(api_key, version) {
        if api_key == ApiKey::ApiVersions {
            return Ok(Decoded::UnsupportedApiVersions { correlation_id, version });
        }
        return Err(DecodeError::UnsupportedVersion { api_key, version, correlation_id });
    }
    let mut buf = frame;
    let header_version = api_key.request_header_version(version);
    let header = RequestHeader::decode(&mut buf, header_version)
        .map_err(|e| DecodeError::InvalidHeader { api_key, version, reason: e.to_string() })?;
    guard::check_request_body(api_key as i16, version, &buf)
        .map_err(|source| DecodeError::Refused { api_key, version, source })?;
    let body = RequestKind::decode(api_key, &mut buf, version)
        .map_err(|e| DecodeError::Malformed { api_key, version, reason: e.to_string() })?;
    if buf.has_remaining() {
        return Err(DecodeError::TrailingBytes { api_key, version, extra: buf.remaining() });
    }
    Ok(Decoded::Request(Request { api_key, api_version: version, header, body }))
}
