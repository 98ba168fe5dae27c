//! Disk faults through [`FaultyFs`]: a failed write or fsync never leaves an
//! acknowledged record missing nor an unacknowledged one half-written, the log
//! goes offline when it cannot be sure of its files, and recovery brings back
//! exactly what was acknowledged.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::batch::test_support::{build, Spec};
use crate::fs::faulty::{Fault, FaultyFs, Op};
use crate::manager::{LogManager, CLEAN_SHUTDOWN_FILE};

const NOW: i64 = 1_700_000_000_000;
const PRODUCER: i64 = 7;

fn config() -> LogConfig {
    LogConfig { segment_bytes: 2_000, index_interval_bytes: 100, flush_messages: 1, ..LogConfig::default() }
}

/// An idempotent producer's batch of three records with sequence `3 * n`
/// (timestamps grow, so each batch can get a time index entry).
fn batch(n: i32) -> Vec<u8> {
    let spec = Spec { base_timestamp: NOW + i64::from(n) * 10, ..Spec::with_records(3) };
    build(&spec.idempotent(PRODUCER, 0, 3 * n))
}

/// Appends and fsyncs batch `n` as an acks=all produce with flush.messages=1
/// does: acknowledged only when both succeed.
fn produce(log: &PartitionLog, n: i32) -> Result<AppendInfo, String> {
    let info = log.append_records(&batch(n), 0, NOW).map_err(|e| e.to_string())?;
    log.flush_until(info.last_offset + 1).map_err(|e| e.to_string())?;
    Ok(info)
}

/// The batch numbers in the log, in order, after checking every batch's CRC.
fn batches_in(log: &PartitionLog) -> Vec<i32> {
    let mut numbers = Vec::new();
    let mut offset = log.log_start_offset();
    while let Some(slice) = log.read(offset, 1, i64::MAX).unwrap().data {
        let bytes = slice.read().unwrap();
        assert!(crate::batch::crc_is_valid(&bytes), "a corrupt batch at offset {offset}");
        let header = BatchHeader::parse(&bytes).unwrap();
        numbers.push(header.base_sequence / 3);
        offset = header.next_offset();
    }
    numbers
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names = fs::os().list_dir(dir).unwrap();
    names.sort();
    names
}

#[test]
fn a_short_write_on_a_full_disk_fails_the_append_and_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = FaultyFs::new(fs::os());
    let log = PartitionLog::open_in(&faulty.fs(), dir.path(), config(), false).unwrap();
    produce(&log, 0).unwrap();
    faulty.inject(Fault::new(Op::Write).on(".log").once().partial(40).enospc());
    let error = produce(&log, 1).unwrap_err();
    assert!(error.contains("No space left on device"), "{error}");
    assert_eq!((log.log_end_offset(), log.offline()), (3, None), "nothing appended, still online");
    let on_disk = fs::read(&*fs::os(), &dir.path().join(format!("{:020}.log", 0))).unwrap();
    assert_eq!(on_disk.len(), batch(0).len(), "the short write's bytes were cut off again");
    // Space is back: the producer's retry lands right after the first batch.
    assert_eq!(produce(&log, 1).unwrap().base_offset, 3);
    drop(log);
    let log = PartitionLog::open(dir.path(), config(), false).unwrap();
    assert_eq!(batches_in(&log), vec![0, 1], "recovery finds exactly the acknowledged batches");
}

/// The indexes of a segment are written when it rolls: a write failing then
/// fails the append that rolled, which is undone (the log stays online), and
/// the next append's roll cuts the torn entry and writes them whole.
#[test]
fn a_failed_index_write_at_a_roll_fails_that_append_and_the_next_roll_writes_them_whole() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = FaultyFs::new(fs::os());
    let every_batch_indexed = LogConfig { index_interval_bytes: 1, ..config() };
    let log = PartitionLog::open_in(&faulty.fs(), dir.path(), every_batch_indexed.clone(), false).unwrap();
    let (mut n, mut failed) = (0, false);
    while log.segment_count() == 1 {
        faulty.inject(Fault::new(Op::Write).on(".timeindex").once().partial(5).enospc());
        let leo = log.log_end_offset();
        match produce(&log, n) {
            Ok(_) => n += 1,
            Err(error) => {
                assert!(error.contains("timeindex"), "{error}");
                assert_eq!((log.log_end_offset(), log.offline()), (leo, None), "undone, online");
                failed = true;
                faulty.clear();
                produce(&log, n).unwrap();
                n += 1;
            }
        }
        faulty.clear();
        assert!(n < 100, "a roll was attempted");
    }
    assert!(failed, "the roll's index write failed once");
    produce(&log, n).unwrap();
    log.write_index_files().unwrap();
    log.snapshot_producers().unwrap();
    drop(log);
    // A clean start trusts the indexes: they must match the log.
    let log = PartitionLog::open(dir.path(), every_batch_indexed, true).unwrap();
    assert_eq!(batches_in(&log), (0..=n).collect::<Vec<_>>());
    assert_eq!(log.read(9, 1, i64::MAX).unwrap().data.map(|s| s.position), Some(3 * batch(0).len() as u64));
    let second = segment_bases(&fs::os(), dir.path()).unwrap()[1];
    assert_eq!(log.read(second + 3, 1, i64::MAX).unwrap().data.map(|s| s.position), Some(batch(0).len() as u64));
}

