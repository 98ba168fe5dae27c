//! The crash loop: idempotent producers with acks=all write numbered batches
//! to two topics, one with `flush.messages=1` (every acknowledged batch
//! fsynced) and one with the default flush policy (the promise is "survives a
//! process crash": the page cache outlives the process), while a consumer reads
//! one partition and commits its position. The broker is killed with SIGKILL
//! at random moments, at least 20 times, and restarted on the same data.
//!
//! After every restart the consumer resumes from its committed offset (the
//! last acknowledged commit, or the one in flight at the kill), and it finds
//! every batch exactly once and in order from there. At the end each partition
//! holds batches 0..n, each once, in order, and every acknowledged one.
//! Segments roll every 50 ms, so kills land between a roll and its fsync.
//!
//! A producer retries a batch until it is acknowledged, with the same
//! sequence, as a real idempotent producer does (one request in flight): a
//! duplicate after a crash must be recognised from the recovered producer
//! state. `STROM_CRASH_LOOP_KILLS` sets the number of kills (default 20).

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use strom_tests::records;
use strom_tests::{KafkaConnection, StromProcess};

const DURABLE: &str = "crash-durable";
const DEFAULT: &str = "crash-default";
const PARTITIONS: i32 = 2;
const RECORDS_PER_BATCH: i32 = 4;
const GROUP: &str = "crash-loop-consumer";
/// Upper bound on the whole loop, so a hang fails instead of stalling CI.
const DEADLINE: Duration = Duration::from_secs(240);
/// Kafka's OUT_OF_ORDER_SEQUENCE_NUMBER: the broker lost a batch it acknowledged.
const OUT_OF_ORDER_SEQUENCE: i16 = 45;
const DUPLICATE_SEQUENCE: i16 = 46;

/// The value of record `i` of batch `n`.
fn value(n: i32, i: i32) -> Vec<u8> {
    format!("{n:08}:{i}").into_bytes()
}

fn batch_number(value: &[u8]) -> (i32, i32) {
    let text = std::str::from_utf8(value).unwrap();
    let (n, i) = text.split_once(':').unwrap();
    (n.parse().unwrap(), i.parse().unwrap())
}

/// Where the broker is now (each restart listens on a new port).
#[derive(Clone)]
struct Target(Arc<Mutex<SocketAddr>>);

impl Target {
    fn connect(&self) -> Option<KafkaConnection> {
        let addr = *self.0.lock().unwrap();
        let conn = KafkaConnection::connect(addr).ok()?;
        conn.set_response_timeout(Duration::from_secs(10)).ok()?;
        Some(conn)
    }
}

