//! The coordinator's transitions with a controllable clock and an in-memory
//! `__transaction_state`: every answer, what is written, the markers asked
//! for, fencing, timeouts, failed writes, and a restart in each state.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::txn::metadata::TxnState::*;

const TIMEOUT: i32 = 60_000;

/// `__transaction_state` in memory, with failure injection.
#[derive(Default)]
struct Log {
    records: Vec<(String, Option<Transit>)>,
    fail_writes: Option<ResponseError>,
    fail_ids: bool,
    next_producer_id: i64,
}

impl Effects for Log {
    fn write(&mut self, transactional_id: &str, state: Option<&Transit>) -> Result<(), ResponseError> {
        if let Some(error) = self.fail_writes {
            return Err(error);
        }
        self.records.push((transactional_id.to_string(), state.cloned()));
        Ok(())
    }

    fn allocate_producer_id(&mut self) -> Result<i64, ResponseError> {
        if self.fail_ids {
            return Err(ResponseError::KafkaStorageError);
        }
        self.next_producer_id += 1;
        Ok(999 + self.next_producer_id)
    }
}

struct H {
    c: TxnCoordinator,
    log: Log,
    now: i64,
    jobs: Vec<MarkerJob>,
}

fn parts(list: &[(&str, i32)]) -> BTreeSet<TopicPartition> {
    list.iter().map(|(t, p)| (t.to_string(), *p)).collect()
}

impl H {
    fn new() -> Self {
        Self::with(TxnConfig { max_timeout_ms: 900_000, transactional_id_expiration_ms: 3_600_000, expiration_check_interval_ms: 60_000 })
    }

    fn with(config: TxnConfig) -> Self {
        H { c: TxnCoordinator::new(config), log: Log::default(), now: 1_000_000, jobs: Vec::new() }
    }

    fn init(&mut self, id: &str, timeout: i32, expected: Option<(i64, i16)>) -> ProducerResult {
        let (result, jobs) = self.c.init_producer_id(&mut self.log, id, timeout, expected, self.now);
        self.jobs.extend(jobs);
        result
    }

    /// A fresh producer: InitProducerId answered with (id, epoch).
    fn producer(&mut self, id: &str) -> (i64, i16) {
        self.init(id, TIMEOUT, None).unwrap()
    }

    fn add(&mut self, id: &str, (pid, epoch): (i64, i16), partitions: &[(&str, i32)]) -> Result<(), ResponseError> {
        self.c.add_partitions(&mut self.log, id, pid, epoch, &parts(partitions), self.now)
    }

    fn end(&mut self, id: &str, (pid, epoch): (i64, i16), commit: bool) -> ProducerResult {
        let (result, jobs) = self.c.end_txn(&mut self.log, id, pid, epoch, commit, self.now);
        self.jobs.extend(jobs);
        result
    }

    fn tick(&mut self) {
        let jobs = self.c.tick(&mut self.log, self.now);
        self.jobs.extend(jobs);
    }

    /// Every pending marker job is written and completed.
    fn markers_done(&mut self) -> Vec<MarkerJob> {
        let jobs = std::mem::take(&mut self.jobs);
        for job in &jobs {
            self.c.markers_written(&mut self.log, job).unwrap();
        }
        jobs
    }

    fn state(&self, id: &str) -> TxnState {
        self.c.get(id).unwrap().state
    }

    fn last_written(&self) -> &Transit {
        self.log.records.last().unwrap().1.as_ref().unwrap()
    }

    /// A new coordinator loaded from the log, as after a crash; returns the markers it restarts.
    fn restart(&mut self) -> Vec<MarkerJob> {
        let mut c = TxnCoordinator::new(TxnConfig::default());
        for (id, state) in self.log.records.clone() {
            c.load(id, state);
        }
        let jobs = c.finish_load(self.now);
        self.c = c;
        self.jobs = jobs.clone();
        jobs
    }
}

#[test]
fn a_new_transactional_id_gets_a_producer_id_at_epoch_zero() {
    let mut h = H::new();
    assert_eq!(h.producer("tx"), (1000, 0));
    let written = h.last_written();
    assert_eq!((written.state, written.producer_id, written.producer_epoch, written.timeout_ms), (Empty, 1000, 0, TIMEOUT));
    assert!(written.partitions.is_empty() && written.start_timestamp_ms == -1);
    // Initializing again (a restarted producer) bumps the epoch, same id.
    assert_eq!(h.producer("tx"), (1000, 1));
    assert_eq!(h.producer("other"), (1001, 0));
}

