//! SASL on a real broker, byte for byte as Kafka's `SaslServerAuthenticator`
//! answers: only ApiVersions and SaslHandshake before authentication, an
//! unsupported mechanism gets UNSUPPORTED_SASL_MECHANISM with the enabled
//! list, a wrong password SASL_AUTHENTICATION_FAILED with Kafka's message,
//! then the connection closes; a client that never finishes is cut off; the
//! v0 handshake's bare tokens work; and mutated SCRAM exchanges never hurt
//! the broker.

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::{MetadataRequest, SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use rand::{Rng, SeedableRng};
use strom_tests::client::{encode_request, size_prefixed};
use strom_tests::process::free_port;
use strom_tests::{KafkaConnection, StromProcess};

const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const ILLEGAL_SASL_STATE: i16 = 34;
const SASL_AUTHENTICATION_FAILED: i16 = 58;

struct Broker {
    _process: StromProcess,
    sasl: SocketAddr,
}

fn start() -> Broker {
    let plain_port = free_port().expect("port");
    let sasl_port = free_port().expect("port");
    let listeners = format!("PLAINTEXT://127.0.0.1:{plain_port},SASL_PLAINTEXT://127.0.0.1:{sasl_port}");
    let process = StromProcess::start_with_listeners(
        &[
            ("STROM_LISTENERS", &listeners),
            ("STROM_SASL_USERS", "alice:alice-secret"),
            ("STROM_AUTHENTICATION_TIMEOUT_MS", "1000"),
            ("STROM_CONNECTION_FAILED_AUTHENTICATION_DELAY_MS", "10"),
            ("STROM_MAX_FAILED_AUTHENTICATIONS_PER_MINUTE", "0"),
        ],
        ([127, 0, 0, 1], plain_port).into(),
    )
    .expect("start strom with a SASL listener");
    Broker { _process: process, sasl: ([127, 0, 0, 1], sasl_port).into() }
}

fn handshake(conn: &mut KafkaConnection, mechanism: &'static str, version: i16) -> (i16, Vec<String>) {
    let r = conn
        .send(&SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism)), version)
        .expect("SaslHandshake");
    (r.error_code, r.mechanisms.iter().map(|m| m.to_string()).collect())
}

fn authenticate(conn: &mut KafkaConnection, token: &[u8]) -> (i16, Option<String>, Bytes) {
    let r = conn
        .send(&SaslAuthenticateRequest::default().with_auth_bytes(Bytes::copy_from_slice(token)), 2)
        .expect("SaslAuthenticate");
    (r.error_code, r.error_message.map(|m| m.to_string()), r.auth_bytes)
}

fn assert_closed(conn: &mut KafkaConnection) {
    conn.set_response_timeout(Duration::from_secs(5)).unwrap();
    assert!(matches!(conn.read_frame(), Ok(None) | Err(_)), "the broker should have closed the connection");
}

#[test]
fn requests_before_authentication_close_the_connection_unanswered() {
    let broker = start();
    let mut conn = KafkaConnection::connect(broker.sasl).unwrap();
    conn.api_versions(3).expect("ApiVersions is allowed before the handshake");
    let frame = encode_request(&MetadataRequest::default().with_topics(None), 12, 7).unwrap();
    conn.write_all(&frame).unwrap();
    assert_closed(&mut conn);
}

