//! Response encoding: size prefix, response header of the version the API and
//! version call for, then the body (Kafka's `AbstractResponse.toSend` with
//! `ApiKeys.responseHeaderVersion`).
//!
//! The ApiVersions response header is always v0, even for the flexible
//! versions 3 and 4 (`ApiVersionsResponse.json`: "flexibleVersions": "3+" but
//! the header stays v0 so that a client can read the error code of a response
//! to a version it sent but the broker does not know, KIP-511).
//! `kafka-protocol`'s `ApiKey::response_header_version` already says 0 for
//! every ApiVersions version; the tests hold it to that.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Encodable;

use crate::error::{one_line, EncodeError};
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
    // ApiVersions: 0 for every version (module doc).
    let header_version = api_key.response_header_version(api_version);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, header_version)
        .map_err(&fail)?;
    body.encode(&mut buf, api_version).map_err(&fail)?;
    patch_size(&mut buf, api_key, api_version)?;
    Ok(buf.freeze())
}

/// Encodes a whole response frame as parts to write in order (vectored):
/// Fetch responses keep each partition's records as their own part, uncopied
/// ([`crate::fetch_response`]); every other response is one part.
pub fn encode_response_parts(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<Vec<Bytes>, EncodeError> {
    match body {
        ResponseKind::Fetch(fetch) => crate::fetch_response::encode_fetch_response(api_version, correlation_id, fetch),
        _ => encode_response(api_key, api_version, correlation_id, body).map(|whole| vec![whole]),
    }
}

/// The answer to an ApiVersions request of a version Strom does not know:
/// a v0 body with UNSUPPORTED_VERSION (35) listing the ApiVersions range, so
/// the client can retry with a version both sides know. This is what Kafka
/// sends (`RequestContext.apiVersion` gives 0, `ApiVersionsRequest.getErrorResponse`
/// lists only the ApiVersions key); see [`versions::unsupported_api_versions_response`].
pub fn encode_unsupported_api_versions(correlation_id: i32) -> Result<Bytes, EncodeError> {
    let body = ResponseKind::ApiVersions(versions::unsupported_api_versions_response());
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

/// kafka-protocol's encoders return `anyhow::Error`; keep its message chain.
fn encode_failure<E: std::fmt::Display>(api_key: ApiKey, version: i16) -> impl Fn(E) -> EncodeError + Copy {
    move |e| EncodeError { api_key, version, reason: one_line(e) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use kafka_protocol::messages::{ApiVersionsResponse, MetadataResponse};

    use super::*;

    #[test]
    fn size_prefix_counts_the_bytes_after_it() {
        let body = ResponseKind::Metadata(MetadataResponse::default());
        let frame = encode_response(ApiKey::Metadata, 12, 3, &body).unwrap();
        let size = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        assert_eq!(size as usize, frame.len() - SIZE_PREFIX_BYTES);
    }

    #[test]
    fn api_versions_header_is_v0_at_every_version() {
        for version in 0..=4 {
            let body = ResponseKind::ApiVersions(versions::api_versions_response(0));
            let frame = encode_response(ApiKey::ApiVersions, version, 0x0102_0304, &body).unwrap();
            // Correlation id, then at once the body's error code: no header tagged fields.
            assert_eq!(&frame[4..8], &[1, 2, 3, 4], "v{version}");
            assert_eq!(&frame[8..10], &[0, 0], "v{version}");
        }
    }

    #[test]
    fn flexible_responses_other_than_api_versions_get_header_v1() {
        let body = ResponseKind::Metadata(MetadataResponse::default());
        let frame = encode_response(ApiKey::Metadata, 9, 1, &body).unwrap();
        // Correlation id, then an empty tagged-field section (one 0 byte), then
        // throttle_time_ms.
        assert_eq!(&frame[4..8], &[0, 0, 0, 1]);
        assert_eq!(&frame[8..13], &[0, 0, 0, 0, 0]);
    }

    #[test]
    fn a_version_the_crate_cannot_encode_is_an_error_not_a_panic() {
        let body = ResponseKind::ApiVersions(ApiVersionsResponse::default());
        let err = encode_response(ApiKey::ApiVersions, 99, 1, &body).unwrap_err();
        assert_eq!((err.api_key, err.version), (ApiKey::ApiVersions, 99));
    }
}
