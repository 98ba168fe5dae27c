//! encode_response read back with `kafka-protocol`'s client side, header
//! version included, for every advertised API and version.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failed unwrap is a failed test")]

mod common;

use bytes::{Buf, Bytes, BytesMut};
use common::advertised;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;
use strom_protocol::frame::split_frame;
use strom_protocol::response::{encode_response, encode_unsupported_api_versions};
use strom_protocol::versions::{api_versions_response, SUPPORTED_APIS, UNSUPPORTED_VERSION};

fn default_response(api_key: ApiKey) -> ResponseKind {
    match api_key {
        ApiKey::Metadata => ResponseKind::Metadata(MetadataResponse::default()),
        ApiKey::ApiVersions => ResponseKind::ApiVersions(ApiVersionsResponse::default()),
        ApiKey::CreateTopics => ResponseKind::CreateTopics(CreateTopicsResponse::default()),
        ApiKey::DeleteTopics => ResponseKind::DeleteTopics(DeleteTopicsResponse::default()),
        ApiKey::DescribeConfigs => ResponseKind::DescribeConfigs(DescribeConfigsResponse::default()),
        ApiKey::CreatePartitions => ResponseKind::CreatePartitions(CreatePartitionsResponse::default()),
        ApiKey::DescribeCluster => ResponseKind::DescribeCluster(DescribeClusterResponse::default()),
        ApiKey::Produce => ResponseKind::Produce(ProduceResponse::default()),
        ApiKey::Fetch => ResponseKind::Fetch(FetchResponse::default()),
        ApiKey::ListOffsets => ResponseKind::ListOffsets(ListOffsetsResponse::default()),
        ApiKey::InitProducerId => ResponseKind::InitProducerId(InitProducerIdResponse::default()),
        ApiKey::DeleteRecords => ResponseKind::DeleteRecords(DeleteRecordsResponse::default()),
        ApiKey::AlterConfigs => ResponseKind::AlterConfigs(AlterConfigsResponse::default()),
        ApiKey::IncrementalAlterConfigs => ResponseKind::IncrementalAlterConfigs(IncrementalAlterConfigsResponse::default()),
        ApiKey::FindCoordinator => ResponseKind::FindCoordinator(FindCoordinatorResponse::default()),
        ApiKey::JoinGroup => ResponseKind::JoinGroup(JoinGroupResponse::default()),
        ApiKey::SyncGroup => ResponseKind::SyncGroup(SyncGroupResponse::default()),
        ApiKey::Heartbeat => ResponseKind::Heartbeat(HeartbeatResponse::default()),
        ApiKey::LeaveGroup => ResponseKind::LeaveGroup(LeaveGroupResponse::default()),
        ApiKey::OffsetCommit => ResponseKind::OffsetCommit(OffsetCommitResponse::default()),
        ApiKey::OffsetFetch => ResponseKind::OffsetFetch(OffsetFetchResponse::default()),
        ApiKey::OffsetDelete => ResponseKind::OffsetDelete(OffsetDeleteResponse::default()),
        ApiKey::ListGroups => ResponseKind::ListGroups(ListGroupsResponse::default()),
        ApiKey::DescribeGroups => ResponseKind::DescribeGroups(DescribeGroupsResponse::default()),
        ApiKey::DeleteGroups => ResponseKind::DeleteGroups(DeleteGroupsResponse::default()),
        ApiKey::AddPartitionsToTxn => ResponseKind::AddPartitionsToTxn(AddPartitionsToTxnResponse::default()),
        ApiKey::AddOffsetsToTxn => ResponseKind::AddOffsetsToTxn(AddOffsetsToTxnResponse::default()),
        ApiKey::EndTxn => ResponseKind::EndTxn(EndTxnResponse::default()),
        ApiKey::TxnOffsetCommit => ResponseKind::TxnOffsetCommit(TxnOffsetCommitResponse::default()),
        ApiKey::DescribeProducers => ResponseKind::DescribeProducers(DescribeProducersResponse::default()),
        ApiKey::DescribeTransactions => ResponseKind::DescribeTransactions(DescribeTransactionsResponse::default()),
        ApiKey::ListTransactions => ResponseKind::ListTransactions(ListTransactionsResponse::default()),

        ApiKey::SaslHandshake => ResponseKind::SaslHandshake(SaslHandshakeResponse::default()),
        ApiKey::SaslAuthenticate => ResponseKind::SaslAuthenticate(SaslAuthenticateResponse::default()),
        ApiKey::DescribeUserScramCredentials => ResponseKind::DescribeUserScramCredentials(DescribeUserScramCredentialsResponse::default()),
        ApiKey::AlterUserScramCredentials => ResponseKind::AlterUserScramCredentials(AlterUserScramCredentialsResponse::default()),
        ApiKey::DescribeAcls => ResponseKind::DescribeAcls(DescribeAclsResponse::default()),
        ApiKey::CreateAcls => ResponseKind::CreateAcls(CreateAclsResponse::default()),
        ApiKey::DeleteAcls => ResponseKind::DeleteAcls(DeleteAclsResponse::default()),
        other => panic!("no default response for {other:?}"),
    }
}

