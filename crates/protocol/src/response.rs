//! Response encoding: size prefix, response header of the version the API and
//! version call for (ApiVersions: always v0), then the body.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Encodable;

use crate::error::EncodeError;
use crate::frame::SIZE_PREFIX_BYTES;
use crate::versions;

/// Encodes a whole response frame.
pub fn encode_response(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<Bytes, EncodeError> {
    let fail = encode_failure(api_key, api_version);
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0); // size, patched below
    let header_version = api_key.response_header_version(api_version);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, header_version)
        .map_err(&fail)?;
    body.encode(&mut buf, api_version).map_err(&fail)?;
    patch_size(&mut buf, api_key, api_version)?;
    Ok(buf.freeze())
}

/// The answer to an ApiVersions request of a version Strom does not know:
/// a v0 body with UNSUPPORTED_VERSION (35) that still lists the ranges, so the
/// client can retry with a version both sides know.
pub fn encode_unsupported_api_versions(correlation_id: i32) -> Result<Bytes, EncodeError> {
    const UNSUPPORTED_VERSION: i16 = 35;
    let body = ResponseKind::ApiVersions(versions::api_versions_response(UNSUPPORTED_VERSION));
    encode_response(ApiKey::ApiVersions, 0, correlation_id, &body)
}

fn patch_size(buf: &mut BytesMut, api_key: ApiKey, version: i16) -> Result<(), EncodeError> {
    let size = i32::try_from(buf.len() - SIZE_PREFIX_BYTES).map_err(|_| EncodeError {
        api_key,
        version,
        reason: format!("response of {} bytes does not fit a frame", buf.len()),
    })?;
    buf[..SIZE_PREFIX_BYTES].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

/// kafka-protocol's encoders return `anyhow::Error`; keep only its message.
fn encode_failure<E: std::fmt::Display>(api_key: ApiKey, version: i16) -> impl Fn(E) -> EncodeError + Copy {
    move |e| EncodeError { api_key, version, reason: e.to_string() }
}
