//! ApiVersions (key 18) against a real broker: every version 0-4, and the
//! answer Kafka gives to a version it does not know (a v0 UNSUPPORTED_VERSION
//! body listing the ApiVersions range, connection kept open).

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use strom_tests::client::frame;
use strom_tests::StromProcess;

/// Kafka's UNSUPPORTED_VERSION error code.
const UNSUPPORTED_VERSION: i16 = 35;

/// Checks the ranges every client needs (ApiVersions 0-4, Metadata 0-13 as in
/// Kafka 4.1) and that the list is well formed.
fn check_ranges(response: &ApiVersionsResponse, what: &str) {
    let find = |key: ApiKey| response.api_keys.iter().find(|k| k.api_key == key as i16);
    let api_versions =
        find(ApiKey::ApiVersions).unwrap_or_else(|| panic!("{what}: ApiVersions not advertised"));
    assert_eq!(
        (api_versions.min_version, api_versions.max_version),
        (0, 4),
        "{what}: ApiVersions range"
    );
    let metadata =
        find(ApiKey::Metadata).unwrap_or_else(|| panic!("{what}: Metadata not advertised"));
    assert_eq!(
        (metadata.min_version, metadata.max_version),
        (0, 13),
        "{what}: Metadata range"
    );
    for key in &response.api_keys {
        assert!(
            key.min_version >= 0 && key.min_version <= key.max_version,
            "{what}: bad range {key:?}"
        );
    }
    let mut keys: Vec<i16> = response.api_keys.iter().map(|k| k.api_key).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(
        keys.len(),
        response.api_keys.len(),
        "{what}: an API key is listed twice"
    );
}

#[test]
fn every_api_versions_version_is_answered() {
    let broker = StromProcess::start().expect("start strom");
    let mut conn = broker.connect().expect("connect");
    // All five versions on one connection: each answer must leave it usable.
    for version in 0..=4 {
        let response = conn
            .api_versions(version)
            .unwrap_or_else(|e| panic!("ApiVersions v{version}: {e:#}"));
        assert_eq!(response.error_code, 0, "ApiVersions v{version} error code");
        assert_eq!(
            response.throttle_time_ms, 0,
            "ApiVersions v{version} throttle time"
        );
        check_ranges(&response, &format!("ApiVersions v{version}"));
    }
}

#[test]
fn unknown_api_versions_version_gets_v0_error_and_ranges() {
    let broker = StromProcess::start().expect("start strom");
    let mut conn = broker.connect().expect("connect");
    // What a client from the future sends: a flexible (header v2) request of
    // version 127, whose body the broker cannot know.
    let mut body = BytesMut::new();
    ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("future-client"))
        .with_client_software_version(StrBytes::from_static_str("99.0"))
        .encode(&mut body, 4)
        .expect("encode body");
    let correlation_id = 4242;
    let request = frame(ApiKey::ApiVersions as i16, 127, correlation_id, &body).expect("frame");
    conn.write_all(&request).expect("send");
    let mut response = conn
        .read_frame()
        .expect("read response")
        .expect("broker closed the connection instead of answering");
    // Kafka answers with a v0 header and a v0 body, whatever version was asked.
    let header = ResponseHeader::decode(&mut response, 0).expect("response header");
    assert_eq!(header.correlation_id, correlation_id);
    let decoded = ApiVersionsResponse::decode(&mut response, 0).expect("v0 body");
    assert!(
        response.is_empty(),
        "{} bytes after the v0 body",
        response.len()
    );
    assert_eq!(decoded.error_code, UNSUPPORTED_VERSION);
    // Kafka (KIP-511, ApiVersionsRequest.getErrorResponse) lists exactly its own
    // ApiVersions range here, so the client can retry with a version it knows.
    let ranges: Vec<(i16, i16, i16)> = decoded
        .api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .collect();
    assert_eq!(
        ranges,
        [(ApiKey::ApiVersions as i16, 0, 4)],
        "ranges in the UNSUPPORTED_VERSION answer"
    );

    // The connection stays open and the client retries with a version it finds.
    let retry = conn
        .api_versions(3)
        .expect("ApiVersions v3 after the error");
    assert_eq!(retry.error_code, 0);
    check_ranges(&retry, "ApiVersions v3 retry");
}
