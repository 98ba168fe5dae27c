use super::*;
use crate::segment::tests::make_batch;

fn config(segment_bytes: u64) -> LogConfig {
    LogConfig { segment_bytes, index_interval_bytes: 100, ..LogConfig::default() }
}

/// Appends `n` one-record batches of `payload` bytes, timestamps from `ts`.
fn fill(log: &PartitionLog, n: i64, ts: i64, payload: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let batch = make_batch(log.log_end_offset(), 1, ts + i, payload);
            log.append_assigned(&batch, ts + i).unwrap();
            batch
        })
        .collect()
}

fn read_all(log: &PartitionLog, from: i64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offset = from;
    while let Some(slice) = log.read(offset, 1, i64::MAX).unwrap().data {
        let bytes = slice.read().unwrap();
        let header = BatchHeader::parse(&bytes).unwrap();
        out.extend_from_slice(&bytes);
        offset = header.next_offset();
    }
    out
}

#[test]
fn appends_roll_by_size_and_read_back_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config(1000), true).unwrap();
    let batches = fill(&log, 50, 1000, 100);
    assert_eq!(log.log_end_offset(), 50);
    assert!(log.segment_count() > 5, "rolled into {} segments", log.segment_count());
    assert_eq!(read_all(&log, 0), batches.concat());
    assert_eq!(read_all(&log, 37), batches[37..].concat());
    assert!(log.read(50, 100, i64::MAX).unwrap().data.is_none(), "at the end: nothing yet");
    assert!(matches!(log.read(51, 100, i64::MAX), Err(StorageError::OffsetOutOfRange { .. })));
    let capped = log.read(0, usize::MAX, 3).unwrap().data.unwrap().read().unwrap();
    assert_eq!(capped.as_ref(), batches[..3].concat().as_slice(), "max_offset caps the read");
}

#[test]
fn the_active_segments_indexes_are_written_at_close_and_trusted_by_a_clean_start() {
    let dir = tempfile::tempdir().unwrap();
    let index_len = || std::fs::metadata(dir.path().join(format!("{:020}.index", 0))).unwrap().len();
    let batches = {
        let log = PartitionLog::open(dir.path(), config(u64::MAX), true).unwrap();
        let mut batches = fill(&log, 10, 1000, 100);
        assert_eq!(index_len(), 0, "an append writes no index file");
        assert_eq!(log.offset_for_timestamp(1003).unwrap(), Some(TimestampOffset { timestamp: 1003, offset: 3 }), "lookups use memory");
        log.write_index_files().unwrap();
        assert_eq!(index_len(), 10 * 8);
        // Appends after that are written by the next call, after the entries already there.
        batches.extend(fill(&log, 10, 2000, 100));
        log.write_index_files().unwrap();
        assert_eq!(index_len(), 20 * 8);
        log.flush().unwrap();
        batches
    };
    for clean in [true, false] {
        let log = PartitionLog::open(dir.path(), config(u64::MAX), clean).unwrap();
        assert_eq!(read_all(&log, 0), batches.concat());
        assert_eq!(read_all(&log, 13), batches[13..].concat());
        assert_eq!(log.offset_for_timestamp(2005).unwrap(), Some(TimestampOffset { timestamp: 2005, offset: 15 }));
        assert_eq!(log.offset_for_timestamp(1003).unwrap(), Some(TimestampOffset { timestamp: 1003, offset: 3 }));
    }
}

#[test]
fn segments_roll_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig { segment_ms: 100, ..config(u64::MAX) }, true).unwrap();
    log.append_assigned(&make_batch(0, 1, 1000, 10), 1000).unwrap();
    log.append_assigned(&make_batch(1, 1, 1050, 10), 1050).unwrap();
    assert_eq!(log.segment_count(), 1);
    log.append_assigned(&make_batch(2, 1, 1200, 10), 1200).unwrap();
    assert_eq!(log.segment_count(), 2);
}

#[test]
fn reopening_keeps_everything_clean_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let batches = {
        let log = PartitionLog::open(dir.path(), config(1000), true).unwrap();
        let batches = fill(&log, 30, 1000, 100);
        log.flush().unwrap();
        batches
    };
    for clean in [true, false] {
        let log = PartitionLog::open(dir.path(), config(1000), clean).unwrap();
        assert_eq!(log.log_end_offset(), 30);
        assert_eq!(read_all(&log, 0), batches.concat());
        assert_eq!(log.offset_for_timestamp(1017).unwrap(), Some(TimestampOffset { timestamp: 1017, offset: 17 }));
    }
}

