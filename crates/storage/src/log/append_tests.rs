use crate::config::LogConfig;
use super::*;
use crate::batch::test_support::{build, Spec};

const NOW: i64 = 1_700_000_000_000;

fn open(dir: &std::path::Path, clean: bool) -> PartitionLog {
    PartitionLog::open(dir, LogConfig { segment_bytes: 1024, ..LogConfig::default() }, clean).unwrap()
}

fn produce(log: &PartitionLog, spec: &Spec) -> Result<AppendInfo, AppendError> {
    let batch = build(spec);
    log.append_records(&batch, 0, NOW)
}

#[test]
fn batches_get_consecutive_offsets_and_read_back_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    let first = produce(&log, &Spec::with_records(3)).unwrap();
    let second = produce(&log, &Spec::with_records(2)).unwrap();
    assert_eq!((first.base_offset, first.last_offset, second.base_offset, second.last_offset), (0, 2, 3, 4));
    let bytes = log.read(3, 1, i64::MAX).unwrap().data.unwrap().read().unwrap();
    let header = crate::batch::BatchHeader::parse(&bytes).unwrap();
    assert_eq!((header.base_offset, header.records_count), (3, 2));
    assert!(crate::batch::crc_is_valid(&bytes));
}

#[test]
fn invalid_batches_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    let mut corrupt = build(&Spec::with_records(2));
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    let err = log.append_records(&corrupt, 0, NOW).unwrap_err();
    assert!(matches!(err, AppendError::Invalid(ref e) if e.kafka_error_code() == 2), "{err}");
    let mut two = build(&Spec::with_records(1));
    two.extend(build(&Spec::with_records(1)));
    assert!(log.append_records(&two, 0, NOW).is_err());
    assert_eq!(log.log_end_offset(), 0);
}

#[test]
fn idempotent_retries_get_their_original_offsets_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), true);
        for seq in 0..5 {
            produce(&log, &Spec::with_records(2).idempotent(7, 0, seq * 2)).unwrap();
        }
        let retry = produce(&log, &Spec::with_records(2).idempotent(7, 0, 4)).unwrap();
        assert!(retry.duplicate);
        assert_eq!((retry.base_offset, retry.last_offset), (4, 5));
        assert_eq!(log.log_end_offset(), 10);
        // No clean close: the state must come back from the log itself.
    }
    for clean in [false, true] {
        let log = open(dir.path(), clean);
        let retry = produce(&log, &Spec::with_records(2).idempotent(7, 0, 8)).unwrap();
        assert!(retry.duplicate, "clean={clean}");
        assert_eq!(retry.base_offset, 8);
        let gap = produce(&log, &Spec::with_records(1).idempotent(7, 0, 20)).unwrap_err();
        assert!(matches!(gap, AppendError::Producer(ref e) if e.kafka_error_code() == 45), "{gap}");
        log.snapshot_producers().unwrap();
    }
    let log = open(dir.path(), true);
    let next = produce(&log, &Spec::with_records(1).idempotent(7, 0, 10)).unwrap();
    assert!(!next.duplicate);
    assert_eq!(next.base_offset, 10);
}

#[test]
fn rolled_segments_leave_snapshots_that_bound_replay() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    for seq in 0..60 {
        produce(&log, &Spec::with_records(4).idempotent(9, 0, seq * 4)).unwrap();
    }
    assert!(log.segment_count() > 2);
    let snapshots = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".snapshot"))
        .count();
    assert!((1..=2).contains(&snapshots), "{snapshots} snapshots kept");
    drop(log);
    let log = open(dir.path(), false);
    assert!(produce(&log, &Spec::with_records(4).idempotent(9, 0, 236)).unwrap().duplicate);
}

#[test]
fn timestamps_are_found_to_the_record_inside_a_batch() {
    use crate::batch::Compression;
    for codec in [Compression::None, Compression::Gzip, Compression::Lz4, Compression::Zstd, Compression::Snappy] {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), true);
        // Record i has timestamp base_timestamp + i.
        let spec = Spec { base_timestamp: NOW - 100, ..Spec::with_records(10) }.compressed(codec);
        produce(&log, &spec).unwrap();
        let at = |ts| log.offset_for_timestamp(ts).unwrap().map(|t| (t.offset, t.timestamp));
        assert_eq!(at(NOW - 100), Some((0, NOW - 100)), "{codec:?}");
        assert_eq!(at(NOW - 94), Some((6, NOW - 94)), "{codec:?}");
        assert_eq!(at(NOW - 91), Some((9, NOW - 91)), "{codec:?}");
        assert_eq!(at(NOW - 90), None, "{codec:?}");
    }
}
