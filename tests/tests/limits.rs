//! The configured limits against a real strom: connections in total and per
//! IP, request size per API, and what one batch may decompress to. Each test
//! is bounded in time (response timeouts of a few seconds).

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Read;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression as Kp, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use strom_storage::batch::{Compression, HEADER_BYTES, LOG_OVERHEAD};
use strom_tests::{records, KafkaConnection, StromProcess};

/// Whether the broker closed `conn`: a read sees the end (or a reset) within 5 s.
fn closed(conn: &KafkaConnection) -> bool {
    closed_within(conn, Duration::from_secs(5))
}

fn closed_within(conn: &KafkaConnection, timeout: Duration) -> bool {
    let mut stream = conn.stream().try_clone().unwrap();
    stream.set_read_timeout(Some(timeout)).unwrap();
    match stream.read(&mut [0u8; 1]) {
        Ok(n) => n == 0,
        Err(e) => !strom_tests::client::is_timeout(&e),
    }
}

#[test]
fn connections_beyond_the_per_ip_limit_are_closed_and_beyond_the_total_wait() {
    let broker = StromProcess::start_with_env(&[("STROM_MAX_CONNECTIONS_PER_IP", "3")]).expect("start strom");
    // The readiness check's connection is gone; wait until its slot is free.
    std::thread::sleep(Duration::from_millis(200));
    let mut held: Vec<KafkaConnection> = (0..3).map(|_| broker.connect().unwrap()).collect();
    for conn in &mut held {
        conn.api_versions(3).unwrap();
    }
    let fourth = broker.connect().unwrap();
    assert!(closed(&fourth), "a fourth connection from 127.0.0.1 is closed");
    drop(held.pop());
    std::thread::sleep(Duration::from_millis(200));
    broker.connect().unwrap().api_versions(3).expect("a freed slot takes a new connection");
    assert!(broker.log().contains("too many from this IP"), "{}", broker.log_tail(5));

    let broker = StromProcess::start_with_env(&[("STROM_MAX_CONNECTIONS", "2")]).expect("start strom");
    std::thread::sleep(Duration::from_millis(200));
    let mut held: Vec<KafkaConnection> = (0..2).map(|_| broker.connect().unwrap()).collect();
    for conn in &mut held {
        conn.api_versions(3).unwrap();
    }
    // The third is not closed: it waits to be accepted, and is served once one leaves.
    let mut third = broker.connect().unwrap();
    third.set_response_timeout(Duration::from_secs(10)).unwrap();
    let waiter = std::thread::spawn(move || third.api_versions(3).map(|r| r.error_code));
    std::thread::sleep(Duration::from_millis(500));
    assert!(!waiter.is_finished(), "a connection beyond max_connections is not served");
    drop(held.pop());
    assert_eq!(waiter.join().unwrap().expect("served once a slot is free"), 0);
}

fn metadata_for(topics: usize) -> MetadataRequest {
    let topic = |i: usize| MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from(format!("topic-{i:05}")))));
    MetadataRequest::default().with_topics(Some((0..topics).map(topic).collect())).with_allow_auto_topic_creation(false)
}

#[test]
fn a_request_above_its_apis_limit_closes_the_connection_and_others_keep_theirs() {
    let env = [("STROM_MAX_REQUEST_BYTES_PER_API", "Metadata=2048")];
    let broker = StromProcess::start_with_env(&env).expect("start strom");
    let mut conn = broker.connect().unwrap();
    conn.send(&metadata_for(10), 12).expect("a small Metadata request is answered");
    // About 8 KiB: within the 8 MiB of other APIs, above Metadata's 2 KiB.
    conn.set_response_timeout(Duration::from_secs(5)).unwrap();
    assert!(conn.send(&metadata_for(400), 12).is_err(), "a large Metadata request is not answered");
    assert!(closed(&conn), "and its connection is closed");
    assert!(broker.log().contains("request too large for its API"), "{}", broker.log_tail(5));
    let mut other = broker.connect().unwrap();
    records::create_topic(&mut other, "fine", 1, &[]).expect("other APIs keep the default limit");
}