#[test]
fn a_failed_fsync_fails_the_produce_and_takes_the_log_offline_until_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = FaultyFs::new(fs::os());
    let log = PartitionLog::open_in(&faulty.fs(), dir.path(), config(), false).unwrap();
    produce(&log, 0).unwrap();
    faulty.inject(Fault::new(Op::Sync).on(".log").once().eio());
    let error = produce(&log, 1).unwrap_err();
    assert!(error.contains("fsync") && error.contains("Input/output error"), "{error}");
    faulty.clear();
    let offline = log.offline().expect("offline after a failed fsync");
    assert!(offline.contains("fsync"), "{offline}");
    // Nothing is served or written from a log whose files cannot be trusted.
    assert!(matches!(log.read(0, 1, i64::MAX), Err(StorageError::Offline { .. })));
    assert!(matches!(log.append_records(&batch(2), 0, NOW), Err(AppendError::Storage(StorageError::Offline { .. }))));
    assert!(log.flush().is_ok() || log.offline().is_some());
    drop(log);
    // The restart recovers it. The unacknowledged batch reached the page cache,
    // so it is there (as after any crash); the producer's retry is a duplicate.
    let log = PartitionLog::open(dir.path(), config(), false).unwrap();
    assert_eq!(log.offline(), None);
    assert!(log.append_records(&batch(1), 0, NOW).unwrap().duplicate);
    produce(&log, 2).unwrap();
    assert_eq!(batches_in(&log), vec![0, 1, 2]);
}

#[test]
fn a_failed_append_that_cannot_be_undone_takes_the_log_offline() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = FaultyFs::new(fs::os());
    let log = PartitionLog::open_in(&faulty.fs(), dir.path(), config(), false).unwrap();
    produce(&log, 0).unwrap();
    faulty.inject(Fault::new(Op::Write).on(".log").once().partial(30).eio());
    faulty.inject(Fault::new(Op::SetLen).on(".log").once().eio());
    assert!(produce(&log, 1).is_err());
    assert!(log.offline().is_some_and(|r| r.contains("append to")), "{:?}", log.offline());
    drop(log);
    let log = PartitionLog::open(dir.path(), config(), false).unwrap();
    assert_eq!(batches_in(&log), vec![0], "recovery cut the torn bytes");
}

/// Out of descriptors (ENFILE, EMFILE): an append to the active segment
/// opens no index file, so it still succeeds.
#[test]
fn appends_open_no_index_file() {
    let dir = tempfile::tempdir().unwrap();
    drop(PartitionLog::open(dir.path(), config(), false).unwrap());
    let faulty = FaultyFs::new(fs::os());
    let log = PartitionLog::open_in(&faulty.fs(), dir.path(), config(), true).unwrap();
    faulty.inject(Fault::new(Op::Open).on("index"));
    produce(&log, 0).unwrap();
    produce(&log, 1).unwrap();
    assert_eq!(faulty.fired(), 0);
    faulty.clear();
    drop(log);
    let log = PartitionLog::open(dir.path(), config(), false).unwrap();
    assert_eq!(batches_in(&log), vec![0, 1]);
}

