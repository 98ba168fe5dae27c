#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is a failure report

use rand::{Rng, SeedableRng};

use super::error_codes::*;
use super::*;
use crate::batch::test_support::{build, Spec};
use crate::batch::{BatchScanner, TimestampType};
use crate::control::{ControlRecordType, EndTxnMarker};
use crate::validator::{validate_and_assign, ValidationConfig};

/// A header as it looks after offset assignment.
pub(super) fn batch(
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    count: i32,
    base_offset: i64,
) -> BatchHeader {
    BatchHeader {
        base_offset,
        batch_length: 100,
        partition_leader_epoch: 0,
        magic: 2,
        crc: 0,
        attributes: 0,
        last_offset_delta: count - 1,
        base_timestamp: 1000,
        max_timestamp: 1000 + base_offset,
        producer_id,
        producer_epoch: epoch,
        base_sequence,
        records_count: count,
    }
}

pub(super) fn transactional(mut h: BatchHeader) -> BatchHeader {
    h.attributes |= 0x10;
    h
}

pub(super) fn control(mut h: BatchHeader) -> BatchHeader {
    h.attributes |= 0x30;
    h
}

/// Checks, then records: the broker's append path.
pub(super) fn append(state: &mut ProducerStateManager, h: BatchHeader) {
    assert_eq!(state.check(&h), Ok(SequenceCheck::Append), "{h:?}");
    state.record(&h, 5000);
}

pub(super) fn code<T: std::fmt::Debug>(result: Result<T, ProducerStateError>) -> i16 {
    result.expect_err("must be refused").kafka_error_code()
}

#[test]
fn in_order_batches_append() {
    let mut state = ProducerStateManager::new();
    let mut offset = 0;
    let mut sequence = 0;
    for count in [1, 5, 3, 10, 2, 7, 1] {
        append(&mut state, batch(1, 0, sequence, count, offset));
        sequence += count;
        offset += i64::from(count);
    }
    let entry = state.entry(1).expect("known");
    assert_eq!(entry.batches.len(), BATCHES_TO_RETAIN);
    assert_eq!(
        entry
            .batches
            .back()
            .map(|b| (b.last_sequence, b.last_offset)),
        Some((sequence - 1, offset - 1))
    );
    assert_eq!(entry.last_timestamp, 5000);
}

#[test]
fn duplicates_of_each_of_the_last_five() {
    let mut state = ProducerStateManager::new();
    let batches: Vec<BatchHeader> = (0..8)
        .map(|i| batch(4, 2, i * 3, 3, 100 + i64::from(i) * 10))
        .collect();
    for h in &batches {
        append(&mut state, *h);
    }
    for (i, h) in batches.iter().enumerate() {
        // A retry arrives before offset assignment: base offset 0.
        let retry = BatchHeader {
            base_offset: 0,
            ..*h
        };
        if i >= batches.len() - BATCHES_TO_RETAIN {
            assert_eq!(
                state.check(&retry),
                Ok(SequenceCheck::Duplicate {
                    base_offset: h.base_offset,
                    last_offset: h.last_offset()
                })
            );
            assert_eq!(
                state.duplicate_of(&retry).map(|b| b.timestamp),
                Some(h.max_timestamp)
            );
        } else {
            // Too old to be remembered: Kafka answers OUT_OF_ORDER_SEQUENCE_NUMBER.
            assert_eq!(
                code(state.check(&retry)),
                OUT_OF_ORDER_SEQUENCE_NUMBER,
                "batch {i}"
            );
        }
    }
    // Same base sequence, different range: not a duplicate.
    assert_eq!(
        code(state.check(&batch(4, 2, 21, 2, 0))),
        OUT_OF_ORDER_SEQUENCE_NUMBER
    );
    // Same range, other epoch: not a duplicate (and a fenced epoch).
    assert_eq!(
        code(state.check(&batch(4, 1, 21, 3, 0))),
        INVALID_PRODUCER_EPOCH
    );
}

#[test]
fn gaps_are_out_of_order() {
    let mut state = ProducerStateManager::new();
    append(&mut state, batch(1, 0, 0, 5, 0));
    for sequence in [6, 10, 4, 1, -1, i32::MAX] {
        let error = state.check(&batch(1, 0, sequence, 1, 0)).expect_err("gap");
        assert_eq!(
            error.kafka_error_code(),
            OUT_OF_ORDER_SEQUENCE_NUMBER,
            "seq {sequence}"
        );
        assert_eq!(
            error,
            ProducerStateError::OutOfOrderSequence {
                producer_id: 1,
                sequence,
                last_sequence: 4
            }
        );
    }
    assert_eq!(
        state.check(&batch(1, 0, 5, 1, 0)),
        Ok(SequenceCheck::Append)
    );
}

