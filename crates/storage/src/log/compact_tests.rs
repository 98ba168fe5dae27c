#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is a failure report

//! Compaction of whole logs: what survives, offsets and indexes afterwards,
//! producer state, crashes during the swap, random workloads against a model,
//! and appends and reads running during compaction.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use rand::{Rng, SeedableRng};

use super::*;
use crate::log::{AppendError, AppendInfo};
use crate::batch::test_support::{build, KeyValue, Spec};
use crate::batch::{BatchHeader, Compression};
use crate::cleaner::tests::decode;
use crate::cleaner::{CleanStats, CleanerConfig};
use crate::config::LogConfig;
use crate::layout::{segment_file, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};

const NOW: i64 = 1_700_000_000_000;
static NO_STOP: AtomicBool = AtomicBool::new(false);
type Rec = (i64, Option<Vec<u8>>, Option<Vec<u8>>);
/// A crash point: its name, how to lay out its files, and what the log must hold after.
type CrashCase<'a> = (&'a str, Box<dyn Fn(&Path) + 'a>, &'a Vec<Rec>);

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 1024,
        index_interval_bytes: 64,
        cleanup_compact: true,
        cleanup_delete: false,
        min_cleanable_dirty_ratio: 0.0,
        ..LogConfig::default()
    }
}

fn open(dir: &Path, clean: bool) -> PartitionLog {
    PartitionLog::open(dir, config(), clean).unwrap()
}

fn kv(key: &str, value: Option<&str>) -> KeyValue {
    (Some(key.as_bytes().to_vec()), value.map(|v| v.as_bytes().to_vec()))
}

/// Produces one batch; record i gets timestamp `ts + i`.
fn produce(log: &PartitionLog, records: Vec<KeyValue>, codec: Compression, ts: i64) -> AppendInfo {
    let spec = Spec { records, base_timestamp: ts, ..Spec::default() }.compressed(codec);
    let batch = build(&spec);
    log.append_records(&batch, 0, ts).unwrap()
}

/// A map holding `keys` keys per pass.
fn cleaner(keys: usize) -> CleanerConfig {
    CleanerConfig { dedupe_buffer_bytes: keys * crate::cleaner::offset_map::BYTES_PER_ENTRY }
}

/// Passes until the dirty section is done.
fn clean_all(log: &PartitionLog, now: i64, cleaner: &CleanerConfig) -> Vec<CleanStats> {
    let mut passes = Vec::new();
    for _ in 0..1000 {
        let Some(stats) = log.clean(now, cleaner, &NO_STOP).unwrap() else { break };
        let done = stats.end_offset >= stats.first_uncleanable_offset;
        passes.push(stats);
        if done {
            break;
        }
    }
    passes
}

/// Every record from the log start, checking each batch's CRC and order.
fn read_records(log: &PartitionLog) -> Vec<Rec> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    let mut last = -1;
    while let Some(slice) = log.read(offset, 1, i64::MAX).unwrap().data {
        let bytes = slice.read().unwrap();
        assert!(crate::batch::crc_is_valid(&bytes), "batch at {offset}");
        let header = BatchHeader::parse(&bytes).unwrap();
        assert!(header.base_offset > last, "batches in order");
        last = header.last_offset();
        out.extend(decode(&bytes).into_iter().map(|(o, k, v, _)| (o, k, v)));
        offset = header.next_offset();
    }
    out
}

/// Latest value per key, tombstones deleting.
fn view(records: &[Rec]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut map = BTreeMap::new();
    for (_, key, value) in records {
        let key = key.clone().unwrap();
        match value {
            Some(v) => map.insert(key, v.clone()),
            None => map.remove(&key),
        };
    }
    map
}

/// No record below `end` is superseded by a later one of its key below `end`.
fn assert_compacted_below(records: &[Rec], end: i64) {
    let mut seen = std::collections::HashSet::new();
    for (offset, key, _) in records.iter().rev().filter(|r| r.0 < end) {
        assert!(seen.insert(key.clone()), "offset {offset} is superseded below {end}");
    }
}

fn active_base(log: &PartitionLog) -> i64 {
    *log.read_lock().segments.keys().next_back().unwrap()
}

