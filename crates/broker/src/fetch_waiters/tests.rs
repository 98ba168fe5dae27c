use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{FetchWaiters, Woken};

fn tp(topic: &str, partition: i32) -> (String, i32) {
    (topic.to_string(), partition)
}

fn soon() -> Instant {
    Instant::now() + Duration::from_millis(50)
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

#[tokio::test]
async fn a_wake_reaches_only_the_waiters_of_its_partition() {
    let waiters = FetchWaiters::default();
    let on_a0 = waiters.register([tp("a", 0)]);
    let on_a1 = waiters.register([tp("a", 1), tp("b", 0)]);
    waiters.wake("a", 0);
    assert_eq!(on_a0.wait_until(far()).await, Woken::Changed);
    assert_eq!(on_a1.wait_until(soon()).await, Woken::Deadline, "a wake of a-0 must not reach a waiter on a-1 and b-0");
    waiters.wake("b", 0);
    assert_eq!(on_a1.wait_until(far()).await, Woken::Changed);
    assert_eq!(on_a0.wait_until(soon()).await, Woken::Deadline, "one wake, one permit");
}

#[tokio::test]
async fn a_wake_before_the_wait_is_not_lost() {
    let waiters = FetchWaiters::default();
    let registration = waiters.register([tp("t", 3)]);
    // The fetch reads the log here and finds nothing; the append lands now.
    waiters.wake("t", 3);
    let started = std::time::Instant::now();
    assert_eq!(registration.wait_until(far()).await, Woken::Changed);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_waiting_fetch_is_woken_by_a_later_append() {
    let waiters = Arc::new(FetchWaiters::default());
    let waker = Arc::clone(&waiters);
    let wake = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waker.wake_all([("x", 1), ("t", 0)]);
    });
    let registration = waiters.register([tp("t", 0)]);
    assert_eq!(registration.wait_until(far()).await, Woken::Changed);
    wake.await.unwrap();
}

#[tokio::test]
async fn entries_exist_only_while_someone_waits() {
    let waiters = FetchWaiters::default();
    assert_eq!(waiters.partitions_waited_on(), 0);
    let first = waiters.register([tp("t", 0), tp("t", 1), tp("t", 0)]);
    let second = waiters.register([tp("t", 1), tp("u", 0)]);
    assert_eq!(waiters.partitions_waited_on(), 3);
    drop(first);
    assert_eq!(waiters.partitions_waited_on(), 2, "t-1 keeps its other waiter");
    drop(second);
    assert_eq!(waiters.partitions_waited_on(), 0);
    assert!(waiters.lock().topics.is_empty(), "no empty topic maps left behind");
    // Wakes of partitions nobody waits on create nothing.
    waiters.wake("t", 0);
    waiters.wake_all([("t", 1), ("v", 0)]);
    assert_eq!(waiters.partitions_waited_on(), 0);
}

#[tokio::test]
async fn a_dropped_wait_leaves_the_registry_clean() {
    let waiters = FetchWaiters::default();
    {
        let registration = waiters.register([tp("t", 0)]);
        // The connection goes away mid-wait: the future is dropped.
        let _ = tokio::time::timeout(Duration::from_millis(10), registration.wait_until(far())).await;
    }
    assert_eq!(waiters.partitions_waited_on(), 0);
}

#[tokio::test]
async fn close_wakes_waiters_and_later_waits_return_at_once() {
    let waiters = Arc::new(FetchWaiters::default());
    let closer = Arc::clone(&waiters);
    let close = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        closer.close();
    });
    let registration = waiters.register([tp("t", 0)]);
    assert_eq!(registration.wait_until(far()).await, Woken::Closing);
    close.await.unwrap();
    let later = waiters.register([tp("u", 0)]);
    assert_eq!(later.wait_until(far()).await, Woken::Closing);
}

/// Fetches that register, check a log end offset and wait, racing producers
/// that move it and wake: every fetch sees the end it waits for within the
/// bound (a lost wakeup would leave one asleep until its 30 s deadline).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_wakeup_is_lost_under_concurrent_appends() {
    const FETCHES: i64 = 64;
    const APPENDS: i64 = 200;
    let waiters = Arc::new(FetchWaiters::default());
    let end = Arc::new(AtomicI64::new(0));
    let mut fetches = Vec::new();
    for i in 0..FETCHES {
        let (waiters, end) = (Arc::clone(&waiters), Arc::clone(&end));
        fetches.push(tokio::spawn(async move {
            // Each fetch waits for a different offset, as consumers at different positions.
            let target = (i * 7) % APPENDS + 1;
            let registration = waiters.register([tp("t", 0)]);
            let mut wakes = 0u32;
            loop {
                if end.load(Ordering::SeqCst) >= target {
                    return wakes;
                }
                match registration.wait_until(far()).await {
                    Woken::Changed => wakes += 1,
                    other => panic!("fetch for offset {target} ended with {other:?} at {}", end.load(Ordering::SeqCst)),
                }
            }
        }));
    }
    let producer = {
        let (waiters, end) = (Arc::clone(&waiters), Arc::clone(&end));
        tokio::spawn(async move {
            for _ in 0..APPENDS {
                end.fetch_add(1, Ordering::SeqCst);
                waiters.wake("t", 0);
                tokio::task::yield_now().await;
            }
        })
    };
    let all = async {
        producer.await.unwrap();
        for fetch in fetches {
            fetch.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(20), all).await.expect("a fetch missed its wakeup");
    assert_eq!(waiters.partitions_waited_on(), 0);
}
