//! Request decoding: header prefix, version check, header, guard, body.
//! Bytes after the body are ignored, as Kafka ignores them (librdkafka 2.16
//! sends three after a null topic list in Metadata v13); they are never
//! decoded and are reported in [`Request::trailing_bytes`]. Follows Kafka's `RequestHeader.parse`,
//! `SocketServer.parseRequestHeader` and `RequestContext.parseRequest`.
//!
//! Why this cannot panic or allocate without bound on hostile bytes:
//! - the fixed 8-byte prefix is peeked here ([`header::peek_prefix`]);
//!   `kafka-protocol`'s `decode_request_header_from_buffer` would panic on
//!   frames under 4 bytes and is not used;
//! - unknown keys and unserved versions stop before anything is decoded, so
//!   `kafka-protocol` only ever sees versions it knows;
//! - `RequestHeader::decode` reads only with `try_*` getters: the nullable
//!   `client_id` has an i16 length (at most 32 KiB, taken as a slice of the
//!   frame, never preallocated; below -1 is an error) and each header tagged
//!   field needs at least two bytes, so a huge tagged-field count runs out of
//!   bytes instead of allocating;
//! - the body goes through [`guard::check_request_body`] before
//!   `kafka-protocol`, whose 0.18 array decoders call `Vec::with_capacity` on
//!   counts read from the wire.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Decodable;

use crate::error::{one_line, DecodeError};
use crate::{guard, header, versions};

/// A decoded request.
#[derive(Debug)]
pub struct Request {
    pub api_key: ApiKey,
    pub api_version: i16,
    pub header: RequestHeader,
    pub body: RequestKind,
    /// Bytes after the body that were ignored.
    pub trailing_bytes: usize,
}

impl Request {
    pub fn correlation_id(&self) -> i32 {
        self.header.correlation_id
    }

    /// The client id; Kafka treats a null one as empty (`RequestHeader.parse`).
    pub fn client_id(&self) -> &str {
        self.header.client_id.as_deref().unwrap_or_default()
    }
}

/// What a request frame turned out to be.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one value per frame, moved once; the unboxed variant is the contract the broker codes against"
)]
pub enum Decoded {
    Request(Request),
    /// An ApiVersions request of a version Strom does not know: answer it with
    /// [`crate::response::encode_unsupported_api_versions`], never close. Like
    /// Kafka (`RequestContext.parseRequest`), neither its header past the
    /// fixed prefix nor its body is parsed.
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
        .map_err(|e| DecodeError::InvalidHeader { api_key, version, reason: one_line(e) })?;
    let length = guard::message_length(api_key as i16, version, &buf)
        .map_err(|source| DecodeError::Refused { api_key, version, source })?;
    let trailing_bytes = buf.len() - length;
    buf.truncate(length);
    let body = RequestKind::decode(api_key, &mut buf, version)
        .map_err(|e| DecodeError::Malformed { api_key, version, reason: one_line(e) })?;
    if buf.has_remaining() {
        // The guard and the crate disagree on where the body ends: a bug, refused.
        return Err(DecodeError::TrailingBytes { api_key, version, extra: buf.remaining() });
    }
    Ok(Decoded::Request(Request { api_key, api_version: version, header, body, trailing_bytes }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use bytes::{BufMut, BytesMut};

    use super::*;

    /// A request frame built by hand: prefix, then `rest` (client id, tagged
    /// fields, body) exactly as given.
    fn frame(api_key: i16, version: i16, correlation_id: i32, rest: &[u8]) -> Bytes {
        let mut buf = BytesMut::new();
        buf.put_i16(api_key);
        buf.put_i16(version);
        buf.put_i32(correlation_id);
        buf.put_slice(rest);
        buf.freeze()
    }

    /// Metadata v1 (header v1) with a null topic array: "all topics".
    const METADATA_V1_BODY: [u8; 4] = [0xff, 0xff, 0xff, 0xff];

    fn with_client_id(client_id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut rest = (client_id.len() as i16).to_be_bytes().to_vec();
        rest.extend_from_slice(client_id);
        rest.extend_from_slice(body);
        rest
    }

    #[test]
    fn frames_shorter_than_the_prefix_are_too_short() {
        let full = frame(3, 1, 7, &[]);
        for len in 0..8 {
            let err = decode_request(full.slice(..len)).unwrap_err();
            assert!(matches!(err, DecodeError::TooShort { len: l } if l == len), "{len}: {err}");
        }
    }

    #[test]
    fn a_bare_prefix_is_an_invalid_header() {
        let err = decode_request(frame(3, 1, 7, &[])).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidHeader { .. }), "{err}");
    }