#[test]
fn the_latest_value_per_key_survives_many_segments_and_several_passes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    for i in 0..400 {
        let key = format!("key-{}", i % 20);
        produce(&log, vec![kv(&key, Some(&format!("value-{i}")))], Compression::None, NOW + i);
    }
    let before = read_records(&log);
    let segments_before = log.segment_count();
    let active = active_base(&log);
    let passes = clean_all(&log, NOW + 1000, &cleaner(9));
    assert!(passes.len() >= 3, "20 keys, 9 per pass: {} passes", passes.len());
    let after = read_records(&log);
    assert_eq!(view(&after), view(&before));
    assert_compacted_below(&after, active);
    let untouched: Vec<&Rec> = before.iter().filter(|r| r.0 >= active).collect();
    assert_eq!(after.iter().filter(|r| r.0 >= active).collect::<Vec<_>>(), untouched, "the active segment is untouched");
    assert_eq!(after.iter().filter(|r| r.0 < active).count(), 20, "one record per key below the active segment");
    assert!(log.segment_count() <= 5, "{segments_before} segments merged into {}", log.segment_count());
    assert_eq!(log.cleaner_checkpoint(), Some(active));
    assert!(log.clean(NOW + 1000, &cleaner(9), &NO_STOP).unwrap().is_none(), "nothing dirty is left");
}

#[test]
fn tombstones_outlive_compaction_by_delete_retention_ms_then_go() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig { delete_retention_ms: 10_000, ..config() }, true).unwrap();
    let fill = |from: i64| {
        for i in 0..30 {
            produce(&log, vec![kv(&format!("filler-{}", i % 3), Some("x"))], Compression::Gzip, NOW + from + i);
        }
    };
    produce(&log, vec![kv("gone", Some("1")), kv("kept", Some("1"))], Compression::Gzip, NOW);
    produce(&log, vec![kv("gone", None)], Compression::Gzip, NOW + 1);
    fill(2);
    let tombstone = |log: &PartitionLog| read_records(log).iter().any(|r| r.1.as_deref() == Some(b"gone".as_slice()));
    clean_all(&log, NOW + 100, &cleaner(100));
    let records = read_records(&log);
    assert_eq!(records.iter().filter(|r| r.1.as_deref() == Some(b"gone".as_slice())).collect::<Vec<_>>().len(), 1);
    assert!(tombstone(&log), "the tombstone stays after the first compaction");
    fill(200);
    clean_all(&log, NOW + 100 + 9_999, &cleaner(100));
    assert!(tombstone(&log), "within delete.retention.ms");
    fill(400);
    clean_all(&log, NOW + 100 + 10_000, &cleaner(100));
    assert!(!tombstone(&log), "past delete.retention.ms the tombstone goes");
    assert_eq!(view(&read_records(&log)).get(b"kept".as_slice()), Some(&b"1".to_vec()));
}

#[test]
fn idempotent_producers_keep_their_sequence_state_through_compaction_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut retry = None;
    {
        let log = open(dir.path(), true);
        for seq in 0..5 {
            let spec = Spec { records: vec![kv("k", Some("p"))], ..Spec::default() }.idempotent(42, 0, seq);
            let batch = build(&spec);
            log.append_records(&batch, 0, NOW).unwrap();
            retry = Some(spec);
        }
        // Later writes supersede every record of the producer.
        for i in 0..40 {
            produce(&log, vec![kv("k", Some(&i.to_string()))], Compression::None, NOW + i);
        }
        clean_all(&log, NOW + 100, &cleaner(10));
        let spec = retry.clone().unwrap();
        let again = log.append_records(&build(&spec), 0, NOW).unwrap();
        assert!(again.duplicate && again.base_offset == 4, "{again:?}");
        let header = log.headers_from(0).unwrap().into_iter().find(|h| h.producer_id == 42).unwrap();
        assert_eq!((header.records_count, header.base_offset, header.last_sequence()), (0, 4, 4), "kept as an empty batch");
    }
    // Without snapshots the state is rebuilt from the batches compaction kept.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snapshot") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let log = open(dir.path(), false);
    let spec = retry.unwrap();
    assert!(log.append_records(&build(&spec), 0, NOW).unwrap().duplicate);
    let gap = Spec { records: vec![kv("k", Some("p"))], ..Spec::default() }.idempotent(42, 0, 7);
    assert!(matches!(log.append_records(&build(&gap), 0, NOW), Err(AppendError::Producer(_))), "out of order");
    let next = Spec { records: vec![kv("k", Some("p"))], ..Spec::default() }.idempotent(42, 0, 5);
    assert!(!log.append_records(&build(&next), 0, NOW).unwrap().duplicate);
}