#[test]
fn old_epochs_are_fenced() {
    let mut state = ProducerStateManager::new();
    append(&mut state, batch(1, 5, 0, 1, 0));
    for epoch in [4, 0, -1, i16::MIN] {
        assert_eq!(
            state.check(&batch(1, epoch, 1, 1, 0)),
            Err(ProducerStateError::InvalidProducerEpoch {
                producer_id: 1,
                epoch,
                current: 5
            })
        );
    }
    assert_eq!(
        code(state.check(&batch(1, 4, 0, 1, 0))),
        INVALID_PRODUCER_EPOCH
    );
}

#[test]
fn epoch_bump_restarts_at_sequence_zero() {
    let mut state = ProducerStateManager::new();
    append(&mut state, batch(1, 0, 0, 3, 0));
    append(&mut state, batch(1, 0, 3, 3, 3));
    assert_eq!(
        state.check(&batch(1, 1, 6, 1, 0)),
        Err(ProducerStateError::NewEpochNotAtZero {
            producer_id: 1,
            epoch: 1,
            sequence: 6,
            current: 0
        })
    );
    assert_eq!(
        code(state.check(&batch(1, 1, 6, 1, 0))),
        OUT_OF_ORDER_SEQUENCE_NUMBER
    );
    append(&mut state, batch(1, 1, 0, 2, 6));
    let entry = state.entry(1).expect("known");
    assert_eq!(
        (entry.epoch, entry.batches.len()),
        (1, 1),
        "the old epoch's batches are forgotten"
    );
    // The old epoch's batches are no longer duplicates, and the old epoch is fenced.
    assert_eq!(
        code(state.check(&batch(1, 0, 3, 3, 0))),
        INVALID_PRODUCER_EPOCH
    );
    append(&mut state, batch(1, 1, 2, 1, 8));
}

#[test]
fn unknown_producers_start_at_any_sequence() {
    let state = ProducerStateManager::new();
    for sequence in [0, 1, 57, i32::MAX] {
        assert_eq!(
            state.check(&batch(9, 3, sequence, 1, 0)),
            Ok(SequenceCheck::Append)
        );
    }
    // Without a producer id there is nothing to check.
    let mut state = ProducerStateManager::new();
    append(&mut state, batch(-1, -1, -1, 10, 0));
    append(&mut state, batch(-1, -1, -1, 10, 10));
    assert!(state.is_empty());
}

#[test]
fn sequences_wrap_at_i32_max() {
    let mut state = ProducerStateManager::new();
    append(&mut state, batch(1, 0, i32::MAX - 4, 5, 0)); // ends at MAX
    assert_eq!(
        state
            .entry(1)
            .and_then(|e| e.batches.back())
            .map(|b| b.last_sequence),
        Some(i32::MAX)
    );
    append(&mut state, batch(1, 0, 0, 3, 5)); // wraps to 0
                                              // A batch that spans the wrap.
    let mut state = ProducerStateManager::new();
    append(&mut state, batch(2, 0, i32::MAX - 1, 4, 0)); // MAX-1, MAX, 0, 1
    let spanning = state
        .entry(2)
        .and_then(|e| e.batches.back())
        .copied()
        .expect("batch");
    assert_eq!(
        (spanning.first_sequence(), spanning.last_sequence),
        (i32::MAX - 1, 1)
    );
    assert_eq!(
        code(state.check(&batch(2, 0, 0, 1, 0))),
        OUT_OF_ORDER_SEQUENCE_NUMBER
    );
    assert_eq!(
        state.check(&batch(2, 0, i32::MAX - 1, 4, 0)),
        Ok(SequenceCheck::Duplicate {
            base_offset: 0,
            last_offset: 3
        })
    );
    append(&mut state, batch(2, 0, 2, 1, 4));
}

