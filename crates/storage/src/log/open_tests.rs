//! What opening and closing a log touch: one directory listing, no file the
//! listing lacks, no read of an empty index, and no producer snapshot when
//! the one on disk already holds the state. A log with 10,000 partitions
//! pays for every call here 10,000 times at each start and shutdown.

use super::*;
use crate::batch::test_support::{build, Spec};
use crate::fs::faulty::{Fault, FaultyFs, Op};
use crate::layout::{offset_file, INDEX_SUFFIX, SNAPSHOT_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX};

const NOW: i64 = 1_700_000_000_000;
const PRODUCER: i64 = 7;

fn config() -> LogConfig {
    LogConfig { segment_bytes: 4096, index_interval_bytes: 100, ..LogConfig::default() }
}

fn snapshots_in(dir: &Path) -> Vec<i64> {
    list_partition_dir(&fs::os(), dir).unwrap().snapshots
}

/// Batch `n` of an idempotent producer: three records, sequence `3 * n`.
fn idempotent(log: &PartitionLog, n: i32) -> AppendInfo {
    let spec = Spec { base_timestamp: NOW + i64::from(n), ..Spec::with_records(3) };
    log.append_records(&build(&spec.idempotent(PRODUCER, 0, 3 * n)), 0, NOW).unwrap()
}

/// A file system on which the calls an open of a log holding nothing but
/// its segment files should not make fail (and count in `fired`).
fn strict() -> FaultyFs {
    let faulty = FaultyFs::new(fs::os());
    for name in [RECOVERY_POINT_FILE, LOG_START_FILE, CLEANER_CHECKPOINT_FILE, SNAPSHOT_SUFFIX, TXN_INDEX_SUFFIX] {
        faulty.inject(Fault::new(Op::Open).on(name));
    }
    faulty.inject(Fault::new(Op::List).after(1)); // one listing
    faulty.inject(Fault::new(Op::Remove)); // nothing missing is "removed"
    faulty.inject(Fault::new(Op::Read).on(INDEX_SUFFIX)); // the index files are empty
    faulty
}

#[test]
fn a_log_of_empty_segments_opens_with_one_listing_and_no_look_at_missing_files() {
    for clean in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        drop(PartitionLog::open(dir.path(), config(), true).unwrap());
        let faulty = strict();
        let log = PartitionLog::open_in(&faulty.fs(), dir.path(), config(), clean).unwrap();
        assert_eq!(faulty.fired(), 0, "clean={clean}");
        assert_eq!((log.log_end_offset(), log.log_start_offset(), log.segment_count()), (0, 0, 1));
        assert!(!log.snapshot_producers().unwrap(), "clean={clean}: nothing to snapshot");
        assert_eq!(snapshots_in(dir.path()), Vec::<i64>::new());
    }
}

#[test]
fn a_missing_directory_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new-0");
    let log = PartitionLog::open(&path, config(), false).unwrap();
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(segment_bases(&fs::os(), &path).unwrap(), vec![0]);
}