#[test]
fn offsets_and_indexes_are_right_after_compaction_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    for i in 0..200 {
        let records = (0..3).map(|j| kv(&format!("key-{}", (i * 3 + j) % 37), Some("v"))).collect();
        produce(&log, records, Compression::Snappy, NOW + i * 10);
    }
    clean_all(&log, NOW + 10_000, &cleaner(100));
    let records = read_records(&log);
    let check = |log: &PartitionLog| {
        for window in records.windows(2) {
            let (offset, next) = (window[0].0, window[1].0);
            for probe in offset..next {
                // Every offset is served by the batch holding it or, when compacted away, the next one.
                let bytes = log.read(probe, 1, i64::MAX).unwrap().data.unwrap().read().unwrap();
                let header = BatchHeader::parse(&bytes).unwrap();
                assert!(header.last_offset() >= probe && header.base_offset <= next, "probe {probe}");
            }
        }
        let timestamps: Vec<(i64, i64)> = records.iter().map(|r| (r.0, timestamp_of(log, r.0))).collect();
        for &(offset, ts) in &timestamps {
            let found = log.offset_for_timestamp(ts).unwrap().unwrap();
            let expected = timestamps.iter().find(|&&(_, t)| t >= ts).unwrap();
            assert_eq!((found.offset, found.timestamp), *expected, "lookup of {ts} (record {offset})");
        }
    };
    check(&log);
    drop(log);
    check(&open(dir.path(), true));
    check(&open(dir.path(), false));
}

fn timestamp_of(log: &PartitionLog, offset: i64) -> i64 {
    let bytes = log.read(offset, 1, i64::MAX).unwrap().data.unwrap().read().unwrap();
    decode(&bytes).into_iter().find(|r| r.0 == offset).unwrap().3
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn segment_bases_in(dir: &Path) -> Vec<i64> {
    crate::log::segment_bases(&crate::fs::os(), dir).unwrap()
}

#[test]
fn a_crash_at_any_step_of_the_swap_recovers_a_consistent_log() {
    let root = tempfile::tempdir().unwrap();
    let (before_dir, after_dir) = (root.path().join("before"), root.path().join("after"));
    {
        let log = open(&before_dir, true);
        for i in 0..120 {
            produce(&log, vec![kv(&format!("key-{}", i % 7), Some(&format!("{i}")))], Compression::Zstd, NOW + i);
        }
        log.snapshot_producers().unwrap();
    }
    copy_dir(&before_dir, &after_dir);
    {
        let log = open(&after_dir, true);
        log.set_config(LogConfig { segment_bytes: 1 << 20, ..config() }); // one group
        assert_eq!(clean_all(&log, NOW + 1000, &cleaner(100)).last().unwrap().segments_written, 1);
    }
    let before = read_records(&open(&before_dir, true));
    let after = read_records(&open(&after_dir, true));
    assert_ne!(before, after);
    assert_eq!(view(&before), view(&after));
    let bases = segment_bases_in(&before_dir);
    let group = &bases[..bases.len() - 1];
    let suffixes = [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX];
    // Puts the cleaned segment (base 0) of `after` into `dir`, each file in the given state.
    let place_cleaned = |dir: &Path, states: [Option<&str>; 3]| {
        for (suffix, state) in suffixes.iter().zip(states) {
            std::fs::copy(segment_file(&after_dir, 0, suffix, None), segment_file(dir, 0, suffix, state)).unwrap();
        }
    };
    let mark_deleted = |dir: &Path, bases: &[i64]| {
        for &base in bases {
            for suffix in suffixes {
                std::fs::rename(segment_file(dir, base, suffix, None), segment_file(dir, base, suffix, Some(DELETED_STATE))).unwrap();
            }
        }
    };
    let cases: Vec<CrashCase<'_>> = vec![
        ("cleaned files written", Box::new(|d: &Path| place_cleaned(d, [Some(CLEANED_STATE); 3])), &before),
        ("indexes renamed to swap, log not yet", Box::new(|d: &Path| place_cleaned(d, [Some(CLEANED_STATE), Some(SWAP_STATE), Some(SWAP_STATE)])), &before),
        ("swap committed", Box::new(|d: &Path| place_cleaned(d, [Some(SWAP_STATE); 3])), &after),
        ("some old segments renamed to deleted", Box::new(|d: &Path| {
            place_cleaned(d, [Some(SWAP_STATE); 3]);
            mark_deleted(d, &group[..group.len() / 2]);
        }), &after),
        ("indexes at their live names, log still swap", Box::new(|d: &Path| {
            mark_deleted(d, group);
            place_cleaned(d, [Some(SWAP_STATE), None, None]);
        }), &after),
    ];
    for (step, make, expected) in cases {
        let dir = root.path().join(step.replace(' ', "-"));
        copy_dir(&before_dir, &dir);
        make(&dir);
        let log = open(&dir, false);
        assert_eq!(&read_records(&log), expected, "crash when: {step}");
        produce(&log, vec![kv("key-0", Some("later"))], Compression::None, NOW + 2000);
        drop(log);
        let reopened = open(&dir, false);
        assert_eq!(view(&read_records(&reopened)).get(b"key-0".as_slice()), Some(&b"later".to_vec()), "{step}");
        let leftovers: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(CLEANED_STATE) || n.ends_with(SWAP_STATE) || n.ends_with(DELETED_STATE))
            .collect();
        assert!(leftovers.is_empty(), "{step}: {leftovers:?}");
    }
    // Old files still awaiting deletion after a finished swap.
    let dir = root.path().join("deleted-leftovers");
    copy_dir(&after_dir, &dir);
    for &base in group.iter().skip(1) {
        std::fs::copy(segment_file(&before_dir, base, LOG_SUFFIX, None), segment_file(&dir, base, LOG_SUFFIX, Some(DELETED_STATE))).unwrap();
    }
    assert_eq!(read_records(&open(&dir, false)), after);
}

