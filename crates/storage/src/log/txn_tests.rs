#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is a failure report

use super::*;
use crate::batch::test_support::{build, Spec};
use crate::config::LogConfig;
use crate::control::ControlRecordType::{Abort, Commit};
use crate::layout::TXN_INDEX_SUFFIX;
use crate::producer_state::AppendOrigin;

const NOW: i64 = 1_700_000_000_000;

fn config(segment_bytes: u64) -> LogConfig {
    LogConfig { segment_bytes, index_interval_bytes: 100, ..LogConfig::default() }
}

fn open(dir: &std::path::Path, clean: bool) -> PartitionLog {
    PartitionLog::open(dir, config(1024), clean).unwrap()
}

/// A batch of `n` records from producer `pid` at `epoch`, sequence `seq`.
fn spec(pid: i64, epoch: i16, seq: i32, n: usize, transactional: bool) -> Spec {
    Spec { transactional, ..Spec::with_records(n).idempotent(pid, epoch, seq) }
}

fn produce(log: &PartitionLog, spec: &Spec) -> Result<AppendInfo, AppendError> {
    log.append_records(&build(spec), 0, NOW)
}

fn marker(pid: i64, epoch: i16, coordinator_epoch: i32, control_type: ControlRecordType) -> TxnMarker {
    TxnMarker { producer_id: pid, producer_epoch: epoch, coordinator_epoch, control_type }
}

fn end(log: &PartitionLog, pid: i64, epoch: i16, control_type: ControlRecordType) -> i64 {
    log.write_txn_marker(marker(pid, epoch, 0, control_type), 3, NOW).unwrap().base_offset
}

fn aborted(pid: i64, first: i64, last: i64, lso: i64) -> AbortedTxn {
    AbortedTxn { producer_id: pid, first_offset: first, last_offset: last, last_stable_offset: lso }
}

fn error_code(error: AppendError) -> i16 {
    match error {
        AppendError::Producer(e) => e.kafka_error_code(),
        other => panic!("not a producer error: {other}"),
    }
}

#[test]
fn a_marker_is_written_as_kafka_writes_it_and_ends_the_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    produce(&log, &spec(7, 2, 0, 3, true)).unwrap();
    assert_eq!((log.open_transaction(7), log.last_stable_offset()), (Some(0), 0));
    let info = log.write_txn_marker(marker(7, 2, 5, Commit), 3, NOW).unwrap();
    assert_eq!((info.base_offset, info.last_offset, info.log_append_time, info.duplicate), (3, 3, None, false));
    let stored = log.read(3, 1, i64::MAX).unwrap().data.unwrap().read().unwrap();
    let commit = EndTxnMarker { control_type: Commit, coordinator_epoch: 5 };
    assert_eq!(stored.as_ref(), control::marker_batch(3, 3, 7, 2, NOW, commit).as_slice());
    assert_eq!((log.open_transaction(7), log.last_stable_offset(), log.log_end_offset()), (None, 4, 4));
    assert_eq!(log.producer_entry(7).unwrap().coordinator_epoch, 5);
    assert!(log.aborted_transactions(0, i64::MAX).unwrap().is_empty(), "commits are not indexed");
    // A LogAppendTime topic stamps the marker with the append time, as Kafka's validator does.
    log.set_config(LogConfig { timestamp_type: TimestampType::LogAppendTime, ..config(1024) });
    let info = log.write_txn_marker(marker(7, 2, 5, Abort), 3, NOW + 9).unwrap();
    assert_eq!(info.log_append_time, Some(NOW + 9));
    let stored = log.read(4, 1, i64::MAX).unwrap().data.unwrap().read().unwrap();
    let header = BatchHeader::parse(&stored).unwrap();
    assert_eq!((header.timestamp_type(), header.max_timestamp), (TimestampType::LogAppendTime, NOW + 9));
    assert!(batch::crc_is_valid(&stored));
}

