//! decode_request against frames encoded by `kafka-protocol`'s client side:
//! every advertised API and version round-trips with a populated body, and
//! every damaged form of those frames is an error, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failed unwrap is a failed test")]

mod common;

use bytes::{Bytes, BytesMut};
use common::{advertised, encode_request, sample_frame, with_size_prefix};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestKind};
use strom_protocol::frame::{split_frame, DEFAULT_MAX_FRAME_BYTES};
use strom_protocol::request::{decode_request, Decoded, Request};
use strom_protocol::DecodeError;

fn decoded_request(frame: Bytes) -> Request {
    match decode_request(frame) {
        Ok(Decoded::Request(req)) => req,
        other => panic!("expected a request, got {other:?}"),
    }
}

#[test]
fn every_advertised_api_and_version_round_trips() {
    let pairs = advertised();
    // Produce 3-13, Fetch 4-18, ListOffsets 1-10, Metadata 0-13, ApiVersions 0-4, CreateTopics 2-7,
    // DeleteTopics 1-6, DescribeConfigs 1-4, AlterConfigs 0-2, CreatePartitions 0-3, DeleteRecords 0-2,
    // InitProducerId 0-5, IncrementalAlterConfigs 0-1, DescribeCluster 0-2; groups: FindCoordinator 0-6,
    // JoinGroup 0-9, SyncGroup 0-5, Heartbeat 0-4, LeaveGroup 0-5, OffsetCommit 2-9, OffsetFetch 1-9,
    // OffsetDelete 0, ListGroups 0-5, DescribeGroups 0-6, DeleteGroups 0-2; transactions:
    // AddPartitionsToTxn 0-5, AddOffsetsToTxn 0-4, EndTxn 0-5, TxnOffsetCommit 0-5,
    // DescribeProducers 0, DescribeTransactions 0, ListTransactions 0-2; security: SaslHandshake 0-1,
    // SaslAuthenticate 0-2, Describe/AlterUserScramCredentials 0, DescribeAcls/CreateAcls/DeleteAcls 1-3.
    assert_eq!(
        pairs.len(),
        11 + 15 + 10 + 14 + 5 + 6 + 6 + 4 + 3 + 4 + 3 + 6 + 2 + 3 + 7 + 10 + 6 + 5 + 6 + 8 + 9 + 1 + 6 + 7 + 3
            + 6 + 5 + 6 + 6 + 1 + 1 + 3
            + 2 + 3 + 1 + 1 + 3 + 3 + 3
    );
    for (api_key, version) in pairs {
        let (header, body, frame) = sample_frame(api_key, version, 1000 + i32::from(version));
        // Through the framing layer, as the broker reads it.
        let mut wire = with_size_prefix(&frame);
        let split = split_frame(&mut wire, DEFAULT_MAX_FRAME_BYTES).unwrap().unwrap();
        assert!(wire.is_empty());
        let req = decoded_request(split.freeze());
        let what = format!("{api_key:?} v{version}");
        assert_eq!(req.api_key, api_key, "{what}");
        assert_eq!(req.api_version, version, "{what}");
        assert_eq!(req.correlation_id(), 1000 + i32::from(version), "{what}");
        assert_eq!(req.client_id(), "strom-test", "{what}");
        assert_eq!(req.header, header, "{what}");
        assert_eq!(req.body, body, "{what}");
    }
}

#[test]
fn every_truncation_of_every_advertised_request_is_an_error() {
    for (api_key, version) in advertised() {
        let (_, _, frame) = sample_frame(api_key, version, 1);
        for len in 0..frame.len() {
            let result = decode_request(frame.slice(..len));
            assert!(result.is_err(), "{api_key:?} v{version} cut to {len} bytes decoded: {result:?}");
            if len < 8 {
                assert!(matches!(result, Err(DecodeError::TooShort { .. })), "{result:?}");
            }
        }
    }
}

#[test]
fn trailing_bytes_after_every_advertised_request_are_ignored_as_kafka_does() {
    for (api_key, version) in advertised() {
        let (_, body, frame) = sample_frame(api_key, version, 1);
        for extra in [1usize, 2, 17] {
            let mut longer = BytesMut::from(&frame[..]);
            longer.extend(std::iter::repeat_n(0u8, extra));
            match decode_request(longer.freeze()) {
                Ok(Decoded::Request(request)) => {
                    assert_eq!(request.trailing_bytes, extra, "{api_key:?} v{version}");
                    assert_eq!(request.body, body, "{api_key:?} v{version}");
                }
                other => panic!("{api_key:?} v{version} + {extra}: {other:?}"),
            }
        }
    }
}