#[test]
fn invalid_init_requests_are_refused() {
    let mut h = H::new();
    assert_eq!(h.init("", TIMEOUT, None), Err(ResponseError::InvalidRequest));
    assert_eq!(h.init("tx", 0, None), Err(ResponseError::InvalidTransactionTimeout));
    assert_eq!(h.init("tx", 900_001, None), Err(ResponseError::InvalidTransactionTimeout), "transaction.max.timeout.ms");
    assert_eq!(h.init("tx", 900_000, None), Ok((1000, 0)));
    h.log.fail_ids = true;
    assert_eq!(h.init("new", TIMEOUT, None), Err(ResponseError::KafkaStorageError));
    assert!(h.c.get("new").is_none());
    assert!(h.log.records.len() == 1, "nothing written for refused requests");
}

#[test]
fn commit_writes_prepare_then_markers_then_complete() {
    let mut h = H::new();
    let p = h.producer("tx");
    h.add("tx", p, &[("a", 0)]).unwrap();
    assert_eq!((h.state("tx"), h.last_written().start_timestamp_ms), (Ongoing, h.now));
    h.now += 10;
    h.add("tx", p, &[("b", 1), ("a", 0)]).unwrap();
    let written = h.log.records.len();
    h.add("tx", p, &[("b", 1)]).unwrap();
    assert_eq!(h.log.records.len(), written, "partitions already in the transaction: nothing written");
    assert_eq!(h.end("tx", p, true), Ok(p));
    assert_eq!(h.last_written().state, PrepareCommit);
    assert_eq!(h.last_written().partitions, parts(&[("a", 0), ("b", 1)]));
    assert_eq!(h.state("tx"), PrepareCommit);
    assert_eq!(h.jobs.len(), 1);
    assert_eq!((h.jobs[0].commit, h.jobs[0].producer_id, h.jobs[0].producer_epoch), (true, p.0, p.1));
    assert_eq!(h.jobs[0].partitions, parts(&[("a", 0), ("b", 1)]));
    // Until the markers are written, the id is busy.
    assert_eq!(h.add("tx", p, &[("c", 0)]), Err(ResponseError::ConcurrentTransactions));
    assert_eq!(h.end("tx", p, true), Err(ResponseError::ConcurrentTransactions));
    assert_eq!(h.init("tx", TIMEOUT, None), Err(ResponseError::ConcurrentTransactions));
    assert_eq!(h.c.verify_partitions("tx", p.0, p.1, &[("a".into(), 0)]), Err(ResponseError::ConcurrentTransactions));
    h.markers_done();
    let complete = h.last_written();
    assert_eq!((complete.state, complete.partitions.len(), complete.start_timestamp_ms), (CompleteCommit, 0, 1_000_000));
    assert_eq!(h.state("tx"), CompleteCommit);
    // A retried EndTxn succeeds; the opposite outcome is invalid.
    assert_eq!(h.end("tx", p, true), Ok(p));
    assert_eq!(h.end("tx", p, false), Err(ResponseError::InvalidTxnState));
    // The next transaction begins afresh.
    h.now += 100;
    h.add("tx", p, &[("c", 0)]).unwrap();
    assert_eq!((h.state("tx"), h.c.get("tx").unwrap().start_timestamp_ms), (Ongoing, h.now));
}

#[test]
fn abort_writes_prepare_abort_then_markers_then_complete() {
    let mut h = H::new();
    let p = h.producer("tx");
    h.add("tx", p, &[("a", 0)]).unwrap();
    assert_eq!(h.end("tx", p, false), Ok(p));
    assert_eq!((h.last_written().state, h.jobs[0].commit), (PrepareAbort, false));
    assert_eq!(h.end("tx", p, false), Err(ResponseError::ConcurrentTransactions));
    h.markers_done();
    assert_eq!(h.state("tx"), CompleteAbort);
    assert_eq!(h.end("tx", p, false), Ok(p));
    assert_eq!(h.end("tx", p, true), Err(ResponseError::InvalidTxnState));
}

#[test]
fn end_txn_checks_the_producer_and_the_state() {
    let mut h = H::new();
    let p = h.producer("tx");
    assert_eq!(h.end("", p, true), Err(ResponseError::InvalidRequest));
    assert_eq!(h.end("unknown", p, true), Err(ResponseError::InvalidProducerIdMapping));
    assert_eq!(h.end("tx", (p.0 + 1, p.1), true), Err(ResponseError::InvalidProducerIdMapping));
    assert_eq!(h.end("tx", (p.0, p.1 + 1), true), Err(ResponseError::ProducerFenced), "a client's epoch must be the current one");
    assert_eq!(h.end("tx", p, true), Err(ResponseError::InvalidTxnState), "nothing to commit in Empty");
    assert_eq!(h.end("tx", p, false), Err(ResponseError::InvalidTxnState));
    assert!(h.jobs.is_empty());
}