#[test]
fn plain_login_then_data_and_wrong_passwords_refused() {
    let broker = start();
    let mut conn = KafkaConnection::connect(broker.sasl).unwrap();
    let enabled = vec!["PLAIN".to_string(), "SCRAM-SHA-256".into(), "SCRAM-SHA-512".into()];
    assert_eq!(handshake(&mut conn, "PLAIN", 1), (0, enabled.clone()));
    let (code, _, token) = authenticate(&mut conn, b"\0alice\0alice-secret");
    assert_eq!((code, token.len()), (0, 0));
    conn.metadata_all(12).expect("metadata after login");
    // Authenticated: another SaslAuthenticate is ILLEGAL_SASL_STATE, as KafkaApis answers.
    assert_eq!(authenticate(&mut conn, b"x").0, ILLEGAL_SASL_STATE);

    let mut conn = KafkaConnection::connect(broker.sasl).unwrap();
    handshake(&mut conn, "PLAIN", 1);
    let (code, message, _) = authenticate(&mut conn, b"\0alice\0guess");
    assert_eq!((code, message.as_deref()), (SASL_AUTHENTICATION_FAILED, Some("Authentication failed: Invalid username or password")));
    assert_closed(&mut conn);

    let mut conn = KafkaConnection::connect(broker.sasl).unwrap();
    assert_eq!(handshake(&mut conn, "GSSAPI", 1), (UNSUPPORTED_SASL_MECHANISM, enabled));
    assert_closed(&mut conn);
}

#[test]
fn handshake_v0_exchanges_bare_tokens() {
    let broker = start();
    let mut conn = KafkaConnection::connect(broker.sasl).unwrap();
    assert_eq!(handshake(&mut conn, "PLAIN", 0).0, 0);
    conn.write_all(&size_prefixed(b"\0alice\0alice-secret")).unwrap();
    let answer = conn.read_frame().unwrap().expect("an empty bare token");
    assert!(answer.is_empty());
    conn.metadata_all(12).expect("metadata after a v0 login");
}

#[test]
fn a_client_that_never_finishes_is_cut_off() {
    let broker = start();
    let started = Instant::now();
    let mut conn = KafkaConnection::connect(broker.sasl).unwrap();
    handshake(&mut conn, "SCRAM-SHA-256", 1);
    // Nothing more: the broker's 1 s authentication timeout closes the connection.
    assert_closed(&mut conn);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(4), "closed after {waited:?}");
}

/// SCRAM exchanges with mutated and random tokens, bounded in count and time;
/// every answer is a response or a close, and a good login works afterwards.
#[test]
fn mutated_scram_exchanges_never_hurt_the_broker() {
    let broker = start();
    let seed: u64 = std::env::var("STROM_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("sasl fuzz: STROM_FUZZ_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let firsts: [&[u8]; 4] = [b"n,,n=alice,r=abcdef", b"n,a=alice,n=alice,r=x", b"n,,n=al=2Cice,r=y", b"n,,n=alice,r=z,ext=1"];
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut exchanges = 0;
    while exchanges < 300 && Instant::now() < deadline {
        exchanges += 1;
        let mut conn = KafkaConnection::connect(broker.sasl).unwrap();
        conn.set_response_timeout(Duration::from_secs(5)).unwrap();
        let mechanism = if rng.random_bool(0.5) { "SCRAM-SHA-256" } else { "SCRAM-SHA-512" };
        handshake(&mut conn, mechanism, 1);
        for step in 0..2 {
            let mut token = if step == 0 { firsts[rng.random_range(0..firsts.len())].to_vec() } else { b"c=biws,r=abcdef,p=AAAA".to_vec() };
            for _ in 0..rng.random_range(0..4) {
                match rng.random_range(0..3) {
                    0 if !token.is_empty() => {
                        let i = rng.random_range(0..token.len());
                        token[i] = rng.random();
                    }
                    1 => token.truncate(rng.random_range(0..=token.len())),
                    _ => token.extend((0..rng.random_range(0..64)).map(|_| rng.random::<u8>())),
                }
            }
            let frame = encode_request(&SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token)), 2, 2 + step).unwrap();
            if conn.write_all(&frame).is_err() {
                break;
            }
            match conn.read_frame() {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
    let mut conn = KafkaConnection::connect(broker.sasl).unwrap();
    handshake(&mut conn, "PLAIN", 1);
    assert_eq!(authenticate(&mut conn, b"\0alice\0alice-secret").0, 0, "after {exchanges} mutated exchanges");
}
