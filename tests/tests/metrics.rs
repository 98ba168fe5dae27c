//! The operator's endpoint on a real strom: GET /metrics shows requests and
//! errors by API and error code, latency histograms, bytes in and out,
//! connections, flush latency, per-partition offsets and size, and consumer
//! group lag, with the values the traffic made; GET /health answers 200.

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use strom_tests::process::free_port;
use strom_tests::records;
use strom_tests::StromProcess;

/// (status line, body) of `GET path` (a test-side HTTP/1.0 client).
fn get(port: u16, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

/// The value of the series `name{labels}` (labels as written, sorted by the encoder).
fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[test]
fn metrics_and_health_tell_what_the_broker_did() {
    let port = free_port().unwrap();
    let listen = format!("127.0.0.1:{port}");
    let broker = StromProcess::start_with_env(&[("STROM_METRICS_LISTEN", &listen)]).expect("start strom");
    let mut conn = broker.connect().unwrap();
    records::create_topic(&mut conn, "observed", 1, &[("flush.messages", "1")]).unwrap();
    let producer = records::init_producer_id(&mut conn).unwrap();
    for n in 0..3 {
        let batch = records::batch(producer, n, &[b"v".to_vec()]).unwrap();
        assert_eq!(records::produce(&mut conn, "observed", 0, -1, batch).unwrap().error_code, 0);
    }
    let batch = records::batch(producer, 3, &[b"v".to_vec()]).unwrap();
    assert_eq!(records::produce(&mut conn, "observed", 7, -1, batch).unwrap().error_code, 3, "no partition 7");
    records::commit_offset(&mut conn, "watchers", "observed", 0, 1).unwrap();
    // A frame with a negative size: the broker closes that connection.
    let mut bad = TcpStream::connect(broker.addr()).unwrap();
    bad.write_all(&[0xff; 4]).unwrap();
    bad.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let closed = bad.read(&mut [0u8; 8]).map_or_else(|e| !strom_tests::client::is_timeout(&e), |n| n == 0);
    assert!(closed, "the connection with a negative frame size is closed");

    let (status, health) = get(port, "/health");
    assert_eq!((status.contains(" 200 "), health.as_str()), (true, "ok\n"), "{status}");
    let (status, m) = get(port, "/metrics");
    assert!(status.contains(" 200 "), "{status}");
    let series = |s: &str| value(&m, s).unwrap_or_else(|| panic!("no {s} in:\n{m}"));
    assert_eq!(series(r#"strom_requests_total{api="Produce"}"#), 4.0);
    assert_eq!(series(r#"strom_request_errors_total{api="Produce",error="UNKNOWN_TOPIC_OR_PARTITION"}"#), 1.0);
    assert_eq!(series(r#"strom_request_duration_seconds_count{api="Produce"}"#), 4.0);
    assert!(m.contains(r#"strom_request_duration_seconds_bucket{le="0.0001",api="Produce"}"#) || m.contains(r#"strom_request_duration_seconds_bucket{api="Produce",le="0.0001"}"#), "a latency histogram:\n{m}");
    assert!(series("strom_network_received_bytes_total") > 200.0);
    assert!(series("strom_network_sent_bytes_total") > 100.0);
    assert!(series(r#"strom_connections{listener="PLAINTEXT"}"#) >= 1.0);
    assert_eq!(series(r#"strom_connections_closed_total{reason="bad_frame"}"#), 1.0);
    assert_eq!(series("strom_log_flush_duration_seconds_count"), 3.0, "one fsync per acks=all produce with flush.messages=1");
    assert_eq!(series(r#"strom_partition_log_end_offset{topic="observed",partition="0"}"#), 3.0);
    assert_eq!(series(r#"strom_partition_high_watermark{topic="observed",partition="0"}"#), 3.0);
    assert_eq!(series(r#"strom_partition_log_start_offset{topic="observed",partition="0"}"#), 0.0);
    assert!(series(r#"strom_partition_size_bytes{topic="observed",partition="0"}"#) > 150.0);
    assert_eq!(series(r#"strom_partition_offline{topic="observed",partition="0"}"#), 0.0);
    assert_eq!(series(r#"strom_consumer_group_lag{group="watchers",topic="observed",partition="0"}"#), 2.0);
    assert!(m.trim_end().ends_with("# EOF"));
    // Every metric the Grafana dashboard queries exists.
    let dashboard = std::fs::read_to_string(strom_tests::process::workspace_root().join("docs/grafana/strom-dashboard.json")).unwrap();
    let mut queried: Vec<&str> = dashboard.match_indices("strom_").map(|(i, _)| {
        let rest = &dashboard[i..];
        &rest[..rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len())]
    }).filter(|name| name.len() > "strom_".len() && *name != "strom_broker").collect();
    queried.sort_unstable();
    queried.dedup();
    assert!(queried.len() >= 10, "{queried:?}");
    for name in queried {
        let base = ["_total", "_bucket", "_count", "_sum"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name);
        assert!(m.contains(&format!("# TYPE {base} ")), "the dashboard queries {name}, which /metrics lacks");
    }
    let (status, _) = get(port, "/nothing");
    assert!(status.contains(" 404 "), "{status}");
}
