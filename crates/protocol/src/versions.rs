//! The one table of supported API keys and version ranges. It drives the
//! ApiVersions response, version rejection, and (in the broker) dispatch.
//!
//! # Where the ranges come from
//!
//! Each range is what an Apache Kafka 4.1 broker advertises for that API: the
//! `validVersions` of its `common/message/<Api>Request.json` definition (read
//! from the 4.1.2 `kafka-clients` jar, which ships them), none of which carries
//! `latestVersionUnstable`. Kafka 4.0 dropped the versions KIP-896 deprecated,
//! and those JSON files say so ("Versions 0-1 were removed in Apache Kafka 4.0"):
//!
//! | API (key) | 4.1 range | note |
//! |---|---|---|
//! | Metadata (3) | 0-13 | v13 adds a top-level error code to the response (KIP-1102); flexible from 9 |
//! | ApiVersions (18) | 0-4 | v4 fixes KAFKA-17011; flexible from 3, but the response header stays v0 |
//! | CreateTopics (19) | 2-7 | v0-1 removed in 4.0 (KIP-896); flexible from 5 |
//! | DeleteTopics (20) | 1-6 | v0 removed in 4.0 (KIP-896); flexible from 4 |
//! | DescribeConfigs (32) | 1-4 | v0 removed in 4.0 (KIP-896); flexible from 4 |
//! | CreatePartitions (37) | 0-3 | flexible from 2 |
//! | DescribeCluster (60) | 0-2 | v2 (4.0, KIP-1073) adds fenced brokers; flexible from 0 |
//! | FindCoordinator (10) | 0-6 | v4+ batches coordinator keys; v6 share groups (KIP-932) |
//! | JoinGroup (11), SyncGroup (14), Heartbeat (12), LeaveGroup (13) | 0-9, 0-5, 0-4, 0-5 | classic group protocol |
//! | OffsetCommit (8), OffsetFetch (9) | 2-9, 1-9 | v0-1 / v0 removed in 4.0 (KIP-896); v10 is unstable in 4.1 |
//! | OffsetDelete (47), ListGroups (16), DescribeGroups (15), DeleteGroups (42) | 0, 0-5, 0-6, 0-2 | group admin |
//! | AddPartitionsToTxn (24), AddOffsetsToTxn (25), EndTxn (26), TxnOffsetCommit (28) | 0-5, 0-4, 0-5, 0-5 | transactions; v4+ of AddPartitionsToTxn is the broker-to-broker batch form; the KIP-890 part 2 versions (EndTxn and TxnOffsetCommit v5) are only sent by clients that see `transaction.version` >= 2, which is not advertised |
//! | DescribeProducers (61), DescribeTransactions (65), ListTransactions (66) | 0, 0, 0-2 | transaction admin (KIP-664) |

//! | SaslHandshake (17), SaslAuthenticate (36) | 0-1, 0-2 | v0 handshake: raw tokens follow (librdkafka 1.x checks for 0-1) |
//! | DescribeUserScramCredentials (50), AlterUserScramCredentials (51) | 0, 0 | flexible from 0 |
//! | DescribeAcls (29), CreateAcls (30), DeleteAcls (31) | 1-3 | v0 removed in 4.0 (KIP-896); flexible from 2 |
//!
//! Old clients still fit inside these ranges:
//! - librdkafka 1.x (kcat) turns features on only when a range *contains*
//!   certain old versions (COMPATIBILITY.md, "Advertised minimums"). Of the APIs
//!   here only ApiVersions 0 matters, and it is advertised.
//! - kafkajs has no flexible versions: it uses Metadata 6, ApiVersions 2,
//!   CreateTopics 3, DeleteTopics 1, DescribeConfigs 2, CreatePartitions 1, all
//!   inside the ranges.
//! - kafka-python guesses the broker version from the ranges, so they match one
//!   real release (4.1) rather than a mix.
//!
//! `kafka-protocol` 0.18 is generated from the same 4.1 definitions, so it can
//! decode and encode every advertised version (a test checks this).

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};

