//! Graceful shutdown: SIGTERM makes the broker exit with code 0 within 5 s,
//! even with client connections open; with many partitions, only the logs
//! appended to get a new producer snapshot, and restarts (clean or after
//! SIGKILL) bring back every log with its records and producer state.

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use strom_tests::StromProcess;

#[test]
fn sigterm_exits_zero_within_five_seconds() {
    let mut broker = StromProcess::start().expect("start strom");
    // An idle connection and one that just got an answer: neither may hold
    // shutdown up.
    let _idle = broker.connect().expect("connect");
    let mut active = broker.connect().expect("connect");
    active.metadata_all(12).expect("metadata before shutdown");

    let started = Instant::now();
    let status = broker
        .terminate(Duration::from_secs(5))
        .expect("exit after SIGTERM");
    let took = started.elapsed();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status} after SIGTERM; log:\n{}",
        broker.log_tail(20)
    );
    eprintln!("strom exited 0 {took:?} after SIGTERM");
}

/// SIGTERM while producers hammer the broker (acks=all with `flush.messages=1`,
/// and acks=1): the broker answers the requests it has read, exits 0, writes
/// the clean-shutdown marker, and the next start skips recovery; every
/// acknowledged record is there, each batch once and in order.
#[test]
fn sigterm_under_load_finishes_requests_and_shuts_down_cleanly() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use strom_tests::records;

    const RECORDS: i32 = 2;
    let data = tempfile::Builder::new().prefix("strom-shutdown-").tempdir().unwrap();
    let mut broker = StromProcess::start_in(data.path()).expect("start strom");
    {
        let mut conn = broker.connect().unwrap();
        records::create_topic(&mut conn, "load-durable", 2, &[("flush.messages", "1")]).unwrap();
        records::create_topic(&mut conn, "load-default", 2, &[]).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut producers = Vec::new();
    for (topic, acks) in [("load-durable", -1i16), ("load-default", 1)] {
        for partition in 0..2 {
            let (addr, stop) = (broker.addr(), Arc::clone(&stop));
            producers.push(((topic, partition), std::thread::spawn(move || {
                let mut conn = strom_tests::KafkaConnection::connect(addr).unwrap();
                let producer = records::init_producer_id(&mut conn).unwrap();
                let mut acked = 0;
                while !stop.load(Ordering::Acquire) && acked < 1_000_000 {
                    let values: Vec<Vec<u8>> = (0..RECORDS).map(|i| format!("{acked}:{i}").into_bytes()).collect();
                    let batch = records::batch(producer, acked * RECORDS, &values).unwrap();
                    match records::produce(&mut conn, topic, partition, acks, batch) {
                        Ok(p) => {
                            assert_eq!(p.error_code, 0, "{topic}-{partition}: {p:?}");
                            acked += 1;
                        }
                        // The connection closed between requests: the shutdown.
                        Err(_) => break,
                    }
                }
                acked
            })));
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    let status = broker.terminate(Duration::from_secs(10)).expect("exit after SIGTERM");
    stop.store(true, Ordering::Release);
    assert_eq!(status.code(), Some(0), "log:\n{}", broker.log_tail(20));
    assert!(broker.log().contains("shut down cleanly"), "log:\n{}", broker.log_tail(20));
    assert!(data.path().join(".strom_cleanshutdown").exists(), "the clean-shutdown marker");
    let acked: Vec<((&str, i32), i32)> = producers.into_iter().map(|(k, h)| (k, h.join().unwrap())).collect();
    drop(broker);

    let broker = StromProcess::start_in(data.path()).expect("restart");
    assert!(!broker.log().contains("will be recovered"), "a clean start skips recovery:\n{}", broker.log_tail(20));
    let mut conn = broker.connect().unwrap();
    for ((topic, partition), acknowledged) in acked {
        let read = records::fetch_all(&mut conn, topic, partition, 0).unwrap();
        let expected: Vec<Vec<u8>> = (0..acknowledged).flat_map(|n| (0..RECORDS).map(move |i| format!("{n}:{i}").into_bytes())).collect();
        // The request the broker read last may have been answered after the producer gave up on it.
        let values: Vec<Vec<u8>> = read.into_iter().map(|(_, v)| v).collect();
        assert!(
            values.len() == expected.len() || values.len() == expected.len() + RECORDS as usize,
            "{topic}-{partition}: {} records, {} acknowledged", values.len(), expected.len()
        );
        assert!(values[..expected.len()] == expected[..], "{topic}-{partition}: every acknowledged record, in order, once");
        assert!(acknowledged > 10, "{topic}-{partition}: load was running ({acknowledged} batches)");
    }
}

/// A topic of many partitions, a few written by an idempotent producer:
/// SIGTERM closes every log, writing a producer snapshot only for the
/// written ones; the next start opens them all (in parallel) with their
/// records and producer state (a retried batch is a duplicate); a second
/// clean shutdown with nothing appended rewrites no snapshot; and a start
/// after SIGKILL recovers the same from the logs.
#[test]
fn many_partitions_restart_with_their_records_and_producer_state() {
    use strom_tests::records;

    const PARTITIONS: i32 = 500;
    const WRITTEN: [i32; 4] = [0, 1, 250, 499];
    let data = tempfile::Builder::new().prefix("strom-many-").tempdir().unwrap();
    // The producer snapshots of every partition that has one, with their modification times.
    let snapshots = || -> Vec<(i32, String, std::time::SystemTime)> {
        let mut found = Vec::new();
        for partition in 0..PARTITIONS {
            for entry in std::fs::read_dir(data.path().join(format!("many-{partition}"))).unwrap() {
                let entry = entry.unwrap();
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".snapshot") {
                    found.push((partition, name, entry.metadata().unwrap().modified().unwrap()));
                }
            }
        }
        found.sort();
        found
    };
    let stop_cleanly = |mut broker: StromProcess, what: &str| {
        let status = broker.terminate(Duration::from_secs(60)).expect("exit after SIGTERM");
        assert_eq!(status.code(), Some(0), "{what}; log:\n{}", broker.log_tail(20));
        assert!(data.path().join(".strom_cleanshutdown").exists(), "{what}: the clean-shutdown marker");
        let found = snapshots();
        let snapshotted: Vec<i32> = found.iter().map(|(p, _, _)| *p).collect();
        assert_eq!(snapshotted, WRITTEN, "{what}: only the written logs have a producer snapshot");
        found
    };

    let broker = StromProcess::start_in(data.path()).expect("start strom");
    let mut conn = broker.connect().unwrap();
    records::create_topic(&mut conn, "many", PARTITIONS, &[]).unwrap();
    let producer = records::init_producer_id(&mut conn).unwrap();
    let batches: Vec<(i32, bytes::Bytes)> =
        WRITTEN.iter().map(|&p| (p, records::batch(producer, 0, &[format!("p{p}").into_bytes()]).unwrap())).collect();
    for (partition, batch) in &batches {
        let produced = records::produce(&mut conn, "many", *partition, -1, batch.clone()).unwrap();
        assert_eq!((produced.error_code, produced.base_offset), (0, 0), "partition {partition}");
    }
    drop(conn);
    let check = |broker: &StromProcess, after: &str| {
        let mut conn = broker.connect().unwrap();
        let metadata = conn.metadata_all(12).unwrap();
        let topic = metadata.topics.iter().find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some("many")).expect("topic many");
        assert_eq!(topic.partitions.len(), PARTITIONS as usize, "after {after}");
        assert!(topic.partitions.iter().all(|p| p.error_code == 0), "after {after}: every log opened");
        for (partition, batch) in &batches {
            let expected = vec![(0, format!("p{partition}").into_bytes())];
            assert_eq!(records::fetch_all(&mut conn, "many", *partition, 0).unwrap(), expected, "after {after}");
            let retry = records::produce(&mut conn, "many", *partition, -1, batch.clone()).unwrap();
            assert_eq!((retry.error_code, retry.base_offset), (0, 0), "after {after}: a duplicate of offset 0");
            assert_eq!(records::fetch_all(&mut conn, "many", *partition, 0).unwrap(), expected, "after {after}: not written again");
        }
        assert!(records::fetch_all(&mut conn, "many", 2, 0).unwrap().is_empty(), "after {after}");
    };

    let first = stop_cleanly(broker, "SIGTERM");
    let broker = StromProcess::start_in(data.path()).expect("restart");
    assert!(!broker.log().contains("will be recovered"), "a clean start skips recovery:\n{}", broker.log_tail(20));
    check(&broker, "a clean restart");
    let again = stop_cleanly(broker, "SIGTERM with nothing appended");
    assert_eq!(again, first, "no snapshot rewritten");
    let broker = StromProcess::start_in(data.path()).expect("restart");
    check(&broker, "a second clean restart");
    drop(broker); // SIGKILL
    let broker = StromProcess::start_in(data.path()).expect("restart after SIGKILL");
    assert!(broker.log().contains("will be recovered"), "an unclean start recovers:\n{}", broker.log_tail(20));
    check(&broker, "SIGKILL");
}
