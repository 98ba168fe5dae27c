//! Several listeners from the environment, as docker-compose.yml configures
//! them: each connection learns the advertised address of the listener it came
//! in through (Kafka returns the endpoints of the request's listener), so host
//! clients and containers each get an address they can reach.

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;

use strom_tests::process::free_port;
use strom_tests::StromProcess;

#[test]
fn each_listener_advertises_its_own_address() {
    let host_port = free_port().expect("port");
    let internal_port = free_port().expect("port");
    let listeners =
        format!("PLAINTEXT_HOST://127.0.0.1:{host_port},PLAINTEXT://127.0.0.1:{internal_port}");
    let advertised =
        format!("PLAINTEXT_HOST://localhost:{host_port},PLAINTEXT://kafka:{internal_port}");
    let host_addr: SocketAddr = ([127, 0, 0, 1], host_port).into();
    let broker = StromProcess::start_with_listeners(
        &[
            ("STROM_LISTENERS", &listeners),
            ("STROM_ADVERTISED_LISTENERS", &advertised),
        ],
        host_addr,
    )
    .expect("start strom with two listeners");

    for (port, expected_host) in [(host_port, "localhost"), (internal_port, "kafka")] {
        let mut conn =
            strom_tests::KafkaConnection::connect(([127, 0, 0, 1], port).into()).expect("connect");
        let metadata = conn.metadata_all(12).expect("metadata");
        let brokers: Vec<(i32, &str, i32)> = metadata
            .brokers
            .iter()
            .map(|b| (b.node_id.0, b.host.as_str(), b.port))
            .collect();
        assert_eq!(
            brokers,
            [(1, expected_host, i32::from(port))],
            "brokers seen through port {port}"
        );
    }

    // The contract's startup line, once per listener.
    let log = broker.log();
    for (port, advertised) in [
        (host_port, format!("localhost:{host_port}")),
        (internal_port, format!("kafka:{internal_port}")),
    ] {
        let line = format!("listening on 127.0.0.1:{port} (advertised as {advertised})");
        assert!(log.contains(&line), "log lacks {line:?}:\n{log}");
    }
}