/// One supported API and the versions Strom answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportedApi {
    pub api_key: ApiKey,
    /// Lowest version served.
    pub min_version: i16,
    pub max_version: i16,
    /// Lowest version advertised in ApiVersions; below `min_version` only
    /// where old clients need to see it (Produce, KAFKA-18659).
    pub advertised_min_version: i16,
}

impl SupportedApi {
    /// Whether `version` lies in this API's advertised range.
    pub fn contains(&self, version: i16) -> bool {
        (self.min_version..=self.max_version).contains(&version)
    }

    fn to_api_version(self) -> ApiVersion {
        ApiVersion::default()
            .with_api_key(self.api_key as i16)
            .with_min_version(self.advertised_min_version)
            .with_max_version(self.max_version)
    }
}

const fn api(api_key: ApiKey, min_version: i16, max_version: i16) -> SupportedApi {
    SupportedApi { api_key, min_version, max_version, advertised_min_version: min_version }
}

/// An API advertised from a lower version than it serves.
const fn api_advertised_from(api_key: ApiKey, advertised_min_version: i16, min_version: i16, max_version: i16) -> SupportedApi {
    SupportedApi { api_key, min_version, max_version, advertised_min_version }
}

/// Ranges as Apache Kafka 4.1 advertises them (see the module doc).
pub const SUPPORTED_APIS: &[SupportedApi] = &[
    // Kafka 4 removed Produce v0-2 but still advertises v0: librdkafka 1.x
    // turns compression off unless the range contains v0-2 (KAFKA-18659).
    api_advertised_from(ApiKey::Produce, 0, 3, 13),
    api(ApiKey::Fetch, 4, 18),
    api(ApiKey::ListOffsets, 1, 10),
    api(ApiKey::Metadata, 0, 13),
    api(ApiKey::ApiVersions, 0, 4),
    api(ApiKey::CreateTopics, 2, 7),
    api(ApiKey::DeleteTopics, 1, 6),
    api(ApiKey::DescribeConfigs, 1, 4),
    api(ApiKey::AlterConfigs, 0, 2),
    api(ApiKey::CreatePartitions, 0, 3),
    api(ApiKey::DeleteRecords, 0, 2),
    api(ApiKey::InitProducerId, 0, 5),
    api(ApiKey::IncrementalAlterConfigs, 0, 1),
    api(ApiKey::DescribeCluster, 0, 2),
    // Consumer groups, classic protocol (issue 4).
    api(ApiKey::FindCoordinator, 0, 6),
    api(ApiKey::JoinGroup, 0, 9),
    api(ApiKey::SyncGroup, 0, 5),
    api(ApiKey::Heartbeat, 0, 4),
    api(ApiKey::LeaveGroup, 0, 5),
    // v10 of these two is `latestVersionUnstable` in 4.1, so not advertised.
    api(ApiKey::OffsetCommit, 2, 9),
    api(ApiKey::OffsetFetch, 1, 9),
    api(ApiKey::OffsetDelete, 0, 0),
    api(ApiKey::ListGroups, 0, 5),
    api(ApiKey::DescribeGroups, 0, 6),
    api(ApiKey::DeleteGroups, 0, 2),
    // Transactions (issue 5), protocol v1: no finalized `transaction.version`
    // feature is advertised, so clients never use the KIP-890 part 2 forms.
    // WriteTxnMarkers (27) is broker-to-broker and a single node never needs it.
    api(ApiKey::AddPartitionsToTxn, 0, 5),
    api(ApiKey::AddOffsetsToTxn, 0, 4),
    api(ApiKey::EndTxn, 0, 5),
    api(ApiKey::TxnOffsetCommit, 0, 5),
    api(ApiKey::DescribeProducers, 0, 0),
    api(ApiKey::DescribeTransactions, 0, 0),
    api(ApiKey::ListTransactions, 0, 2),

    // Security. SaslHandshake keeps v0 (raw tokens after it) for old librdkafka.
    api(ApiKey::SaslHandshake, 0, 1),
    api(ApiKey::SaslAuthenticate, 0, 2),
    api(ApiKey::DescribeUserScramCredentials, 0, 0),
    api(ApiKey::AlterUserScramCredentials, 0, 0),
    // v0 removed in Kafka 4.0 (KIP-896).
    api(ApiKey::DescribeAcls, 1, 3),
    api(ApiKey::CreateAcls, 1, 3),
    api(ApiKey::DeleteAcls, 1, 3),
];

