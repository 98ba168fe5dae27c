#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a failed unwrap is a failed test")]

use kafka_protocol::messages::fetch_response::{AbortedTransaction, EpochEndOffset, LeaderIdAndEpoch, NodeEndpoint, SnapshotId};
use kafka_protocol::messages::{BrokerId, ProducerId, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::*;

fn records(len: usize, seed: u8) -> Bytes {
    Bytes::from((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect::<Vec<_>>())
}

fn partition(index: i32, records: Option<Bytes>) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_high_watermark(1_000_000 + i64::from(index))
        .with_last_stable_offset(999_000)
        .with_log_start_offset(12)
        .with_records(records)
}

/// Responses as the broker's Fetch handler builds them: data (small, inlined,
/// and large, shared), empty and null records, errors, aborted transactions
/// null, empty and listed, several topics.
fn samples(version: i16) -> Vec<FetchResponse> {
    let name = |n: &'static str| if version < 13 { TopicName(StrBytes::from_static_str(n)) } else { TopicName::default() };
    let id = |n: u8| if version >= 13 { uuid::Uuid::from_bytes([n; 16]) } else { uuid::Uuid::nil() };
    let topic = |n: &'static str, i: u8, partitions: Vec<PartitionData>| {
        FetchableTopicResponse::default().with_topic(name(n)).with_topic_id(id(i)).with_partitions(partitions)
    };
    let aborted = vec![
        AbortedTransaction::default().with_producer_id(ProducerId(7)).with_first_offset(100),
        AbortedTransaction::default().with_producer_id(ProducerId(-9)).with_first_offset(i64::MAX),
    ];
    let session = if version >= 7 { 1234 } else { 0 };
    let preferred = if version >= 11 { BrokerId(3) } else { BrokerId(-1) };
    vec![
        FetchResponse::default(),
        FetchResponse::default().with_throttle_time_ms(17).with_error_code(if version >= 7 { 45 } else { 0 }).with_session_id(session),
        FetchResponse::default().with_responses(vec![topic("t", 1, vec![partition(0, Some(records(16 * 1024, 1)))])]),
        FetchResponse::default().with_responses(vec![topic("t", 1, vec![partition(0, Some(records(100, 2)))])]),
        FetchResponse::default().with_responses(vec![topic("t", 1, vec![partition(0, Some(records(INLINE_RECORDS_BYTES, 2)))])]),
        FetchResponse::default().with_responses(vec![topic("t", 1, vec![partition(0, Some(records(INLINE_RECORDS_BYTES - 1, 2)))])]),
        FetchResponse::default().with_responses(vec![topic("t", 1, vec![partition(0, Some(Bytes::new())), partition(1, None)])]),
        FetchResponse::default().with_responses(vec![
            topic("orders", 1, vec![
                partition(0, Some(records(300_000, 3))).with_aborted_transactions(Some(aborted.clone())),
                partition(1, Some(records(10, 4))).with_aborted_transactions(Some(Vec::new())),
                partition(2, Some(Bytes::new())).with_error_code(1).with_high_watermark(-1),
                partition(3, Some(records(4096, 5))).with_preferred_read_replica(preferred),
            ]),
            topic("", 2, vec![]),
            topic("a-topic-name-of-some-length_with.dots", 3, (0..20).map(|i| partition(i, Some(records(700 + i as usize, 6)))).collect()),
        ])
        .with_throttle_time_ms(1)
        .with_session_id(session),
        // Every partition with a large batch: parts alternate header and records.
        FetchResponse::default().with_responses(vec![topic("t", 9, (0..6).map(|i| partition(i, Some(records(64 * 1024, i as u8)))).collect())]),
    ]
}

fn joined(parts: &[Bytes]) -> Vec<u8> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

fn kafka_protocol_encoding(version: i16, correlation_id: i32, body: &FetchResponse) -> Bytes {
    encode_response(ApiKey::Fetch, version, correlation_id, &ResponseKind::Fetch(body.clone())).unwrap()
}

#[test]
fn byte_identical_to_kafka_protocol_at_every_version() {
    for version in 4..=18 {
        for (i, body) in samples(version).iter().enumerate() {
            let parts = encode_fetch_response(version, 0x0102_0304 + i as i32, body).unwrap();
            let expected = kafka_protocol_encoding(version, 0x0102_0304 + i as i32, body);
            assert_eq!(joined(&parts), expected.as_ref(), "Fetch v{version}, sample {i}");
            assert!(parts.iter().all(|p| !p.is_empty()), "no empty part (v{version}, sample {i})");
        }
    }
}

#[test]
fn large_records_are_shared_not_copied() {
    let data = records(64 * 1024, 9);
    let body = FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
        .with_topic(TopicName(StrBytes::from_static_str("t")))
        .with_partitions(vec![partition(0, Some(data.clone())), partition(1, Some(data.clone()))])]);
    for version in [4, 11, 12, 18] {
        let parts = encode_fetch_response(version, 1, &body).unwrap();
        let shared: Vec<&Bytes> = parts.iter().filter(|p| p.as_ptr() == data.as_ptr()).collect();
        assert_eq!(shared.len(), 2, "v{version}: both partitions' records are the read buffer itself");
        // Header, records, partition 1's fields, records, and from v12 the tagged-field trailer.
        assert_eq!(parts.len(), if version >= 12 { 5 } else { 4 }, "v{version}");
    }
}

/// Records "apart" in tests: the bytes the writer would send.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Apart(Bytes);