/// Reads a response frame as a client does: size prefix, header of the
/// version the client expects for its request, body. Nothing may be left.
fn client_read(frame: Bytes, api_key: ApiKey, version: i16) -> (ResponseHeader, ResponseKind) {
    let mut wire = BytesMut::from(&frame[..]);
    let mut body = split_frame(&mut wire, usize::MAX).unwrap().unwrap().freeze();
    assert!(wire.is_empty(), "one frame exactly");
    let header = ResponseHeader::decode(&mut body, api_key.response_header_version(version)).unwrap();
    let decoded = ResponseKind::decode(api_key, &mut body, version).unwrap();
    assert_eq!(body.remaining(), 0, "{api_key:?} v{version}: bytes left after the body");
    (header, decoded)
}

#[test]
fn every_advertised_default_response_reads_back() {
    for (api_key, version) in advertised() {
        let body = default_response(api_key);
        let frame = encode_response(api_key, version, 500 + i32::from(version), &body).unwrap();
        let (header, decoded) = client_read(frame, api_key, version);
        assert_eq!(header.correlation_id, 500 + i32::from(version), "{api_key:?} v{version}");
        assert_eq!(decoded, body, "{api_key:?} v{version}");
    }
}

#[test]
fn api_versions_response_has_a_v0_header_at_v0_to_v4() {
    for version in 0..=4 {
        assert_eq!(ApiKey::ApiVersions.response_header_version(version), 0, "v{version}");
        let body = ResponseKind::ApiVersions(api_versions_response(0));
        let frame = encode_response(ApiKey::ApiVersions, version, 7, &body).unwrap();
        // Read with an explicit v0 header: a v1 header would leave a tag byte
        // that breaks the body.
        let mut bytes = frame.slice(4..);
        let header = ResponseHeader::decode(&mut bytes, 0).unwrap();
        assert_eq!(header.correlation_id, 7);
        let decoded = ApiVersionsResponse::decode(&mut bytes, version).unwrap();
        assert_eq!(bytes.remaining(), 0);
        assert_eq!(ResponseKind::ApiVersions(decoded), body, "v{version}");
    }
}

#[test]
fn api_versions_response_lists_every_supported_api() {
    for version in 0..=4 {
        let body = ResponseKind::ApiVersions(api_versions_response(0));
        let frame = encode_response(ApiKey::ApiVersions, version, 1, &body).unwrap();
        let (_, ResponseKind::ApiVersions(decoded)) = client_read(frame, ApiKey::ApiVersions, version) else {
            panic!("not an ApiVersions response")
        };
        let listed: Vec<_> = decoded.api_keys.iter().map(|k| (k.api_key, k.min_version, k.max_version)).collect();
        let table: Vec<_> =
            SUPPORTED_APIS.iter().map(|a| (a.api_key as i16, a.advertised_min_version, a.max_version)).collect();
        assert_eq!(listed, table, "v{version}");
    }
}

#[test]
fn unsupported_api_versions_response_is_v0_with_error_35_and_the_api_versions_range() {
    let frame = encode_unsupported_api_versions(0x0a0b_0c0d).unwrap();
    let (header, body) = client_read(frame.clone(), ApiKey::ApiVersions, 0);
    assert_eq!(header.correlation_id, 0x0a0b_0c0d);
    let ResponseKind::ApiVersions(body) = body else { panic!("not an ApiVersions response") };
    assert_eq!(body.error_code, UNSUPPORTED_VERSION);
    // As Kafka's ApiVersionsRequest.getErrorResponse: only the ApiVersions key.
    let listed: Vec<_> = body.api_keys.iter().map(|k| (k.api_key, k.min_version, k.max_version)).collect();
    assert_eq!(listed, [(ApiKey::ApiVersions as i16, 0, 4)]);
    // v0 layout byte by byte: size, correlation id, error code, one-entry array.
    let expected: [u8; 20] = [0, 0, 0, 16, 0x0a, 0x0b, 0x0c, 0x0d, 0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 4];
    assert_eq!(&frame[..], &expected[..]);
}