/// Kafka's UNSUPPORTED_VERSION error code.
pub const UNSUPPORTED_VERSION: i16 = 35;

/// The supported range of an API, if Strom serves it at all.
pub fn supported(api_key: ApiKey) -> Option<&'static SupportedApi> {
    SUPPORTED_APIS.iter().find(|s| s.api_key == api_key)
}

/// Whether Strom answers this API at this version.
pub fn is_supported(api_key: ApiKey, version: i16) -> bool {
    supported(api_key).is_some_and(|s| s.contains(version))
}

/// An ApiVersions response body listing [`SUPPORTED_APIS`].
pub fn api_versions_response(error_code: i16) -> ApiVersionsResponse {
    let api_keys = SUPPORTED_APIS.iter().map(|s| s.to_api_version()).collect();
    ApiVersionsResponse::default().with_error_code(error_code).with_api_keys(api_keys)
}

/// The body Kafka sends for an ApiVersions request of a version it does not
/// know: UNSUPPORTED_VERSION and only the ApiVersions range itself, so the
/// client can retry with a version both sides know
/// (`ApiVersionsRequest.getErrorResponse`, KIP-511). It is always encoded as v0.
pub fn unsupported_api_versions_response() -> ApiVersionsResponse {
    let own_range = supported(ApiKey::ApiVersions).map(|s| s.to_api_version());
    ApiVersionsResponse::default()
        .with_error_code(UNSUPPORTED_VERSION)
        .with_api_keys(own_range.into_iter().collect())
}

/// Whether an ApiVersions request's client software name and version are
/// acceptable (`ApiVersionsRequest.isValid`, KIP-511): from v3 on both must
/// match `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`. Kafka answers an
/// invalid one with INVALID_REQUEST (42) and the connection stays open.
pub fn api_versions_request_is_valid(version: i16, request: &ApiVersionsRequest) -> bool {
    version < 3
        || (is_valid_software_token(&request.client_software_name)
            && is_valid_software_token(&request.client_software_version))
}