#[test]
fn a_roll_that_fails_half_way_removes_its_files_and_the_next_one_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = FaultyFs::new(fs::os());
    let log = PartitionLog::open_in(&faulty.fs(), dir.path(), config(), false).unwrap();
    produce(&log, 0).unwrap(); // the active segment's indexes stay open from their first write
    // The next roll creates its log file, then fails to create its time index.
    faulty.inject(Fault::new(Op::Open).on(".timeindex").enospc());
    let mut n = 1;
    let failed_at = loop {
        let leo = log.log_end_offset();
        if produce(&log, n).is_err() {
            break leo;
        }
        n += 1;
        assert!(n < 100, "a roll was attempted");
    };
    assert_eq!(log.segment_count(), 1);
    let prefix = format!("{failed_at:020}.");
    assert!(!files_in(dir.path()).iter().any(|f| f.starts_with(&prefix)), "no half-created segment: {:?}", files_in(dir.path()));
    faulty.clear();
    produce(&log, n).unwrap();
    assert_eq!(log.segment_count(), 2);
    assert_eq!(batches_in(&log), (0..=n).collect::<Vec<_>>());
}

#[test]
fn closing_with_an_offline_log_writes_no_clean_shutdown_marker() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = FaultyFs::new(fs::os());
    let manager = LogManager::open_in(&faulty.fs(), dir.path()).unwrap();
    let bad = manager.open_log("bad", 0, [1; 16], config()).unwrap();
    let good = manager.open_log("good", 0, [2; 16], LogConfig::default()).unwrap();
    manager.finish_startup().unwrap();
    produce(&bad, 0).unwrap();
    good.append_records(&batch(0), 0, NOW).unwrap();
    faulty.inject(Fault::new(Op::Sync).on("bad-0").once());
    assert!(produce(&bad, 1).is_err());
    assert!(manager.close().is_err());
    assert!(!dir.path().join(CLEAN_SHUTDOWN_FILE).exists(), "the next start must recover");
    drop((bad, good, manager));
    let manager = LogManager::open(dir.path()).unwrap();
    assert!(!manager.clean_start());
    assert_eq!(manager.open_log("good", 0, [2; 16], LogConfig::default()).unwrap().log_end_offset(), 3, "the healthy log was flushed");
}