#[test]
fn fenced_markers_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    produce(&log, &spec(1, 4, 0, 1, true)).unwrap();
    log.write_txn_marker(marker(1, 4, 6, Abort), 0, NOW).unwrap();
    produce(&log, &spec(1, 4, 1, 1, true)).unwrap();
    let end_offset = log.log_end_offset();
    assert_eq!(error_code(log.write_txn_marker(marker(1, 3, 6, Commit), 0, NOW).unwrap_err()), 47);
    assert_eq!(error_code(log.write_txn_marker(marker(1, 4, 5, Commit), 0, NOW).unwrap_err()), 52);
    assert_eq!((log.log_end_offset(), log.open_transaction(1)), (end_offset, Some(2)));
    // A zombie's data at the old epoch after the coordinator bumped it with an abort.
    log.write_txn_marker(marker(1, 5, 6, Abort), 0, NOW).unwrap();
    assert_eq!(error_code(produce(&log, &spec(1, 4, 2, 1, true)).unwrap_err()), 47);
    // A non-transactional batch inside a transaction.
    produce(&log, &spec(1, 5, 0, 1, true)).unwrap();
    assert_eq!(error_code(produce(&log, &spec(1, 5, 1, 1, false)).unwrap_err()), 48);
}

#[test]
fn markers_without_an_open_transaction_are_written_and_index_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    assert_eq!(end(&log, 9, 0, Abort), 0);
    produce(&log, &spec(9, 0, 0, 1, false)).unwrap();
    assert_eq!(end(&log, 9, 0, Commit), 2);
    assert_eq!((log.log_end_offset(), log.last_stable_offset()), (3, 3));
    assert!(log.aborted_transactions(0, i64::MAX).unwrap().is_empty());
    assert!(!dir.path().join(format!("{:020}.{TXN_INDEX_SUFFIX}", 0)).exists(), "no index file without an abort");
}

#[test]
fn the_last_stable_offset_follows_interleaved_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    let lso = || log.last_stable_offset();
    produce(&log, &Spec::with_records(2)).unwrap(); // 0-1, plain
    assert_eq!((lso(), log.first_unstable_offset()), (2, None));
    produce(&log, &spec(1, 0, 0, 2, true)).unwrap(); // 2-3, txn of 1
    produce(&log, &spec(2, 0, 0, 1, false)).unwrap(); // 4, idempotent
    assert_eq!((lso(), log.first_unstable_offset()), (2, Some(2)));
    produce(&log, &spec(3, 0, 0, 1, true)).unwrap(); // 5, txn of 3
    produce(&log, &spec(1, 0, 2, 1, true)).unwrap(); // 6, txn of 1 continues
    assert_eq!(lso(), 2);
    assert_eq!(end(&log, 3, 0, Abort), 7); // the younger one ends first: no move
    assert_eq!(lso(), 2);
    produce(&log, &spec(4, 0, 0, 1, true)).unwrap(); // 8, txn of 4
    assert_eq!(end(&log, 1, 0, Commit), 9);
    assert_eq!(lso(), 8, "to the next open transaction");
    produce(&log, &Spec::with_records(1)).unwrap(); // 10
    assert_eq!(end(&log, 4, 0, Abort), 11);
    assert_eq!((lso(), log.log_end_offset()), (12, 12));
    assert_eq!(
        log.aborted_transactions(0, i64::MAX).unwrap(),
        vec![aborted(3, 5, 7, 2), aborted(4, 8, 11, 12)]
    );
    // An open transaction below the log start offset leaves the LSO at the start.
    produce(&log, &spec(5, 0, 0, 1, true)).unwrap(); // 12
    produce(&log, &Spec::with_records(1)).unwrap(); // 13
    assert_eq!(lso(), 12);
    log.delete_records_before(13).unwrap();
    assert_eq!((lso(), log.first_unstable_offset()), (13, Some(13)));
    end(&log, 5, 0, Commit);
    assert_eq!(lso(), log.log_end_offset());
}