#[test]
fn random_keyed_workloads_compact_to_the_model() {
    let codecs = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];
    for seed in 0..12u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(dir.path(), LogConfig { delete_retention_ms: 0, segment_bytes: 4096, ..config() }, true).unwrap();
        let keys = rng.random_range(1..40);
        let map_keys = rng.random_range(1..50);
        let mut now = NOW;
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for _ in 0..rng.random_range(20..80) {
            let records: Vec<KeyValue> = (0..rng.random_range(1..8))
                .map(|_| {
                    let key = format!("k{}", rng.random_range(0..keys)).into_bytes();
                    let value = (!rng.random_bool(0.15)).then(|| format!("v{}", rng.random::<u32>()).into_bytes());
                    match &value {
                        Some(v) => model.insert(key.clone(), v.clone()),
                        None => model.remove(&key),
                    };
                    (Some(key), value)
                })
                .collect();
            produce(&log, records, codecs[rng.random_range(0..codecs.len())], now);
            now += rng.random_range(0..50);
            if rng.random_bool(0.1) {
                clean_all(&log, now, &cleaner(map_keys));
                assert_eq!(view(&read_records(&log)), model, "seed {seed}, mid-way");
            }
        }
        clean_all(&log, now, &cleaner(map_keys));
        let records = read_records(&log);
        assert_eq!(view(&records), model, "seed {seed}");
        assert_compacted_below(&records, log.cleaner_checkpoint().unwrap_or(0));
    }
}

#[test]
fn appends_and_reads_go_on_while_compaction_runs() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::sync::Arc::new(PartitionLog::open(dir.path(), LogConfig { segment_bytes: 4096, ..config() }, true).unwrap());
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let writer = {
        let log = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            let mut model = BTreeMap::new();
            for i in 0..1000i64 {
                let key = format!("key-{}", i % 50);
                model.insert(key.clone().into_bytes(), i.to_string().into_bytes());
                produce(&log, vec![kv(&key, Some(&i.to_string()))], Compression::Lz4, NOW + i);
            }
            model
        })
    };
    let reader = {
        let (log, done) = (std::sync::Arc::clone(&log), std::sync::Arc::clone(&done));
        std::thread::spawn(move || {
            let mut scans = 0;
            while !done.load(std::sync::atomic::Ordering::Acquire) && scans < 10_000 {
                let records = read_records(&log); // checks CRCs and order
                assert!(records.windows(2).all(|w| w[0].0 < w[1].0));
                scans += 1;
            }
            scans
        })
    };
    let mut passes = 0;
    while !writer.is_finished() && passes < 10_000 {
        passes += clean_all(&log, NOW + 10_000, &cleaner(20)).len();
    }
    let model = writer.join().unwrap();
    done.store(true, std::sync::atomic::Ordering::Release);
    assert!(reader.join().unwrap() > 0);
    assert!(passes > 0);
    clean_all(&log, NOW + 10_000, &cleaner(20));
    assert_eq!(view(&read_records(&log)), model);
    assert_eq!(log.log_end_offset(), 1000);
}

#[test]
fn a_pass_whose_segments_changed_meanwhile_is_abandoned_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), LogConfig { cleanup_delete: true, retention_ms: 1000, ..config() }, true).unwrap();
    for i in 0..100 {
        produce(&log, vec![kv(&format!("key-{}", i % 5), Some("v"))], Compression::None, NOW + i);
    }
    // Retention deletes every old segment between the plan and the swap.
    let snapshot = log.snapshot(NOW).unwrap().unwrap();
    let group: Vec<&SegmentView> = snapshot.segments.iter().take(1).collect();
    let cleaned = Segment::create_in_state(&crate::fs::os(), dir.path(), group[0].info.base_offset, 64, Some(CLEANED_STATE)).unwrap();
    assert!(log.apply_retention(NOW + 100_000).unwrap() > 0);
    assert!(!log.swap_in(cleaned, &group).unwrap());
    assert!(!segment_file(dir.path(), 0, LOG_SUFFIX, Some(CLEANED_STATE)).exists());
    assert!(read_records(&log).iter().all(|r| r.0 >= log.log_start_offset()));
}