#[test]
fn an_unchanged_log_is_not_snapshotted_again_and_its_state_still_reloads() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = PartitionLog::open(dir.path(), config(), true).unwrap();
        assert!(!log.snapshot_producers().unwrap(), "a new, empty log has nothing to snapshot");
        assert_eq!(snapshots_in(dir.path()), Vec::<i64>::new());
        for n in 0..3 {
            idempotent(&log, n);
        }
        log.flush().unwrap();
        assert!(log.snapshot_producers().unwrap(), "appends since the open");
        assert!(!log.snapshot_producers().unwrap(), "nothing since the last snapshot");
    }
    assert_eq!(snapshots_in(dir.path()), vec![9]);
    let written = std::fs::metadata(offset_file(dir.path(), 9, SNAPSHOT_SUFFIX)).unwrap().modified().unwrap();
    for round in 0..2 {
        let log = PartitionLog::open(dir.path(), config(), true).unwrap();
        assert!(!log.snapshot_producers().unwrap(), "round {round}: loaded at the log end offset");
        // The producer state came back: a retry of the last batch is a duplicate.
        let spec = Spec { base_timestamp: NOW + 2, ..Spec::with_records(3) }.idempotent(PRODUCER, 0, 6);
        let retry = log.append_records(&build(&spec), 0, NOW).unwrap();
        assert!(retry.duplicate && retry.base_offset == 6, "round {round}: {retry:?}");
    }
    let now = std::fs::metadata(offset_file(dir.path(), 9, SNAPSHOT_SUFFIX)).unwrap().modified().unwrap();
    assert_eq!(written, now, "the snapshot was not rewritten");
    // An append after the open moves the log end offset: the next close snapshots.
    let log = PartitionLog::open(dir.path(), config(), true).unwrap();
    assert_eq!(idempotent(&log, 3).base_offset, 9);
    assert!(log.snapshot_producers().unwrap());
    assert_eq!(snapshots_in(dir.path()), vec![9, 12]);
    drop(log);
    let log = PartitionLog::open(dir.path(), config(), true).unwrap();
    assert!(idempotent_retry_is_duplicate(&log, 3));
}

fn idempotent_retry_is_duplicate(log: &PartitionLog, n: i32) -> bool {
    let spec = Spec { base_timestamp: NOW + i64::from(n), ..Spec::with_records(3) };
    log.append_records(&build(&spec.idempotent(PRODUCER, 0, 3 * n)), 0, NOW).unwrap().duplicate
}

#[test]
fn a_log_opened_with_batches_to_replay_is_snapshotted_at_close() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = PartitionLog::open(dir.path(), config(), true).unwrap();
        for n in 0..3 {
            idempotent(&log, n);
        }
        log.flush().unwrap(); // a crash: no snapshot
    }
    assert_eq!(snapshots_in(dir.path()), Vec::<i64>::new());
    let log = PartitionLog::open(dir.path(), config(), false).unwrap();
    assert!(idempotent_retry_is_duplicate(&log, 2), "replayed from the log");
    assert!(log.snapshot_producers().unwrap(), "the next start need not replay again");
    assert_eq!(snapshots_in(dir.path()), vec![9]);
}

#[test]
fn missing_index_files_are_rebuilt_at_a_clean_open_as_before() {
    let small_segments = || LogConfig { segment_bytes: 1024, ..config() };
    let dir = tempfile::tempdir().unwrap();
    let (batches, by_time) = {
        let log = PartitionLog::open(dir.path(), small_segments(), true).unwrap();
        let batches: Vec<AppendInfo> = (0..40).map(|n| idempotent(&log, n)).collect();
        log.flush().unwrap();
        log.snapshot_producers().unwrap();
        assert!(log.segment_count() > 2);
        (batches, log.offset_for_timestamp(NOW + 20).unwrap())
    };
    assert!(by_time.is_some());
    let bases = segment_bases(&fs::os(), dir.path()).unwrap();
    for &base in &bases {
        for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX] {
            std::fs::remove_file(offset_file(dir.path(), base, suffix)).ok();
        }
    }
    for round in 0..2 {
        let log = PartitionLog::open(dir.path(), small_segments(), true).unwrap();
        assert_eq!(log.log_end_offset(), 120);
        for info in &batches {
            let slice = log.read(info.base_offset + 1, 1, i64::MAX).unwrap().data.unwrap();
            let header = BatchHeader::parse(&slice.read().unwrap()).unwrap();
            assert_eq!(header.base_offset, info.base_offset, "round {round}");
        }
        assert_eq!(log.offset_for_timestamp(NOW + 20).unwrap(), by_time, "round {round}");
        for &base in &bases {
            assert!(offset_file(dir.path(), base, INDEX_SUFFIX).exists(), "round {round}: index of {base} rebuilt");
            assert!(std::fs::metadata(offset_file(dir.path(), base, TIME_INDEX_SUFFIX)).unwrap().len() > 0, "round {round}");
        }
    }
}