fn is_valid_software_token(text: &str) -> bool {
    let bytes = text.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else { return false };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_api_key_is_listed_twice() {
        for (i, a) in SUPPORTED_APIS.iter().enumerate() {
            let later = &SUPPORTED_APIS[i + 1..];
            assert!(!later.iter().any(|b| b.api_key == a.api_key), "{:?} listed twice", a.api_key);
        }
    }

    #[test]
    fn every_range_is_non_empty() {
        for a in SUPPORTED_APIS {
            assert!(a.min_version >= 0 && a.min_version <= a.max_version, "{a:?}");
        }
    }

    /// kafka-protocol must be able to decode every advertised request version
    /// and encode every advertised response version.
    #[test]
    fn every_range_lies_within_what_kafka_protocol_knows() {
        for a in SUPPORTED_APIS {
            let known = a.api_key.valid_versions();
            assert!(
                known.min <= a.min_version && a.max_version <= known.max,
                "{:?} advertises {}-{} but kafka-protocol knows {}-{}",
                a.api_key,
                a.min_version,
                a.max_version,
                known.min,
                known.max
            );
        }
    }

    /// The ranges of Apache Kafka 4.1 (module doc). A change here must be a
    /// deliberate change of the advertised release.
    #[test]
    fn table_matches_kafka_4_1() {
        let table: Vec<(i16, i16, i16)> =
            SUPPORTED_APIS.iter().map(|a| (a.api_key as i16, a.advertised_min_version, a.max_version)).collect();
        // InitProducerId: 4.1 marks v6 unstable, so it advertises 0-5.
        let kafka_4_1 =
            [(0, 0, 13), (1, 4, 18), (2, 1, 10), (3, 0, 13), (18, 0, 4), (19, 2, 7), (20, 1, 6), (32, 1, 4), (33, 0, 2), (37, 0, 3), (21, 0, 2), (22, 0, 5), (44, 0, 1), (60, 0, 2),
             (10, 0, 6), (11, 0, 9), (14, 0, 5), (12, 0, 4), (13, 0, 5), (8, 2, 9), (9, 1, 9), (47, 0, 0), (16, 0, 5), (15, 0, 6), (42, 0, 2),
             (24, 0, 5), (25, 0, 4), (26, 0, 5), (28, 0, 5), (61, 0, 0), (65, 0, 0), (66, 0, 2),
             (17, 0, 1), (36, 0, 2), (50, 0, 0), (51, 0, 0), (29, 1, 3), (30, 1, 3), (31, 1, 3)];
        assert_eq!(table, kafka_4_1);
    }

    #[test]
    fn librdkafka_and_kafkajs_versions_are_inside_the_ranges() {
        // librdkafka 1.x needs ApiVersions 0; kafkajs sends only non-flexible versions.
        let needed = [
            (ApiKey::ApiVersions, 0),
            (ApiKey::ApiVersions, 2),
            (ApiKey::Metadata, 6),
            (ApiKey::CreateTopics, 3),
            (ApiKey::DeleteTopics, 1),
            (ApiKey::DescribeConfigs, 2),
            (ApiKey::CreatePartitions, 1),
        ];
        for (key, version) in needed {
            assert!(is_supported(key, version), "{key:?} v{version}");
        }
    }

    #[test]
    fn is_supported_checks_both_ends() {
        assert!(is_supported(ApiKey::CreateTopics, 2));
        assert!(is_supported(ApiKey::CreateTopics, 7));
        assert!(!is_supported(ApiKey::CreateTopics, 1));
        assert!(!is_supported(ApiKey::CreateTopics, 8));
        assert!(is_supported(ApiKey::Produce, 9));
        assert!(!is_supported(ApiKey::Produce, 2), "advertised for librdkafka, but not served (as in Kafka 4)");
        assert!(!is_supported(ApiKey::OffsetCommit, 1), "removed in Kafka 4.0");
        assert!(!is_supported(ApiKey::OffsetCommit, 10), "unstable in Kafka 4.1");
    }

    #[test]
    fn api_versions_response_lists_the_table() {
        let body = api_versions_response(0);
        assert_eq!(body.error_code, 0);
        assert_eq!(body.api_keys.len(), SUPPORTED_APIS.len());
        for (listed, a) in body.api_keys.iter().zip(SUPPORTED_APIS) {
            assert_eq!((listed.api_key, listed.min_version, listed.max_version), (a.api_key as i16, a.advertised_min_version, a.max_version));
        }
    }

    #[test]
    fn unsupported_api_versions_response_lists_only_its_own_range() {
        let body = unsupported_api_versions_response();
        assert_eq!(body.error_code, UNSUPPORTED_VERSION);
        let listed: Vec<_> = body.api_keys.iter().map(|v| (v.api_key, v.min_version, v.max_version)).collect();
        assert_eq!(listed, [(18, 0, 4)]);
    }

    #[test]
    fn client_software_names_follow_kafkas_pattern() {
        use kafka_protocol::protocol::StrBytes;
        let request = |name: &'static str, version: &'static str| {
            ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str(name))
                .with_client_software_version(StrBytes::from_static_str(version))
        };
        for (name, version) in [("apache-kafka-java", "4.1.0"), ("librdkafka", "2.15.0"), ("a", "1")] {
            assert!(api_versions_request_is_valid(3, &request(name, version)), "{name} {version}");
        }
        for (name, version) in [("", "1"), ("x", ""), ("-x", "1"), ("x.", "1"), ("x y", "1"), ("x", "1+local")] {
            assert!(!api_versions_request_is_valid(4, &request(name, version)), "{name} {version}");
            assert!(api_versions_request_is_valid(2, &request(name, version)), "v0-2 carry no names");
        }
    }
}