#[test]
fn transactions_open_and_end() {
    let mut state = ProducerStateManager::new();
    append(&mut state, transactional(batch(1, 0, 0, 2, 10)));
    append(&mut state, transactional(batch(1, 0, 2, 2, 12)));
    append(&mut state, batch(2, 0, 0, 1, 14));
    assert_eq!(state.first_unstable_offset(), Some(10));
    assert_eq!(code(state.check(&batch(1, 0, 4, 1, 0))), INVALID_TXN_STATE);
    // The commit marker (written by the broker) ends it.
    let marker = EndTxnMarker { control_type: ControlRecordType::Commit, coordinator_epoch: 0 };
    let completed = state.record_marker(&control(batch(1, 0, -1, 1, 16)), &marker, 6000);
    assert_eq!(completed.map(|t| (t.first_offset, t.last_offset, t.aborted)), Some((10, 16, false)));
    state.complete_txn(&completed.expect("completed"));
    assert_eq!(state.first_unstable_offset(), None);
    let entry = state.entry(1).expect("known");
    assert_eq!((entry.epoch, entry.batches.len()), (0, 2), "the same epoch keeps its batches");
    append(&mut state, batch(1, 0, 4, 1, 17));
    // Control batches are not data: record() ignores them.
    let before = state.clone();
    state.record(&control(batch(1, 3, -1, 1, 18)), 7000);
    assert_eq!(state, before);
}

#[test]
fn idle_producers_expire_unless_in_a_transaction() {
    let mut state = ProducerStateManager::new();
    state.record(&batch(1, 0, 0, 1, 0), 1_000);
    state.record(&batch(2, 0, 0, 1, 1), 5_000);
    state.record(&transactional(batch(3, 0, 0, 1, 2)), 1_000);
    state.remove_expired(10_999, 10_000);
    assert_eq!(state.len(), 3);
    state.remove_expired(11_000, 10_000);
    assert!(state.entry(1).is_none());
    assert!(state.entry(2).is_some() && state.entry(3).is_some());
    state.remove_expired(i64::MAX, 10_000);
    assert_eq!((state.entry(2), state.len()), (None, 1));
}

#[test]
fn truncation_forgets_batches_at_or_above_the_end() {
    let mut state = ProducerStateManager::new();
    append(&mut state, batch(1, 0, 0, 5, 0)); // 0..=4
    append(&mut state, batch(2, 0, 0, 5, 5)); // 5..=9
    append(&mut state, batch(1, 0, 5, 5, 10)); // 10..=14
    append(&mut state, transactional(batch(3, 0, 0, 5, 15))); // 15..=19
    state.truncate_to(10);
    assert_eq!(state.entry(1).map(|e| e.batches.len()), Some(1));
    assert!(state.entry(2).is_some());
    assert!(
        state.entry(3).is_none(),
        "its only batch and transaction were cut"
    );
    assert_eq!(state.first_unstable_offset(), None);
    // Producer 1 continues after what survived; its lost batch is no duplicate any more.
    assert_eq!(
        state.check(&batch(1, 0, 5, 5, 0)),
        Ok(SequenceCheck::Append)
    );
    state.truncate_to(5);
    assert!(state.entry(2).is_none());
    state.truncate_to(0);
    assert!(state.is_empty());
}

pub(super) fn random_state(rng: &mut impl Rng) -> ProducerStateManager {
    let mut state = ProducerStateManager::new();
    let mut offset = 0i64;
    for _ in 0..200 {
        let producer_id = rng.random_range(0..20);
        let entry = state.entry(producer_id).cloned();
        let (epoch, sequence) = match entry {
            Some(e) if rng.random_bool(0.9) => (
                e.epoch,
                crate::batch::increment_sequence(
                    e.batches.back().map_or(-1, |b| b.last_sequence),
                    1,
                ),
            ),
            Some(e) => (e.epoch + 1, 0),
            None => (rng.random_range(0..3), rng.random_range(0..i32::MAX)),
        };
        let count = rng.random_range(1..50);
        let mut h = batch(producer_id, epoch, sequence, count, offset);
        if rng.random_bool(0.1) {
            h = transactional(h);
        }
        if state.check(&h).is_ok() {
            state.record(&h, rng.random_range(0..1_000_000));
        }
        offset += i64::from(count);
        if rng.random_bool(0.1) {
            // A marker for a random producer, open transaction or not.
            let marker = EndTxnMarker {
                control_type: if rng.random_bool(0.5) { ControlRecordType::Commit } else { ControlRecordType::Abort },
                coordinator_epoch: rng.random_range(0..5),
            };
            let epoch = state.entry(producer_id).map_or(0, |e| e.epoch);
            if state.check_marker(producer_id, epoch, marker.coordinator_epoch).is_ok() {
                if let Some(txn) = state.record_marker(&control(batch(producer_id, epoch, -1, 1, offset)), &marker, 7) {
                    state.complete_txn(&txn);
                }
            }
            offset += 1;
        }
    }
    state
}