/// One keyed record whose value is `value_bytes` zeros, as a gzip batch (a few KiB).
fn gzip_batch(value_bytes: usize) -> Bytes {
    let record = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: records::now_ms(),
        key: Some(Bytes::from_static(b"k")),
        value: Some(Bytes::from(vec![0u8; value_bytes])),
        headers: Default::default(),
    };
    let mut plain = BytesMut::new();
    RecordBatchEncoder::encode(&mut plain, &[record], &RecordEncodeOptions { version: 2, compression: Kp::None }).unwrap();
    let mut batch = plain[..HEADER_BYTES].to_vec();
    batch.extend(strom_storage::cleaner::codec::compress(Compression::Gzip, &plain[HEADER_BYTES..]).unwrap());
    batch[22] |= 1; // attributes, low byte: gzip
    let length = i32::try_from(batch.len() - LOG_OVERHEAD).unwrap();
    batch[8..12].copy_from_slice(&length.to_be_bytes());
    strom_storage::batch::update_crc(&mut batch);
    Bytes::from(batch)
}

#[test]
fn a_batch_decompressing_beyond_the_limit_is_refused_on_a_compacted_topic() {
    let broker = StromProcess::start_with_env(&[("STROM_MAX_DECOMPRESSED_BATCH_BYTES", "1048576")]).expect("start strom");
    let mut conn = broker.connect().unwrap();
    records::create_topic(&mut conn, "keys", 1, &[("cleanup.policy", "compact")]).unwrap();
    let bomb = gzip_batch(2 << 20);
    assert!(bomb.len() < 64 << 10, "the batch is small on the wire: {} bytes", bomb.len());
    let refused = records::produce(&mut conn, "keys", 0, 1, bomb).unwrap();
    assert_eq!(refused.error_code, 10, "MESSAGE_TOO_LARGE: {:?}", refused.error_message);
    let fits = records::produce(&mut conn, "keys", 0, 1, gzip_batch(512 << 10)).unwrap();
    assert_eq!((fits.error_code, fits.base_offset), (0, 0), "{:?}", fits.error_message);
}

/// The limits hold on a SASL listener too: the per-IP count includes its
/// connections, and an authenticated connection that goes quiet is closed
/// by the idle timeout (the authentication timeout no longer applies to it).
#[test]
fn limits_hold_on_sasl_listeners() {
    use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
    use strom_tests::process::free_port;
    let (plain_port, sasl_port) = (free_port().unwrap(), free_port().unwrap());
    let listeners = format!("PLAINTEXT://127.0.0.1:{plain_port},SASL_PLAINTEXT://127.0.0.1:{sasl_port}");
    let broker = StromProcess::start_with_listeners(
        &[
            ("STROM_LISTENERS", &listeners),
            ("STROM_SASL_USERS", "alice:alice-secret"),
            ("STROM_MAX_CONNECTIONS_PER_IP", "2"),
            ("STROM_CONNECTIONS_MAX_IDLE_MS", "1500"),
            ("STROM_AUTHENTICATION_TIMEOUT_MS", "60000"),
        ],
        ([127, 0, 0, 1], plain_port).into(),
    )
    .expect("start strom with a SASL listener");
    std::thread::sleep(Duration::from_millis(200)); // the readiness check's slot is freed
    let sasl = ([127, 0, 0, 1], sasl_port).into();
    let mut authed = KafkaConnection::connect(sasl).unwrap();
    let handshake = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN"));
    assert_eq!(authed.send(&handshake, 1).unwrap().error_code, 0);
    let login = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from_static(b"\0alice\0alice-secret"));
    assert_eq!(authed.send(&login, 2).unwrap().error_code, 0);
    authed.metadata_all(12).expect("served once authenticated");
    let _second = KafkaConnection::connect(sasl).unwrap();
    let third = KafkaConnection::connect(sasl).unwrap();
    // At once, not by the 1.5 s idle timeout.
    assert!(closed_within(&third, Duration::from_millis(1000)), "a third connection from 127.0.0.1 is closed");
    std::thread::sleep(Duration::from_millis(1000));
    assert!(closed(&authed), "the quiet authenticated connection is closed");
    let log = broker.log();
    assert!(log.contains("too many from this IP") && log.contains("closing idle connection"), "{}", broker.log_tail(8));
}
