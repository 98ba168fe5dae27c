//! Graceful shutdown: SIGTERM makes the broker exit with code 0 within 5 s,
//! even with client connections open.

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