#[test]
fn versions_just_outside_the_ranges_are_refused_but_api_versions_is_answered() {
    for api in strom_protocol::versions::SUPPORTED_APIS {
        for version in [api.min_version - 1, api.max_version + 1] {
            // A valid body of the nearest version behind a header naming an unserved one.
            let (mut header, body, _) = sample_frame(api.api_key, api.min_version, 77);
            header.request_api_version = version;
            let mut frame = BytesMut::from(&encode_request_prefix(&header)[..]);
            frame.extend_from_slice(&body_bytes(&body, api.min_version));
            let result = decode_request(frame.freeze());
            if api.api_key == ApiKey::ApiVersions {
                assert!(
                    matches!(result, Ok(Decoded::UnsupportedApiVersions { correlation_id: 77, version: v }) if v == version),
                    "{result:?}"
                );
            } else {
                assert!(
                    matches!(result, Err(DecodeError::UnsupportedVersion { correlation_id: 77, version: v, .. }) if v == version),
                    "{:?} v{version}: {result:?}",
                    api.api_key
                );
            }
        }
    }
}

#[test]
fn a_future_api_versions_request_is_answered() {
    // What a newer client sends first: ApiVersions v5 with header v2 and a body
    // this broker cannot know.
    let mut frame = BytesMut::from(&encode_request_prefix(&common::request_header(ApiKey::ApiVersions, 4, 9))[..]);
    frame[2..4].copy_from_slice(&5i16.to_be_bytes());
    frame.extend_from_slice(&[0x0b, b'n', b'e', b'w', 0xde, 0xad]);
    let result = decode_request(frame.freeze());
    assert!(matches!(result, Ok(Decoded::UnsupportedApiVersions { correlation_id: 9, version: 5 })), "{result:?}");
}

#[test]
fn unknown_api_keys_and_unserved_apis_are_refused() {
    let (mut header, body, _) = sample_frame(ApiKey::Metadata, 1, 3);
    for key in [-1i16, 10_000] {
        header.request_api_key = key;
        let mut frame = BytesMut::from(&encode_request_prefix(&header)[..]);
        frame.extend_from_slice(&body_bytes(&body, 1));
        let result = decode_request(frame.freeze());
        assert!(matches!(result, Err(DecodeError::UnknownApiKey { api_key, correlation_id: 3 }) if api_key == key));
    }
    // WriteTxnMarkers is a real Kafka API (broker to broker) that this broker does not serve.
    header.request_api_key = ApiKey::WriteTxnMarkers as i16;
    header.request_api_version = 1;
    let result = decode_request(encode_request_prefix(&header));
    assert!(
        matches!(result, Err(DecodeError::UnsupportedVersion { api_key: ApiKey::WriteTxnMarkers, version: 1, .. })),
        "{result:?}"
    );
}

#[test]
fn an_api_versions_v0_request_has_an_empty_body() {
    let header = common::request_header(ApiKey::ApiVersions, 0, 1);
    let frame = encode_request(&header, &RequestKind::ApiVersions(ApiVersionsRequest::default()));
    let req = decoded_request(frame);
    assert_eq!(req.body, RequestKind::ApiVersions(ApiVersionsRequest::default()));
}

/// The header alone, encoded at the header version of its (possibly unserved)
/// API version; v1 for api keys `kafka-protocol` does not know.
fn encode_request_prefix(header: &kafka_protocol::messages::RequestHeader) -> Bytes {
    use kafka_protocol::protocol::Encodable;
    let header_version = ApiKey::try_from(header.request_api_key)
        .map(|k| k.request_header_version(header.request_api_version))
        .unwrap_or(1);
    let mut header = header.clone();
    if header_version < 2 {
        header.unknown_tagged_fields.clear();
    }
    let mut buf = BytesMut::new();
    header.encode(&mut buf, header_version).unwrap();
    buf.freeze()
}

fn body_bytes(body: &RequestKind, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    body.encode(&mut buf, version).unwrap();
    buf.freeze()
}