#[test]
fn an_unclean_open_truncates_a_torn_active_segment_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let batches = {
        let log = PartitionLog::open(dir.path(), config(1000), true).unwrap();
        fill(&log, 25, 1000, 100)
    };
    let active = *segment_bases(&crate::fs::os(), dir.path()).unwrap().last().unwrap();
    let path = crate::layout::offset_file(dir.path(), active, crate::layout::LOG_SUFFIX);
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 7).unwrap(); // tear the last batch
    drop(file);
    let log = PartitionLog::open(dir.path(), config(1000), false).unwrap();
    assert_eq!(log.log_end_offset(), 24);
    assert_eq!(read_all(&log, 0), batches[..24].concat());
    let next = make_batch(24, 1, 5000, 100);
    log.append_assigned(&next, 5000).unwrap();
    assert_eq!(read_all(&log, 24), next);
}

#[test]
fn retention_deletes_old_segments_by_time_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig { retention_ms: 1000, ..config(500) }, true).unwrap();
    fill(&log, 20, 0, 100); // timestamps 0..20
    fill(&log, 20, 10_000, 100); // timestamps 10000..10020
    let segments = log.segment_count();
    assert!(log.apply_retention(10_500).unwrap() > 0);
    assert!(log.segment_count() < segments);
    let start = log.log_start_offset();
    assert!(start > 0 && start <= 20, "start {start}");
    assert!(matches!(log.read(0, 100, i64::MAX), Err(StorageError::OffsetOutOfRange { .. })));
    assert!(log.read(start, 100, i64::MAX).unwrap().data.is_some());

    log.set_config(LogConfig { retention_ms: -1, retention_bytes: 1000, ..config(500) });
    log.apply_retention(10_500).unwrap();
    assert!(log.size_bytes() < 1000 + 500, "size {}", log.size_bytes());
    assert_eq!(log.log_end_offset(), 40);
}

#[test]
fn delete_records_moves_the_start_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = PartitionLog::open(dir.path(), config(500), true).unwrap();
        fill(&log, 20, 0, 100);
        assert_eq!(log.delete_records_before(13).unwrap(), 13);
        assert_eq!(log.delete_records_before(5).unwrap(), 13, "never moves back");
        assert!(log.delete_records_before(21).is_err());
    }
    let log = PartitionLog::open(dir.path(), config(500), true).unwrap();
    assert_eq!(log.log_start_offset(), 13);
    assert!(log.read(12, 100, i64::MAX).is_err());
    let first = log.read(13, 1, i64::MAX).unwrap().data.unwrap().read().unwrap();
    assert_eq!(BatchHeader::parse(&first).unwrap().base_offset, 13);
    // Deleting everything keeps an empty active segment at the end offset.
    assert_eq!(log.delete_records_before(20).unwrap(), 20);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (20, 20));
    fill(&log, 1, 0, 10);
    assert_eq!(log.log_end_offset(), 21);
}

#[test]
fn concurrent_flushes_share_fsyncs_and_cover_every_caller() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(PartitionLog::open(dir.path(), config(u64::MAX), true).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for _ in 0..20 {
                    let (_, _) = log
                        .append_with::<(), StorageError>(0, |next, _| {
                            let batch = make_batch(next, 1, 0, 50);
                            let header = BatchHeader::parse(&batch).unwrap();
                            Ok(Some(((), batch, header)))
                        })
                        .unwrap();
                    let end = log.log_end_offset();
                    log.flush_until(end).unwrap();
                    assert!(log.flushed_offset.load(Ordering::Acquire) >= end);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(log.log_end_offset(), 160);
}

#[test]
fn flush_messages_and_flush_ms_policies_signal_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig { flush_messages: 3, flush_ms: 100, ..config(u64::MAX) }, true).unwrap();
    let flags: Vec<bool> = (0..3).map(|i| log.append_assigned(&make_batch(i, 1, 0, 10), 0).unwrap()).collect();
    assert_eq!(flags, vec![false, false, true]);
    log.flush().unwrap();
    assert!(!log.append_assigned(&make_batch(3, 1, 0, 10), 1000).unwrap());
    log.flush_if_due(1050).unwrap();
    assert!(log.flushed_offset.load(Ordering::Acquire) < 4);
    log.flush_if_due(1100).unwrap();
    assert_eq!(log.flushed_offset.load(Ordering::Acquire), 4);
}

use std::sync::Arc;