/// Hundreds of produces while random writes, fsyncs, truncations, opens,
/// renames and directory fsyncs fail (short writes included); the log is
/// reopened whenever it goes offline, and the producer retries every batch
/// until it is acknowledged. In the end the log holds every batch exactly
/// once, in order, with valid CRCs.
#[test]
fn random_disk_faults_never_lose_duplicate_or_corrupt_an_acknowledged_batch() {
    let seed = std::env::var("STROM_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random::<u64>);
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let faulty = FaultyFs::new(fs::os());
    let fs = faulty.fs();
    let open = || PartitionLog::open_in(&fs, dir.path(), config(), false);
    let mut log = open().unwrap();
    let ops = [Op::Write, Op::Write, Op::Sync, Op::SetLen, Op::Open, Op::Rename, Op::SyncDir];
    let paths = [".log", ".log", ".index", ".timeindex", ".snapshot", "recovery-point", "", ""];
    let (mut acked, mut failures, mut restarts) = (0i32, 0u32, 0u32);
    for round in 0..600 {
        if acked == 150 {
            break;
        }
        if round == 0 {
            // At least one restart whatever the seed: a failed fsync takes the log offline.
            faulty.inject(Fault::new(Op::Sync).on(".log").once());
        } else if rng.random_bool(0.6) {
            let fault = Fault::new(ops[rng.random_range(0..ops.len())])
                .on(paths[rng.random_range(0..paths.len())])
                .after(rng.random_range(0..2))
                .once()
                .partial(rng.random_range(0..120));
            faulty.inject(if rng.random_bool(0.5) { fault.enospc() } else { fault });
        }
        match produce(&log, acked) {
            Ok(_) => acked += 1,
            Err(_) => failures += 1,
        }
        faulty.clear();
        if log.offline().is_some() {
            drop(log);
            log = open().unwrap_or_else(|e| panic!("seed {seed}: reopen failed: {e}"));
            restarts += 1;
        }
    }
    assert!(acked == 150 && failures > 4 && restarts > 0, "seed {seed}: {acked} acknowledged, {failures} failures, {restarts} restarts");
    drop(log);
    let log = PartitionLog::open(dir.path(), config(), false).unwrap();
    assert_eq!(batches_in(&log), (0..acked).collect::<Vec<_>>(), "seed {seed}, {restarts} restarts");
}

/// A batch appended with no fsync asked for (flush.messages unset).
fn append_unflushed(log: &PartitionLog, n: i32) {
    log.append_records(&batch(n), 0, NOW).unwrap();
}

fn recovery_point(dir: &Path) -> Option<i64> {
    read_offset_file(&fs::os(), &dir.join(RECOVERY_POINT_FILE)).unwrap()
}

#[test]
fn a_roll_fsyncs_nothing_and_the_next_flush_makes_the_rolled_segments_durable() {
    let dir = tempfile::tempdir().unwrap();
    let faulty = FaultyFs::new(fs::os());
    let lazy = LogConfig { flush_messages: u64::MAX, ..config() };
    let log = PartitionLog::open_in(&faulty.fs(), dir.path(), lazy, false).unwrap();
    // Every fsync fails: appends that roll still succeed, none of them waits for the disk.
    faulty.inject(Fault::new(Op::Sync));
    faulty.inject(Fault::new(Op::SyncDir));
    for n in 0..100 {
        append_unflushed(&log, n);
    }
    assert!(log.segment_count() > 3, "rolled into {} segments", log.segment_count());
    assert_eq!(faulty.fired(), 0, "no fsync on the append path");
    assert_eq!(recovery_point(dir.path()), None, "the recovery point waits for the rolled segments' fsync");
    // The background flush of the rolled segments is where the failure shows: offline.
    assert!(log.flush_if_due(NOW).is_err());
    assert!(log.offline().is_some());
    drop(log);
    faulty.clear();
    let log = PartitionLog::open(dir.path(), config(), false).unwrap();
    assert_eq!(batches_in(&log), (0..100).collect::<Vec<_>>(), "an unclean start recovers every rolled segment");
    // The recovered segments are fsynced by the next flush, which then lets the recovery point pass them.
    assert_eq!(recovery_point(dir.path()), None);
    log.flush_if_due(NOW).unwrap();
    assert_eq!(recovery_point(dir.path()), segment_bases(&fs::os(), dir.path()).unwrap().last().copied());
}

#[test]
fn the_flush_of_rolled_segments_moves_the_recovery_point_and_leaves_the_active_segment_alone() {
    let dir = tempfile::tempdir().unwrap();
    let lazy = LogConfig { flush_messages: u64::MAX, flush_ms: i64::MAX, ..config() };
    let log = PartitionLog::open(dir.path(), lazy, false).unwrap();
    for n in 0..100 {
        append_unflushed(&log, n);
    }
    let active_base = segment_bases(&fs::os(), dir.path()).unwrap().last().copied().unwrap();
    log.flush_if_due(NOW).unwrap(); // flush.ms is not due: only the rolled segments
    assert_eq!(recovery_point(dir.path()), Some(active_base));
    assert_eq!(log.flushed_offset.load(Ordering::Acquire), active_base, "the active segment is left to flush.ms");
    let snapshots: Vec<String> = files_in(dir.path()).into_iter().filter(|f| f.ends_with(".snapshot")).collect();
    assert!(snapshots.contains(&format!("{active_base:020}.snapshot")), "{snapshots:?}");
    // Nothing rolled since: the next housekeeping pass does no I/O.
    log.flush_if_due(NOW).unwrap();
    log.flush().unwrap();
    assert_eq!(log.flushed_offset.load(Ordering::Acquire), log.log_end_offset());
    drop(log);
    let log = PartitionLog::open(dir.path(), config(), false).unwrap();
    assert_eq!(batches_in(&log), (0..100).collect::<Vec<_>>());
}

#[test]
fn a_roll_snapshot_torn_by_a_crash_is_ignored_and_the_producer_state_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let lazy = LogConfig { flush_messages: u64::MAX, ..config() };
    let log = PartitionLog::open(dir.path(), lazy, false).unwrap();
    for n in 0..100 {
        append_unflushed(&log, n);
    }
    let active_base = segment_bases(&fs::os(), dir.path()).unwrap().last().copied().unwrap();
    drop(log); // a crash: the roll snapshot was never fsynced, say it is torn
    let snapshot = dir.path().join(format!("{active_base:020}.snapshot"));
    let bytes = std::fs::read(&snapshot).unwrap();
    std::fs::write(&snapshot, &bytes[..bytes.len() / 2]).unwrap();
    let log = PartitionLog::open(dir.path(), config(), false).unwrap();
    assert_eq!(batches_in(&log), (0..100).collect::<Vec<_>>());
    // The producer's sequence survived: its next batch is in sequence, a duplicate is not written twice.
    produce(&log, 100).unwrap();
    let leo = log.log_end_offset();
    assert!(log.append_records(&batch(100), 0, NOW).is_ok(), "a duplicate is answered, not appended");
    assert_eq!(log.log_end_offset(), leo);
}
