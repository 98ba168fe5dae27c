#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is a failure report

//! Crash recovery of transactional state: a log of interleaved transactions of
//! several producers is "killed" at random points (a copy of its files, as a
//! kill -9 leaves them), files are torn as a lost page cache would leave them,
//! and every unclean open must rebuild exactly the last stable offset, aborted
//! transactions and producer state the live log had at the recovered end.

use std::collections::BTreeMap;
use std::path::Path;

use rand::{Rng, SeedableRng};

use super::*;
use crate::batch::test_support::{build, Spec};
use crate::config::LogConfig;
use crate::layout::{INDEX_SUFFIX, LOG_SUFFIX, SNAPSHOT_SUFFIX, TXN_INDEX_SUFFIX};
use crate::producer_state::ProducerEntry;

const NOW: i64 = 1_700_000_000_000;
const PRODUCERS: i64 = 4;

fn config() -> LogConfig {
    LogConfig { segment_bytes: 900, index_interval_bytes: 200, ..LogConfig::default() }
}

/// What must survive a crash, as of a log end offset.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    last_stable_offset: i64,
    aborted: Vec<AbortedTxn>,
    /// Per producer, without `last_timestamp` (append time live, batch time on replay).
    producers: Vec<Option<ProducerEntry>>,
}

fn state(log: &PartitionLog) -> State {
    let producers = (0..PRODUCERS)
        .map(|pid| log.producer_entry(pid).map(|e| ProducerEntry { last_timestamp: 0, ..e }))
        .collect();
    State { last_stable_offset: log.last_stable_offset(), aborted: log.aborted_transactions(0, i64::MAX).unwrap(), producers }
}

/// One random step: a plain batch, an idempotent or transactional batch, or a marker.
fn step(log: &PartitionLog, rng: &mut impl Rng, seqs: &mut [i32], epochs: &mut [i16]) {
    let pid = rng.random_range(0..PRODUCERS);
    let p = pid as usize;
    let open = log.open_transaction(pid).is_some();
    let roll = rng.random_range(0..10);
    if roll == 0 {
        log.append_records(&build(&Spec::with_records(rng.random_range(1..4))), 0, NOW).unwrap();
    } else if open && roll < 4 {
        let control_type = if rng.random_bool(0.5) { ControlRecordType::Abort } else { ControlRecordType::Commit };
        // Now and then the coordinator bumps the epoch as it aborts (a fenced zombie).
        if control_type == ControlRecordType::Abort && rng.random_bool(0.2) {
            epochs[p] += 1;
            seqs[p] = 0;
        }
        let marker = TxnMarker { producer_id: pid, producer_epoch: epochs[p], coordinator_epoch: 1, control_type };
        log.write_txn_marker(marker, 0, NOW).unwrap();
    } else {
        let n = rng.random_range(1..4);
        let transactional = open || rng.random_bool(0.7);
        let spec = Spec { transactional, ..Spec::with_records(n).idempotent(pid, epochs[p], seqs[p]) };
        log.append_records(&build(&spec), 0, NOW).unwrap();
        seqs[p] += n as i32;
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn files(dir: &Path, suffix: &str) -> Vec<(i64, std::path::PathBuf)> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name()?.to_str()?.to_owned();
            crate::layout::parse_offset_file(&name, suffix).map(|o| (o, path))
        })
        .collect();
    found.sort();
    found
}

fn cut(path: &Path, len: u64) {
    std::fs::OpenOptions::new().write(true).open(path).unwrap().set_len(len).unwrap();
}

/// Where a torn active segment file ends up after recovery: the end of the last
/// whole batch at or before `len` bytes.
fn recovered_end(segment: &Path, base: i64, len: u64) -> i64 {
    let bytes = std::fs::read(segment).unwrap();
    let mut end = base;
    for item in crate::batch::BatchScanner::new(&bytes[..len as usize]) {
        match item {
            Ok((_, header)) => end = header.next_offset(),
            Err(_) => break,
        }
    }
    end
}