    #[test]
    fn unknown_api_keys_are_refused_with_their_correlation_id() {
        for key in [-1, 999, i16::MAX, i16::MIN] {
            let err = decode_request(frame(key, 0, 42, &[])).unwrap_err();
            assert!(
                matches!(err, DecodeError::UnknownApiKey { api_key, correlation_id: 42 } if api_key == key),
                "{err}"
            );
        }
    }

    #[test]
    fn unserved_keys_and_versions_are_refused() {
        let cases = [(ApiKey::Produce, 2), (ApiKey::Produce, 14), (ApiKey::OffsetCommit, 1), (ApiKey::OffsetCommit, 10), (ApiKey::EndTxn, 6), (ApiKey::WriteTxnMarkers, 1), (ApiKey::Metadata, 14), (ApiKey::Metadata, -1), (ApiKey::CreateTopics, 1)];
        for (key, v) in cases {
            let err = decode_request(frame(key as i16, v, 5, &[])).unwrap_err();
            assert!(
                matches!(err, DecodeError::UnsupportedVersion { api_key, version, correlation_id: 5 }
                    if api_key == key && version == v),
                "{err}"
            );
        }
    }

    #[test]
    fn unknown_api_versions_versions_are_answered_not_refused() {
        for v in [5, 127, i16::MAX, -1, i16::MIN] {
            // Whatever follows the prefix is not parsed, as in Kafka.
            for rest in [&[][..], &[0xff; 3][..]] {
                let decoded = decode_request(frame(18, v, 9, rest)).unwrap();
                assert!(
                    matches!(decoded, Decoded::UnsupportedApiVersions { correlation_id: 9, version } if version == v),
                    "{decoded:?}"
                );
            }
        }
    }

    #[test]
    fn null_client_id_reads_as_empty() {
        let mut rest = vec![0xff, 0xff];
        rest.extend_from_slice(&METADATA_V1_BODY);
        let Decoded::Request(req) = decode_request(frame(3, 1, 1, &rest)).unwrap() else { panic!("not a request") };
        assert_eq!(req.header.client_id, None);
        assert_eq!(req.client_id(), "");
        assert_eq!(req.correlation_id(), 1);
    }

    #[test]
    fn hostile_client_id_lengths_are_invalid_headers() {
        // Longest possible length with almost nothing behind it, a negative length
        // other than -1, and a length one past the end.
        let cases: [Vec<u8>; 4] = [
            vec![0x7f, 0xff, b'a'],
            vec![0x80, 0x00, 0, 0, 0, 0],
            vec![0xff, 0xfe, 0, 0, 0, 0],
            vec![0x00, 0x03, b'a', b'b'],
        ];
        for rest in cases {
            let err = decode_request(frame(3, 1, 1, &rest)).unwrap_err();
            assert!(matches!(err, DecodeError::InvalidHeader { .. }), "{rest:?}: {err}");
        }
    }

    #[test]
    fn client_id_that_is_not_utf8_is_an_invalid_header() {
        let rest = with_client_id(&[0xc3, 0x28], &METADATA_V1_BODY);
        let err = decode_request(frame(3, 1, 1, &rest)).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidHeader { .. }), "{err}");
    }

    #[test]
    fn hostile_header_tagged_fields_are_invalid_headers() {
        // Metadata v12 uses header v2: client id, then tagged fields.
        let cases: [&[u8]; 3] = [
            // 2^32-1 tagged fields, none present.
            &[0xff, 0xff, 0xff, 0xff, 0x0f],
            // One tagged field claiming 2^32-1 bytes.
            &[0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f],
            // A varint that never ends.
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ];
        for tags in cases {
            let rest = with_client_id(b"c", tags);
            let err = decode_request(frame(3, 12, 1, &rest)).unwrap_err();
            assert!(matches!(err, DecodeError::InvalidHeader { .. } | DecodeError::Malformed { .. }), "{err}");
        }
    }

    #[test]
    fn trailing_bytes_are_ignored_as_kafka_does() {
        let mut body = METADATA_V1_BODY.to_vec();
        body.extend_from_slice(&[1, 2, 3]);
        let decoded = decode_request(frame(3, 1, 1, &with_client_id(b"c", &body))).unwrap();
        assert!(matches!(decoded, Decoded::Request(Request { trailing_bytes: 3, .. })), "{decoded:?}");
    }

    #[test]
    fn truncated_bodies_are_malformed() {
        let rest = with_client_id(b"c", &METADATA_V1_BODY[..2]);
        let err = decode_request(frame(3, 1, 1, &rest)).unwrap_err();
        assert!(matches!(err, DecodeError::Malformed { .. } | DecodeError::Refused { .. }), "{err}");
        assert!(err.to_string().contains("Metadata"), "{err}");
    }
}
