//! Requests captured from real clients, decoded as the broker decodes them.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use bytes::Bytes;
use strom_protocol::request::{decode_request, Decoded};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// librdkafka 2.16 (confluent-kafka 2.16.1) listing topics: Metadata v13
/// with an empty (not null) topic array.
#[test]
fn librdkafka_metadata_v13_decodes() {
    let frame = hex("0003000d00000002000772646b61666b610001000000");
    let decoded = decode_request(Bytes::from(frame));
    assert!(matches!(decoded, Ok(Decoded::Request(_))), "{decoded:?}");
}

/// librdkafka 2.16 asking for all topics: Metadata v13 whose null topic list
/// is followed by three stray bytes (Kafka ignores them; so must we).
#[test]
fn librdkafka_metadata_v13_all_topics_with_stray_bytes_decodes() {
    let frame = hex("0003000d00000003000772646b61666b610000000000010000");
    match decode_request(Bytes::from(frame)) {
        Ok(Decoded::Request(request)) => {
            assert_eq!(request.trailing_bytes, 3);
            let kafka_protocol::messages::RequestKind::Metadata(body) = request.body else { panic!() };
            assert_eq!(body.topics, None, "null: all topics");
        }
        other => panic!("{other:?}"),
    }
}