#[test]
fn a_crash_at_any_point_recovers_the_same_transaction_state() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x7e57);
    let live_dir = tempfile::tempdir().unwrap();
    let crashes = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(live_dir.path(), config(), true).unwrap();
    let mut expected: BTreeMap<i64, State> = BTreeMap::new();
    expected.insert(0, state(&log));
    let (mut seqs, mut epochs) = (vec![0i32; PRODUCERS as usize], vec![0i16; PRODUCERS as usize]);
    let mut trials = 0;
    for n in 0..400 {
        step(&log, &mut rng, &mut seqs, &mut epochs);
        expected.insert(log.log_end_offset(), state(&log));
        if n % 4 != 3 {
            continue;
        }
        // Sometimes a clean snapshot first, as a clean shutdown and restart leaves one.
        if rng.random_bool(0.1) {
            log.snapshot_producers().unwrap();
        }
        // kill -9 now: the files as they are.
        let dir = crashes.path().join(format!("crash-{n}"));
        copy_dir(live_dir.path(), &dir);
        // The page cache lost some of the active segment, and of indexes written since.
        let (active_base, active) = files(&dir, LOG_SUFFIX).pop().unwrap();
        let len = std::fs::metadata(&active).unwrap().len();
        let kept = if rng.random_bool(0.3) { len } else { rng.random_range(0..=len) };
        cut(&active, kept);
        for (base, index) in files(&dir, TXN_INDEX_SUFFIX).into_iter().chain(files(&dir, INDEX_SUFFIX)) {
            let index_len = std::fs::metadata(&index).unwrap().len();
            // The active segment's indexes lose any tail; older ones were fsynced at roll.
            if base == active_base && index_len > 0 && rng.random_bool(0.5) {
                cut(&index, rng.random_range(0..index_len));
            }
        }
        if rng.random_bool(0.1) {
            // A torn newest snapshot (its rename is atomic, but test the fallback too).
            if let Some((_, snapshot)) = files(&dir, SNAPSHOT_SUFFIX).pop() {
                let snapshot_len = std::fs::metadata(&snapshot).unwrap().len();
                cut(&snapshot, snapshot_len / 2);
            }
        }
        let end = recovered_end(&active, active_base, kept);
        let recovered = PartitionLog::open(&dir, config(), false).unwrap();
        assert_eq!(recovered.log_end_offset(), end, "crash {n}");
        assert_eq!(state(&recovered), expected[&end], "crash {n}: cut the active segment at {kept} of {len} bytes");
        // And it goes on: a second crash right away, without the cut, agrees too.
        drop(recovered);
        let again = PartitionLog::open(&dir, config(), false).unwrap();
        assert_eq!(state(&again), expected[&end], "crash {n}, reopened");
        std::fs::remove_dir_all(&dir).unwrap();
        trials += 1;
    }
    assert!(log.segment_count() > 10, "{} segments", log.segment_count());
    assert!(expected.values().any(|s| !s.aborted.is_empty()), "some transactions aborted");
    assert!(expected.iter().filter(|(&end, s)| s.last_stable_offset < end).count() > 100, "transactions were open at most points");
    assert_eq!(trials, 100);
}

#[test]
fn recovery_finishes_open_transactions_the_same_way_as_the_live_log() {
    // After a crash, the coordinator completes the open transactions: the recovered
    // log must end up where the live one does.
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let live_dir = tempfile::tempdir().unwrap();
    let crash_dir = tempfile::tempdir().unwrap();
    let live = PartitionLog::open(live_dir.path(), config(), true).unwrap();
    let (mut seqs, mut epochs) = (vec![0i32; PRODUCERS as usize], vec![0i16; PRODUCERS as usize]);
    for _ in 0..150 {
        step(&live, &mut rng, &mut seqs, &mut epochs);
    }
    copy_dir(live_dir.path(), crash_dir.path());
    let recovered = PartitionLog::open(crash_dir.path(), config(), false).unwrap();
    for pid in 0..PRODUCERS {
        for log in [&live, &recovered] {
            if log.open_transaction(pid).is_some() {
                let marker = TxnMarker { producer_id: pid, producer_epoch: epochs[pid as usize], coordinator_epoch: 1, control_type: ControlRecordType::Abort };
                log.write_txn_marker(marker, 0, NOW).unwrap();
            }
        }
    }
    assert_eq!(state(&recovered), state(&live));
    assert_eq!(recovered.last_stable_offset(), recovered.log_end_offset());
}