/// Throughput of one full compaction, for the record (`cargo test --release
/// -p strom-storage measure_compaction -- --ignored --nocapture`).
#[test]
#[ignore]
fn measure_compaction() {
    for codec in [Compression::None, Compression::Lz4] {
        let dir = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(dir.path(), LogConfig { segment_bytes: 1 << 20, ..config() }, true).unwrap();
        let value = "x".repeat(100);
        for i in 0..20_000i64 {
            let records = (0..10).map(|j| kv(&format!("key-{}", (i * 10 + j) % 10_000), Some(&value))).collect();
            produce(&log, records, codec, NOW + i);
        }
        let size = log.size_bytes();
        let started = std::time::Instant::now();
        let passes = clean_all(&log, NOW + 100_000, &CleanerConfig::default());
        let elapsed = started.elapsed();
        let read: u64 = passes.iter().map(|p| p.bytes_read).sum();
        println!(
            "{codec:?}: {} MB log, {} MB read in {:?} ({:.0} MB/s), {} -> {} bytes, passes {}",
            size >> 20,
            read >> 20,
            elapsed,
            read as f64 / 1e6 / elapsed.as_secs_f64(),
            size,
            log.size_bytes(),
            passes.len()
        );
    }
}

#[test]
fn nothing_at_or_after_an_open_transaction_is_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    for i in 0..30 {
        produce(&log, vec![kv(&format!("key-{}", i % 3), Some("before"))], Compression::None, NOW + i);
    }
    let mut txn = Spec { records: vec![kv("key-0", Some("in-txn"))], ..Spec::default() }.idempotent(5, 0, 0);
    txn.transactional = true;
    let open_txn = log.append_records(&build(&txn), 0, NOW).unwrap().base_offset;
    for i in 0..30 {
        produce(&log, vec![kv(&format!("key-{}", i % 3), Some("after"))], Compression::None, NOW + 100 + i);
    }
    let before = read_records(&log);
    let passes = clean_all(&log, NOW + 1000, &cleaner(100));
    assert_eq!(passes.last().unwrap().first_uncleanable_offset, open_txn);
    let after = read_records(&log);
    assert_eq!(after.iter().filter(|r| r.0 >= open_txn).collect::<Vec<_>>(), before.iter().filter(|r| r.0 >= open_txn).collect::<Vec<_>>());
    assert_eq!(after.iter().filter(|r| r.0 < open_txn).count(), 3, "one record per key before the transaction");
}

/// Compaction keeps every transactional batch and marker, so an aborted
/// transaction stays in the aborted index of the segment that now holds its
/// marker, after cleaning and after an unclean restart, and read_committed
/// fetches still learn of it.
#[test]
fn aborted_transactions_survive_compaction_and_recovery() {
    use crate::control::ControlRecordType;
    use crate::log::TxnMarker;
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    let txn = Spec { transactional: true, ..Spec::with_records(3).idempotent(7, 0, 0) };
    log.append_records(&build(&txn), 0, NOW).unwrap();
    let marker = TxnMarker { producer_id: 7, producer_epoch: 0, coordinator_epoch: 0, control_type: ControlRecordType::Abort };
    log.write_txn_marker(marker, 0, NOW).unwrap();
    // Updates of the same keys, enough to roll several segments.
    for round in 0..30 {
        let value = format!("update-{round}");
        produce(&log, (0..3).map(|i| kv(&format!("key-{i}"), Some(&value))).collect(), Compression::None, NOW + round);
    }
    let end = log.log_end_offset();
    let before = log.aborted_transactions(0, end).unwrap();
    assert_eq!(before.len(), 1);
    let stats = clean_all(&log, NOW + 1000, &cleaner(1000));
    assert!(stats.iter().any(|s| s.records_read > s.records_retained), "something was compacted away");
    assert_eq!(log.aborted_transactions(0, end).unwrap(), before);
    drop(log);
    let reopened = open(dir.path(), false);
    assert_eq!(reopened.aborted_transactions(0, end).unwrap(), before);
    assert_eq!(reopened.last_stable_offset(), end);
}