#[test]
fn add_partitions_checks_the_producer() {
    let mut h = H::new();
    let p = h.producer("tx");
    assert_eq!(h.add("", p, &[("a", 0)]), Err(ResponseError::InvalidRequest));
    assert_eq!(h.add("unknown", p, &[("a", 0)]), Err(ResponseError::InvalidProducerIdMapping));
    assert_eq!(h.add("tx", (7, 0), &[("a", 0)]), Err(ResponseError::InvalidProducerIdMapping));
    assert_eq!(h.add("tx", (p.0, 3), &[("a", 0)]), Err(ResponseError::ProducerFenced));
    assert_eq!(h.state("tx"), Empty);
}

#[test]
fn a_new_producer_fences_the_old_one_and_aborts_its_transaction() {
    let mut h = H::new();
    let old = h.producer("tx");
    h.add("tx", old, &[("a", 0), ("b", 0)]).unwrap();
    // The new producer's first try aborts the open transaction with a bumped epoch.
    assert_eq!(h.init("tx", TIMEOUT, None), Err(ResponseError::ConcurrentTransactions));
    let prepare = h.last_written().clone();
    assert_eq!((prepare.state, prepare.producer_epoch, prepare.last_producer_epoch), (PrepareAbort, old.1 + 1, -1));
    assert_eq!(h.jobs.len(), 1);
    assert_eq!((h.jobs[0].commit, h.jobs[0].producer_epoch), (false, old.1 + 1), "markers fence the old epoch in every partition");
    assert_eq!(h.jobs[0].partitions, parts(&[("a", 0), ("b", 0)]));
    assert_eq!(h.init("tx", TIMEOUT, None), Err(ResponseError::ConcurrentTransactions), "still aborting");
    // The old producer is fenced everywhere.
    assert_eq!(h.end("tx", old, true), Err(ResponseError::ProducerFenced));
    h.markers_done();
    assert_eq!(h.state("tx"), CompleteAbort);
    assert_eq!(h.add("tx", old, &[("a", 0)]), Err(ResponseError::ProducerFenced));
    assert_eq!(h.end("tx", old, false), Err(ResponseError::ProducerFenced));
    // The retry succeeds with the epoch after the fence's.
    let new = h.producer("tx");
    assert_eq!(new, (old.0, old.1 + 2));
    assert_eq!(h.c.verify_partitions("tx", old.0, old.1, &[("a".into(), 0)]), Err(ResponseError::ProducerFenced));
}

#[test]
fn kip_360_resumes_retries_and_fences_by_the_expected_epoch() {
    let mut h = H::new();
    let p = h.producer("tx");
    // Resuming with the current id and epoch bumps it.
    assert_eq!(h.init("tx", TIMEOUT, Some(p)), Ok((p.0, p.1 + 1)));
    // A retry of that call (its answer lost) gets the same answer.
    assert_eq!(h.init("tx", TIMEOUT, Some(p)), Ok((p.0, p.1 + 1)));
    // Another id, or an older epoch, is fenced.
    assert_eq!(h.init("tx", TIMEOUT, Some((p.0 + 5, 0))), Err(ResponseError::ProducerFenced));
    h.producer("tx"); // a new producer: the last epoch is forgotten
    assert_eq!(h.init("tx", TIMEOUT, Some((p.0, p.1 + 1))), Err(ResponseError::ProducerFenced));
}

#[test]
fn an_exhausted_epoch_rotates_the_producer_id() {
    let mut h = H::new();
    let stored = Transit {
        producer_id: 500,
        previous_producer_id: -1,
        producer_epoch: i16::MAX - 2,
        last_producer_epoch: -1,
        timeout_ms: TIMEOUT,
        state: CompleteCommit,
        partitions: BTreeSet::new(),
        start_timestamp_ms: 1,
        last_update_timestamp_ms: 1,
    };
    h.c.load("tx".into(), Some(stored));
    assert_eq!(h.producer("tx"), (500, i16::MAX - 1), "the last epoch a client may use");
    // Now exhausted: a new producer id at epoch 0.
    assert_eq!(h.init("tx", TIMEOUT, Some((500, i16::MAX - 1))), Ok((1000, 0)));
    assert_eq!(h.c.get("tx").unwrap().previous_producer_id, 500);
    // A retry with the old id and exhausted epoch gets the same answer.
    assert_eq!(h.init("tx", TIMEOUT, Some((500, i16::MAX - 1))), Ok((1000, 0)));
    assert_eq!(h.init("tx", TIMEOUT, Some((500, 7))), Err(ResponseError::ProducerFenced));
}