#[test]
fn read_committed_stops_at_the_last_stable_offset_with_the_aborted_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    produce(&log, &spec(1, 0, 0, 2, true)).unwrap(); // 0-1
    produce(&log, &Spec::with_records(1)).unwrap(); // 2
    assert_eq!(end(&log, 1, 0, Abort), 3);
    produce(&log, &spec(2, 0, 0, 1, true)).unwrap(); // 4
    produce(&log, &Spec::with_records(1)).unwrap(); // 5
    let committed = log.read_committed(0, usize::MAX, i64::MAX).unwrap();
    let bytes = committed.data.unwrap().read().unwrap();
    let last = crate::batch::BatchScanner::new(&bytes).last().unwrap().unwrap().1;
    assert_eq!(last.next_offset(), 4, "nothing at or past the LSO");
    assert_eq!((committed.last_stable_offset, committed.log_end_offset), (4, 6));
    assert_eq!(committed.aborted_transactions, Some(vec![aborted(1, 0, 3, 4)]));
    // At the LSO: no data, an empty list; read_uncommitted reads on and lists nothing.
    let at_lso = log.read_committed(4, usize::MAX, i64::MAX).unwrap();
    assert!(at_lso.data.is_none());
    assert_eq!(at_lso.aborted_transactions, Some(vec![]));
    let uncommitted = log.read(4, usize::MAX, i64::MAX).unwrap();
    assert!(uncommitted.data.is_some() && uncommitted.aborted_transactions.is_none());
    assert_eq!(uncommitted.last_stable_offset, 4);
    // One batch: the bound is the end of that batch.
    let one = log.read_committed(2, 1, i64::MAX).unwrap();
    assert_eq!(one.aborted_transactions, Some(vec![aborted(1, 0, 3, 4)]));
    end(&log, 2, 0, Commit);
    let all = log.read_committed(4, usize::MAX, i64::MAX).unwrap();
    assert_eq!((all.last_stable_offset, all.aborted_transactions), (7, Some(vec![])));
    assert!(matches!(log.read_committed(8, 1, i64::MAX), Err(StorageError::OffsetOutOfRange { .. })));
}

/// A log whose transactions span segments: (aborted transactions, marker offsets).
fn spanning_log(log: &PartitionLog) -> Vec<AbortedTxn> {
    let mut expected = Vec::new();
    let mut seqs = [0i32; 4];
    let mut open: [Option<i64>; 4] = [None; 4];
    for round in 0..60 {
        let pid = round % 4;
        let p = pid as usize;
        if open[p].is_some() && round % 3 == 0 {
            let control_type = if round % 2 == 0 { Abort } else { Commit };
            let lso_after = open.iter().enumerate().filter(|&(q, o)| q != p && o.is_some()).filter_map(|(_, o)| *o).min();
            let at = end(log, pid as i64, 0, control_type);
            if control_type == Abort {
                expected.push(aborted(pid as i64, open[p].unwrap(), at, lso_after.unwrap_or(at + 1)));
            }
            open[p] = None;
            continue;
        }
        let info = produce(log, &spec(pid as i64, 0, seqs[p], 2, true)).unwrap();
        open[p].get_or_insert(info.base_offset);
        seqs[p] += 2;
    }
    expected
}

#[test]
fn aborted_transactions_are_indexed_in_the_segment_of_their_marker() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config(700), true).unwrap();
    let expected = spanning_log(&log);
    assert!(log.segment_count() > 4 && expected.len() > 4, "{} segments, {} aborts", log.segment_count(), expected.len());
    let inner = log.read_lock();
    let mut indexed = Vec::new();
    for segment in inner.segments.values() {
        for txn in segment.aborted_txns().unwrap() {
            assert!((segment.base_offset()..segment.next_offset()).contains(&txn.last_offset), "{txn:?} in {}", segment.base_offset());
            indexed.push(txn);
        }
    }
    assert_eq!(indexed, expected);
    assert!(inner.segments.values().any(|s| s.aborted_txns().unwrap().iter().any(|t| t.first_offset < s.base_offset())), "a transaction spans segments");
    drop(inner);
    // Every fetch range gets exactly the aborted transactions that overlap it, across segments.
    let end_offset = log.log_end_offset();
    for fetch in 0..=end_offset {
        for upper in fetch..=end_offset + 1 {
            let want: Vec<AbortedTxn> = expected.iter().copied().filter(|t| t.last_offset >= fetch && t.first_offset < upper).collect();
            assert_eq!(log.aborted_transactions(fetch, upper).unwrap(), want, "[{fetch}, {upper})");
        }
    }
}

#[test]
fn txn_indexes_go_with_their_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig { retention_ms: 1000, ..config(700) }, true).unwrap();
    let expected = spanning_log(&log);
    let count = || std::fs::read_dir(dir.path()).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(TXN_INDEX_SUFFIX)).count();
    let before = count();
    assert!(before > 2);
    // DeleteRecords deletes whole segments below the new start, with their indexes.
    let cut = expected[expected.len() / 2].last_offset + 1;
    log.delete_records_before(cut).unwrap();
    assert!(count() < before);
    let kept: Vec<AbortedTxn> = expected.iter().copied().filter(|t| t.last_offset >= log.read_lock().segments.keys().next().copied().unwrap()).collect();
    assert_eq!(log.aborted_transactions(0, i64::MAX).unwrap(), kept);
    // Retention deletes the rest but the active segment.
    log.apply_retention(NOW + 10_000).unwrap();
    assert!(count() <= 1);
}