#[test]
fn snapshots_round_trip() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for _ in 0..20 {
        let state = random_state(&mut rng);
        let bytes = state.snapshot(12345);
        assert_eq!(
            ProducerStateManager::from_snapshot(&bytes),
            Ok((state, 12345))
        );
    }
    let empty = ProducerStateManager::new();
    assert_eq!(
        ProducerStateManager::from_snapshot(&empty.snapshot(0)),
        Ok((empty, 0))
    );
}

#[test]
fn dedup_survives_a_restart() {
    let mut state = ProducerStateManager::new();
    let batches: Vec<BatchHeader> = (0..5)
        .map(|i| batch(8, 0, i * 2, 2, i64::from(i) * 2))
        .collect();
    for h in &batches {
        append(&mut state, *h);
    }
    let (restored, _) = ProducerStateManager::from_snapshot(&state.snapshot(10)).expect("valid");
    for h in &batches {
        assert_eq!(
            restored.check(&BatchHeader {
                base_offset: 0,
                ..*h
            }),
            Ok(SequenceCheck::Duplicate {
                base_offset: h.base_offset,
                last_offset: h.last_offset()
            })
        );
    }
    assert_eq!(
        restored.check(&batch(8, 0, 10, 1, 0)),
        Ok(SequenceCheck::Append)
    );
}

#[test]
fn corrupt_snapshots_are_refused() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let bytes = random_state(&mut rng).snapshot(99);
    for at in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[at] ^= 0x04;
        let error = ProducerStateManager::from_snapshot(&bad).expect_err("flipped");
        assert!(
            matches!(error, ProducerStateError::CorruptSnapshot(_)),
            "flip at {at}"
        );
    }
    for len in 0..bytes.len() {
        assert!(
            ProducerStateManager::from_snapshot(&bytes[..len]).is_err(),
            "cut at {len}"
        );
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(ProducerStateManager::from_snapshot(&trailing).is_err());
    // A producer count that cannot fit, with a valid CRC: refused before any work.
    let mut huge = ProducerStateManager::new().snapshot(0);
    huge[18..22].copy_from_slice(&u32::MAX.to_be_bytes());
    let crc = crc32c::crc32c(&huge[10..]);
    huge[6..10].copy_from_slice(&crc.to_be_bytes());
    let error = ProducerStateManager::from_snapshot(&huge).expect_err("huge count");
    assert!(error.to_string().contains("cannot fit"), "{error}");
    // Another version.
    let mut version = bytes.clone();
    version[5] = 3;
    assert!(ProducerStateManager::from_snapshot(&version)
        .expect_err("v3")
        .to_string()
        .contains("version"));
}

#[test]
fn rebuilding_from_the_log_gives_the_live_state() {
    let cfg = ValidationConfig {
        max_message_bytes: 1 << 20,
        compacted: false,
        timestamp_type: TimestampType::CreateTime,
        timestamp_before_max_ms: i64::MAX,
        timestamp_after_max_ms: i64::MAX,
        max_decompressed_bytes: crate::validator::MAX_DECOMPRESSED_BYTES,
    };
    let mut live = ProducerStateManager::new();
    let mut log = Vec::new();
    let mut next_offset = 0;
    let mut sequences = [0i32; 3];
    for i in 0..30 {
        let producer = i % 3;
        let count = i % 4 + 1;
        let mut bytes =
            build(&Spec::with_records(count).idempotent(producer as i64, 0, sequences[producer]));
        let header = BatchHeader::parse(&bytes).expect("valid");
        assert_eq!(live.check(&header), Ok(SequenceCheck::Append));
        let v = validate_and_assign(&bytes, next_offset, 0, 0, &cfg).expect("valid");
        v.apply_to(&mut bytes);
        live.record(&v.header, v.max_timestamp);
        next_offset = v.last_offset + 1;
        sequences[producer] += count as i32;
        log.extend_from_slice(&bytes);
    }
    let mut rebuilt = ProducerStateManager::new();
    for item in BatchScanner::new(&log) {
        let (_, header) = item.expect("valid");
        rebuilt.record(&header, header.max_timestamp);
    }
    assert_eq!(rebuilt, live);
}