impl RecordsApart for Apart {
    fn len(&self) -> usize {
        self.0.len()
    }
}

#[test]
fn records_apart_encode_as_their_length_and_a_part_of_their_own() {
    for version in 4..=18 {
        for (i, body) in samples(version).iter().enumerate() {
            // Every other partition with records sends them apart, whatever
            // their size; the body keeps none for those.
            let mut stripped = body.clone();
            let mut apart = Vec::new();
            for (n, p) in stripped.responses.iter_mut().flat_map(|t| t.partitions.iter_mut()).enumerate() {
                let taken = if n % 2 == 0 { p.records.take().map(Apart) } else { None };
                apart.push(taken);
            }
            let expected_apart: Vec<Apart> = apart.iter().flatten().cloned().collect();
            let parts = encode_fetch_response_apart(version, 77, &stripped, apart).unwrap();
            let got_apart: Vec<Apart> = parts.iter().filter_map(|p| if let FramePart::Records(r) = p { Some(r.clone()) } else { None }).collect();
            assert_eq!(got_apart, expected_apart, "v{version} sample {i}: each apart, in order");
            let wire: Vec<u8> = parts
                .iter()
                .flat_map(|p| match p {
                    FramePart::Bytes(b) => b.to_vec(),
                    FramePart::Records(Apart(b)) => b.to_vec(),
                })
                .collect();
            assert_eq!(wire, kafka_protocol_encoding(version, 77, body).as_ref(), "Fetch v{version}, sample {i}");
        }
    }
}

#[test]
fn records_apart_are_refused_where_kafka_protocol_must_encode() {
    let body = FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
        .with_topic(TopicName(StrBytes::from_static_str("t")))
        .with_partitions(vec![partition(0, None).with_diverging_epoch(EpochEndOffset::default().with_epoch(3).with_end_offset(9))])]);
    assert!(!encodes_records_apart(12, &body));
    assert!(encode_fetch_response_apart(12, 1, &body, vec![Some(Apart(records(10, 1)))]).is_err());
    assert_eq!(encode_fetch_response_apart::<Apart>(12, 1, &body, vec![None]).unwrap().len(), 1);
}

#[test]
fn small_responses_are_one_part() {
    let body = FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
        .with_topic(TopicName(StrBytes::from_static_str("t")))
        .with_partitions(vec![partition(0, Some(records(100, 1))), partition(1, Some(Bytes::new()))])]);
    assert_eq!(encode_fetch_response(12, 1, &body).unwrap().len(), 1);
}

#[test]
fn what_it_does_not_encode_goes_through_kafka_protocol() {
    let topic = |p: PartitionData| {
        FetchableTopicResponse::default().with_topic(TopicName(StrBytes::from_static_str("t"))).with_partitions(vec![p])
    };
    let big = || partition(0, Some(records(8192, 1)));
    let tagged: std::collections::BTreeMap<i32, Bytes> = [(99, Bytes::from_static(b"x"))].into_iter().collect();
    let cases = [
        FetchResponse::default().with_responses(vec![topic(big().with_diverging_epoch(EpochEndOffset::default().with_epoch(3).with_end_offset(9)))]),
        FetchResponse::default().with_responses(vec![topic(big().with_current_leader(LeaderIdAndEpoch::default().with_leader_id(BrokerId(1)).with_leader_epoch(2)))]),
        FetchResponse::default().with_responses(vec![topic(big().with_snapshot_id(SnapshotId::default().with_end_offset(5).with_epoch(1)))]),
        FetchResponse::default().with_responses(vec![topic(big().with_unknown_tagged_fields(tagged.clone()))]),
        FetchResponse::default().with_responses(vec![topic(big()).with_unknown_tagged_fields(tagged.clone())]),
        FetchResponse::default().with_responses(vec![topic(big())]).with_unknown_tagged_fields(tagged.clone()),
        FetchResponse::default()
            .with_responses(vec![topic(big())])
            .with_node_endpoints(vec![NodeEndpoint::default().with_node_id(BrokerId(1)).with_host(StrBytes::from_static_str("h")).with_port(9092)]),
    ];
    for version in 12..=18 {
        for (i, body) in cases.iter().enumerate() {
            let parts = encode_fetch_response(version, 5, body).unwrap();
            assert_eq!(parts.len(), 1, "v{version} case {i}: one kafka-protocol part");
            assert_eq!(parts[0], kafka_protocol_encoding(version, 5, body), "v{version} case {i}");
        }
    }
    // Fields a version lacks: kafka-protocol's refusal is kept.
    let replica = FetchResponse::default().with_responses(vec![topic(big().with_preferred_read_replica(BrokerId(2)))]);
    assert!(encode_fetch_response(10, 1, &replica).is_err());
    assert!(encode_fetch_response(6, 1, &FetchResponse::default().with_session_id(3)).is_err());
    assert!(encode_fetch_response(19, 1, &FetchResponse::default()).is_err());
    assert!(encode_fetch_response(3, 1, &FetchResponse::default()).is_err());
}

#[test]
fn varints_match_the_protocol() {
    for (value, expected) in [(0u64, vec![0u8]), (1, vec![1]), (127, vec![127]), (128, vec![0x80, 1]), (300, vec![0xac, 0x02]), (1 << 21, vec![0x80, 0x80, 0x80, 0x01])] {
        let mut buf = BytesMut::new();
        put_uvarint(&mut buf, value);
        assert_eq!(buf.as_ref(), expected.as_slice(), "{value}");
    }
}