#[test]
fn coordinator_writes_join_transactions_without_sequences() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    // A transactional offset commit: the producer's id and epoch, no sequence.
    let batch = build(&spec(3, 1, -1, 1, true));
    log.append_records_from(&batch, 0, NOW, AppendOrigin::Coordinator).unwrap();
    let again = build(&spec(3, 1, -1, 1, true));
    log.append_records_from(&again, 0, NOW, AppendOrigin::Coordinator).unwrap();
    assert_eq!((log.open_transaction(3), log.last_stable_offset()), (Some(0), 0));
    let from_client = build(&spec(3, 1, -1, 1, true));
    assert!(matches!(log.append_records(&from_client, 0, NOW), Err(AppendError::Invalid(_))), "clients need a sequence");
    let old_epoch = build(&spec(3, 0, -1, 1, true));
    assert_eq!(error_code(log.append_records_from(&old_epoch, 0, NOW, AppendOrigin::Coordinator).unwrap_err()), 47);
    end(&log, 3, 1, Commit);
    assert_eq!(log.last_stable_offset(), 3);
}

#[test]
fn open_transactions_and_aborts_survive_restarts_clean_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let log = PartitionLog::open(dir.path(), config(700), true).unwrap();
        let expected = spanning_log(&log);
        produce(&log, &spec(9, 0, 0, 1, true)).unwrap();
        log.flush().unwrap();
        expected
    };
    let open_one = |clean: bool| PartitionLog::open(dir.path(), config(700), clean).unwrap();
    let (lso, leo) = {
        let log = open_one(true);
        (log.last_stable_offset(), log.log_end_offset())
    };
    assert!(lso < leo);
    for clean in [false, true, false] {
        let log = open_one(clean);
        assert_eq!((log.last_stable_offset(), log.log_end_offset()), (lso, leo), "clean={clean}");
        assert_eq!(log.aborted_transactions(0, i64::MAX).unwrap(), expected, "clean={clean}");
        assert_eq!(log.open_transaction(9), Some(leo - 1));
        if clean {
            log.snapshot_producers().unwrap();
        }
    }
}

#[test]
fn a_damaged_txn_index_is_rebuilt_even_after_a_clean_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let log = PartitionLog::open(dir.path(), config(700), true).unwrap();
        let expected = spanning_log(&log);
        log.flush().unwrap();
        log.snapshot_producers().unwrap();
        expected
    };
    let index = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == TXN_INDEX_SUFFIX) && std::fs::metadata(p).unwrap().len() > 0)
        .min()
        .unwrap();
    let len = std::fs::metadata(&index).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&index).unwrap().set_len(len - 5).unwrap();
    let log = PartitionLog::open(dir.path(), config(700), true).unwrap();
    assert_eq!(log.aborted_transactions(0, i64::MAX).unwrap(), expected);
    assert_eq!(std::fs::metadata(&index).unwrap().len(), len);
}

#[test]
fn verified_appends_need_a_current_guard_to_begin_a_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    let verified = |spec: &Spec, guard| log.append_records_verified(&build(spec), 0, NOW, guard);
    assert_eq!(error_code(verified(&spec(1, 0, 0, 1, true), None).unwrap_err()), 48);
    let guard = log.start_txn_verification(1, 0, 0, NOW);
    assert!(guard.is_some());
    // The coordinator confirmed the partition: the first write goes in, the next needs no guard.
    verified(&spec(1, 0, 0, 1, true), guard).unwrap();
    assert_eq!(log.start_txn_verification(1, 1, 0, NOW), None);
    verified(&spec(1, 0, 1, 1, true), None).unwrap();
    // A retry of the first write is a duplicate, answered whatever the guard.
    assert!(verified(&spec(1, 0, 0, 1, true), None).unwrap().duplicate);
    end(&log, 1, 0, Abort);
    // A guard taken before the abort no longer opens a transaction after it.
    let stale = log.start_txn_verification(1, 2, 0, NOW);
    end(&log, 1, 0, Abort);
    assert_eq!(error_code(verified(&spec(1, 0, 2, 1, true), stale).unwrap_err()), 48);
    assert_eq!(log.last_stable_offset(), log.log_end_offset(), "no hanging transaction");
    // Idempotent writes need no verification.
    verified(&spec(1, 0, 2, 1, false), None).unwrap();
}