#[test]
fn fencing_at_the_last_epoch_leads_to_a_new_producer_id() {
    let mut h = H::new();
    let stored = Transit {
        producer_id: 500,
        previous_producer_id: -1,
        producer_epoch: i16::MAX - 1,
        last_producer_epoch: -1,
        timeout_ms: TIMEOUT,
        state: Ongoing,
        partitions: parts(&[("a", 0)]),
        start_timestamp_ms: h.now,
        last_update_timestamp_ms: h.now,
    };
    h.c.load("tx".into(), Some(stored));
    h.c.finish_load(h.now);
    assert_eq!(h.init("tx", TIMEOUT, None), Err(ResponseError::ConcurrentTransactions));
    assert_eq!(h.jobs[0].producer_epoch, i16::MAX, "the fence uses the one epoch kept for it");
    h.markers_done();
    assert_eq!(h.producer("tx"), (1000, 0));
}

#[test]
fn transactions_time_out_and_their_producer_is_fenced() {
    let mut h = H::new();
    let p = h.init("tx", 1000, None).unwrap();
    h.add("tx", p, &[("a", 0)]).unwrap();
    assert_eq!(h.c.next_deadline(), Some(h.now + 1000));
    h.now += 999;
    h.tick();
    assert!(h.jobs.is_empty());
    assert_eq!(h.state("tx"), Ongoing);
    h.now += 1;
    h.tick();
    assert_eq!(h.state("tx"), PrepareAbort);
    assert_eq!((h.jobs.len(), h.jobs[0].commit, h.jobs[0].producer_epoch), (1, false, p.1 + 1));
    h.markers_done();
    assert_eq!(h.state("tx"), CompleteAbort);
    assert_eq!(h.end("tx", p, true), Err(ResponseError::ProducerFenced));
    assert_eq!(h.add("tx", p, &[("a", 0)]), Err(ResponseError::ProducerFenced));
}

#[test]
fn a_transaction_that_ended_does_not_time_out() {
    let mut h = H::new();
    let p = h.init("tx", 1000, None).unwrap();
    h.add("tx", p, &[("a", 0)]).unwrap();
    h.end("tx", p, true).unwrap();
    h.markers_done();
    h.now += 5000;
    h.tick();
    assert!(h.jobs.is_empty());
    assert_eq!(h.state("tx"), CompleteCommit);
    // The next transaction gets its own deadline.
    h.add("tx", p, &[("a", 0)]).unwrap();
    h.now += 999;
    h.tick();
    assert_eq!(h.state("tx"), Ongoing);
}

#[test]
fn failed_writes_change_nothing_and_a_failed_fence_is_not_bumped_again() {
    let mut h = H::new();
    let p = h.producer("tx");
    h.log.fail_writes = Some(ResponseError::NotCoordinator);
    assert_eq!(h.add("tx", p, &[("a", 0)]), Err(ResponseError::NotCoordinator));
    assert_eq!((h.state("tx"), h.c.get("tx").unwrap().pending), (Empty, None));
    h.log.fail_writes = None;
    h.add("tx", p, &[("a", 0)]).unwrap();
    h.log.fail_writes = Some(ResponseError::CoordinatorNotAvailable);
    assert_eq!(h.end("tx", p, true), Err(ResponseError::CoordinatorNotAvailable));
    assert_eq!(h.state("tx"), Ongoing);
    assert!(h.jobs.is_empty());
    // A fence whose write fails: the epoch was bumped in memory but never returned.
    assert_eq!(h.init("tx", TIMEOUT, None), Err(ResponseError::CoordinatorNotAvailable));
    let txn = h.c.get("tx").unwrap();
    assert_eq!((txn.state, txn.producer_epoch, txn.has_failed_epoch_fence, txn.pending), (Ongoing, p.1 + 1, true, None));
    h.log.fail_writes = None;
    assert_eq!(h.init("tx", TIMEOUT, None), Err(ResponseError::ConcurrentTransactions));
    assert_eq!(h.jobs[0].producer_epoch, p.1 + 1, "no second bump");
    h.markers_done();
    assert!(!h.c.get("tx").unwrap().has_failed_epoch_fence);
    assert_eq!(h.producer("tx"), (p.0, p.1 + 2));
    // A first InitProducerId whose write fails leaves an id with no epoch.
    h.log.fail_writes = Some(ResponseError::NotCoordinator);
    assert_eq!(h.init("fresh", TIMEOUT, None), Err(ResponseError::NotCoordinator));
    assert_eq!(h.c.get("fresh").unwrap().producer_epoch, -1);
    h.log.fail_writes = None;
    assert_eq!(h.producer("fresh").1, 0);
}