/// Produces batches 0, 1, 2, ... to one partition until `stop`, each retried
/// until acknowledged. Returns how many were acknowledged.
fn producer(target: Target, topic: &'static str, partition: i32, stop: Arc<AtomicBool>, retries: Arc<AtomicU64>) -> i32 {
    let mut conn = None;
    let mut id = None;
    let mut next = 0;
    while !stop.load(Ordering::Acquire) {
        let Some(c) = conn.as_mut() else {
            conn = target.connect();
            if conn.is_none() {
                std::thread::sleep(Duration::from_millis(10));
            }
            continue;
        };
        // The producer id is kept across broker restarts, as a client keeps it.
        if id.is_none() {
            match records::init_producer_id(c) {
                Ok(pid) => id = Some(pid),
                Err(_) => conn = None,
            }
            continue;
        }
        let values: Vec<Vec<u8>> = (0..RECORDS_PER_BATCH).map(|i| value(next, i)).collect();
        let batch = records::batch(id.unwrap(), next * RECORDS_PER_BATCH, &values).unwrap();
        match records::produce(c, topic, partition, -1, batch) {
            Ok(p) if p.error_code == 0 || p.error_code == DUPLICATE_SEQUENCE => next += 1,
            Ok(p) => {
                assert_ne!(p.error_code, OUT_OF_ORDER_SEQUENCE, "{topic}-{partition}: batch {next} out of order: {p:?}");
                retries.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => {
                retries.fetch_add(1, Ordering::Relaxed);
                conn = None;
            }
        }
    }
    next
}

/// Checks that `records` (offset, value) continue batch `next_batch` densely:
/// each batch once, its records in order. Returns the next batch expected.
fn check_dense(what: &str, records: &[(i64, Vec<u8>)], mut next_batch: i32, mut next_record: i32) -> (i32, i32) {
    for (offset, value) in records {
        let (n, i) = batch_number(value);
        assert_eq!((n, i), (next_batch, next_record), "{what}: at offset {offset}, expected batch {next_batch} record {next_record}");
        next_record += 1;
        if next_record == RECORDS_PER_BATCH {
            next_batch += 1;
            next_record = 0;
        }
    }
    (next_batch, next_record)
}

/// Reads `DURABLE`-0 from its committed offset, checks every record, commits
/// after each read. After a reconnect (a restart) the committed offset must be
/// the last acknowledged commit or the one that was in flight. Returns how
/// many times it resumed from a committed offset.
fn consumer(target: Target, stop: Arc<AtomicBool>) -> u32 {
    let mut conn: Option<KafkaConnection> = None;
    let (mut acked_commit, mut in_flight): (i64, Option<i64>) = (0, None);
    let mut position: Option<i64> = None;
    let mut resumed = 0;
    while !stop.load(Ordering::Acquire) {
        let Some(c) = conn.as_mut() else {
            conn = target.connect();
            position = None;
            if conn.is_none() {
                std::thread::sleep(Duration::from_millis(10));
            }
            continue;
        };
        let Some(from) = position else {
            match records::fetch_offset(c, GROUP, DURABLE, 0) {
                Ok(committed) => {
                    let committed = committed.max(0);
                    assert!(
                        committed == acked_commit || Some(committed) == in_flight,
                        "resumed at {committed}: the last acknowledged commit was {acked_commit}, in flight {in_flight:?}"
                    );
                    acked_commit = committed;
                    in_flight = None;
                    position = Some(committed);
                    resumed += 1;
                }
                // The coordinator may still be loading its offsets, or the broker died again.
                Err(_) => {
                    conn = None;
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            continue;
        };
        // Offsets are batch-aligned: a committed offset starts a batch.
        let start = (i32::try_from(from).unwrap() / RECORDS_PER_BATCH, i32::try_from(from).unwrap() % RECORDS_PER_BATCH);
        let read = match records::fetch_all(c, DURABLE, 0, from) {
            Ok(read) => read,
            Err(_) => {
                conn = None;
                continue;
            }
        };
        check_dense("consumer", &read, start.0, start.1);
        let Some(&(last, _)) = read.last() else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let end = last + 1;
        in_flight = Some(end);
        match records::commit_offset(c, GROUP, DURABLE, 0, end) {
            Ok(()) => {
                acked_commit = end;
                in_flight = None;
                position = Some(end);
            }
            Err(_) => conn = None,
        }
    }
    resumed
}

#[test]
fn acknowledged_records_survive_repeated_kill_9() {
    let kills: u32 = std::env::var("STROM_CRASH_LOOP_KILLS").ok().and_then(|k| k.parse().ok()).unwrap_or(20);
    let started = Instant::now();
    let data = tempfile::Builder::new().prefix("strom-crash-loop-").tempdir().unwrap();
    let mut broker = StromProcess::start_in(data.path()).expect("start strom");
    {
        let mut conn = broker.connect().unwrap();
        // A roll every 50 ms: most kills find segments rolled and not fsynced
        // yet (the flush of rolled segments runs once a second), so recovery
        // checks several segments and may meet a roll's snapshot unsynced.
        records::create_topic(&mut conn, DURABLE, PARTITIONS, &[("flush.messages", "1"), ("segment.ms", "50")]).unwrap();
        records::create_topic(&mut conn, DEFAULT, PARTITIONS, &[("segment.ms", "50")]).unwrap();
    }
    let target = Target(Arc::new(Mutex::new(broker.addr())));
    let stop = Arc::new(AtomicBool::new(false));
    let retries = Arc::new(AtomicU64::new(0));
    let mut producers = Vec::new();
    for topic in [DURABLE, DEFAULT] {
        for partition in 0..PARTITIONS {
            let (target, stop, retries) = (target.clone(), Arc::clone(&stop), Arc::clone(&retries));
            producers.push(((topic, partition), std::thread::spawn(move || producer(target, topic, partition, stop, retries))));
        }
    }
    let consumer = {
        let (target, stop) = (target.clone(), Arc::clone(&stop));
        std::thread::spawn(move || consumer(target, stop))
    };

    let mut rng = rand::rng();
    for kill in 0..kills {
        assert!(started.elapsed() < DEADLINE, "the crash loop took too long ({kill} kills)");
        std::thread::sleep(Duration::from_millis(rng.random_range(100..500)));
        broker = broker.kill_and_restart().unwrap_or_else(|e| panic!("restart after kill {kill}: {e:#}"));
        *target.0.lock().unwrap() = broker.addr();
    }
    // Let every producer get at least one acknowledgement after the last restart.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Release);
    let acked: HashMap<(&str, i32), i32> = producers.into_iter().map(|(key, handle)| (key, handle.join().unwrap())).collect();
    let resumed = consumer.join().unwrap();

    // One last crash before checking: nothing acknowledged may be lost to it either.
    let broker = broker.kill_and_restart().unwrap();
    let mut conn = broker.connect().unwrap();
    for (&(topic, partition), &acknowledged) in &acked {
        let read = records::fetch_all(&mut conn, topic, partition, 0).unwrap();
        let (batches, partial) = check_dense(&format!("{topic}-{partition}"), &read, 0, 0);
        assert_eq!(partial, 0, "{topic}-{partition}: a batch was cut");
        // The batch in flight when the producer stopped may have landed too.
        assert!(
            batches == acknowledged || batches == acknowledged + 1,
            "{topic}-{partition}: {batches} batches in the log, {acknowledged} acknowledged"
        );
        assert!(acknowledged > 20, "{topic}-{partition}: only {acknowledged} batches acknowledged");
    }
    assert!(resumed > kills / 3, "the consumer resumed from committed offsets {resumed} times");
    eprintln!(
        "crash loop: {kills} kills in {:?}; acknowledged batches {acked:?}; {} retries; consumer resumed {resumed} times",
        started.elapsed(),
        retries.load(Ordering::Relaxed)
    );
}