#[test]
fn a_completion_that_cannot_be_written_stays_pending_and_is_retried() {
    let mut h = H::new();
    let p = h.producer("tx");
    h.add("tx", p, &[("a", 0)]).unwrap();
    h.end("tx", p, true).unwrap();
    let job = h.jobs.pop().unwrap();
    h.log.fail_writes = Some(ResponseError::NotCoordinator);
    assert_eq!(h.c.markers_written(&mut h.log, &job), Err(ResponseError::NotCoordinator));
    assert_eq!((h.state("tx"), h.c.get("tx").unwrap().pending), (PrepareCommit, Some(CompleteCommit)));
    h.log.fail_writes = None;
    h.c.markers_written(&mut h.log, &job).unwrap();
    assert_eq!(h.state("tx"), CompleteCommit);
    // A stale job (the id moved on) completes nothing.
    h.c.markers_written(&mut h.log, &job).unwrap();
    assert_eq!(h.state("tx"), CompleteCommit);
}

#[test]
fn verification_says_which_partitions_are_in_the_transaction() {
    let mut h = H::new();
    let p = h.producer("tx");
    let ab = [("a".to_string(), 0), ("b".to_string(), 0)];
    assert_eq!(h.c.verify_partitions("tx", p.0, p.1, &ab), Ok(vec![Err(ResponseError::TransactionAbortable); 2]));
    h.add("tx", p, &[("a", 0)]).unwrap();
    assert_eq!(h.c.verify_partitions("tx", p.0, p.1, &ab), Ok(vec![Ok(()), Err(ResponseError::TransactionAbortable)]));
    assert_eq!(h.c.verify_partitions("tx", p.0, p.1 + 1, &ab), Err(ResponseError::ProducerFenced));
    assert_eq!(h.c.verify_partitions("tx", p.0 + 1, p.1, &ab), Err(ResponseError::InvalidProducerIdMapping));
    assert_eq!(h.c.verify_partitions("nope", p.0, p.1, &ab), Err(ResponseError::InvalidProducerIdMapping));
    assert_eq!(h.c.verify_partitions("", p.0, p.1, &ab), Err(ResponseError::InvalidRequest));
}

#[test]
fn a_restart_in_each_state_resumes_it() {
    // Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, and an expired id.
    let mut h = H::new();
    let empty = h.producer("empty");
    let ongoing = h.init("ongoing", 1000, None).unwrap();
    h.add("ongoing", ongoing, &[("o", 0)]).unwrap();
    for (id, commit) in [("commit", true), ("abort", false), ("completed-commit", true), ("completed-abort", false)] {
        let p = h.producer(id);
        h.add(id, p, &[("x", 1), ("y", 2)]).unwrap();
        h.end(id, p, commit).unwrap();
    }
    // Only the completed ones got their markers before the crash.
    let jobs = std::mem::take(&mut h.jobs);
    for job in jobs.iter().filter(|j| j.transactional_id.starts_with("completed")) {
        h.c.markers_written(&mut h.log, job).unwrap();
    }
    h.log.records.push(("expired".into(), None));
    let restarted = h.restart();
    let summary: Vec<(&str, bool)> = restarted.iter().map(|j| (j.transactional_id.as_str(), j.commit)).collect();
    assert_eq!(summary, vec![("abort", false), ("commit", true)], "decided transactions complete after a restart");
    assert!(restarted.iter().all(|j| j.partitions == parts(&[("x", 1), ("y", 2)])));
    for (id, state) in [("empty", Empty), ("ongoing", Ongoing), ("commit", PrepareCommit), ("abort", PrepareAbort), ("completed-commit", CompleteCommit), ("completed-abort", CompleteAbort)] {
        assert_eq!(h.state(id), state, "{id}");
    }
    assert!(h.c.get("expired").is_none());
    // The decided ones are busy until their markers are written again.
    let commit = (h.c.get("commit").unwrap().producer_id, h.c.get("commit").unwrap().producer_epoch);
    assert_eq!(h.end("commit", commit, true), Err(ResponseError::ConcurrentTransactions));
    h.markers_done();
    assert_eq!((h.state("commit"), h.state("abort")), (CompleteCommit, CompleteAbort));
    assert_eq!(h.end("commit", commit, true), Ok(commit));
    // The producers carry on: epochs survived the restart.
    h.add("empty", empty, &[("e", 0)]).unwrap();
    // The open transaction kept its deadline and times out.
    h.now += 1000;
    h.tick();
    assert_eq!(h.state("ongoing"), PrepareAbort);
    assert_eq!(h.jobs[0].producer_epoch, ongoing.1 + 1);
    // Restarting again in Ongoing with a producer still there: it can commit.
    h.markers_done();
    let p = h.producer("again");
    h.add("again", p, &[("z", 0)]).unwrap();
    h.restart();
    assert_eq!(h.end("again", p, true), Ok(p));
}

#[test]
fn idle_transactional_ids_expire() {
    let mut h = H::with(TxnConfig { max_timeout_ms: 900_000, transactional_id_expiration_ms: 10_000, expiration_check_interval_ms: 1000 });
    let p = h.producer("idle");
    let busy = h.producer("busy");
    h.add("busy", busy, &[("a", 0)]).unwrap();
    h.tick(); // arms the expiration check
    h.now += 10_000;
    h.tick();
    assert!(h.c.get("idle").is_none(), "expired");
    assert_eq!(h.log.records.last().unwrap(), &("idle".to_string(), None), "tombstoned");
    assert!(h.c.get("busy").is_some(), "an open transaction never expires");
    // An expired id starts over with a new producer id.
    assert_eq!(h.producer("idle"), (1002, 0));
    assert_ne!(p.0, 1002);
}

#[test]
fn describe_and_list_show_the_transactions() {
    let mut h = H::new();
    let a = h.producer("a");
    h.add("a", a, &[("t", 1), ("t", 0), ("u", 3)]).unwrap();
    let b = h.producer("b");
    let described = h.c.describe("a");
    assert_eq!(described.error_code, 0);
    assert_eq!((described.transaction_state.as_str(), described.producer_id.0, described.producer_epoch), ("Ongoing", a.0, 0));
    assert_eq!((described.transaction_timeout_ms, described.transaction_start_time_ms), (TIMEOUT, h.now));
    let topics: Vec<(String, Vec<i32>)> = described.topics.iter().map(|t| (t.topic.0.to_string(), t.partitions.clone())).collect();
    assert_eq!(topics, vec![("t".to_string(), vec![0, 1]), ("u".to_string(), vec![3])]);
    assert_eq!(h.c.describe("nope").error_code, ResponseError::TransactionalIdNotFound.code());
    assert_eq!(h.c.describe("").error_code, ResponseError::InvalidRequest.code());
    let list = |h: &H, states: &[&str], pids: &[i64], duration: i64, pattern: Option<&dyn Fn(&str) -> bool>| {
        let states: Vec<String> = states.iter().map(|s| s.to_string()).collect();
        let filter = ListFilter { states: &states, producer_ids: pids, min_duration_ms: duration, transactional_id: pattern };
        let (listed, unknown) = h.c.list(&filter, h.now + 500);
        (listed.iter().map(|t| format!("{}:{}:{}", t.transactional_id.0, t.producer_id.0, t.transaction_state)).collect::<Vec<_>>(), unknown)
    };
    let all = vec![format!("a:{}:Ongoing", a.0), format!("b:{}:Empty", b.0)];
    assert_eq!(list(&h, &[], &[], -1, None), (all, vec![]));
    assert_eq!(list(&h, &["Ongoing", "Bogus"], &[], -1, None), (vec![format!("a:{}:Ongoing", a.0)], vec!["Bogus".to_string()]));
    assert_eq!(list(&h, &[], &[b.0], -1, None).0, vec![format!("b:{}:Empty", b.0)]);
    assert_eq!(list(&h, &["Ongoing"], &[], 499, None).0.len(), 1, "running longer than 499 ms");
    assert_eq!(list(&h, &["Ongoing"], &[], 500, None).0.len(), 0);
    let only_b = |id: &str| id == "b";
    assert_eq!(list(&h, &[], &[], -1, Some(&only_b)).0, vec![format!("b:{}:Empty", b.0)]);
}
