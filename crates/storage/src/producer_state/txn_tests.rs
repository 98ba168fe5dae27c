#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is a failure report

//! Every transition of a producer's transaction state, as Kafka's `ProducerAppendInfo`
//! and `ProducerStateManager` make them (cases after Kafka's ProducerStateManagerTest).

use rand::SeedableRng;

use super::error_codes::*;
use super::tests::{append, batch, code, control, random_state, transactional};
use super::*;
use crate::control::{ControlRecordType, EndTxnMarker};

const COMMIT: EndTxnMarker = EndTxnMarker { control_type: ControlRecordType::Commit, coordinator_epoch: 0 };
const ABORT: EndTxnMarker = EndTxnMarker { control_type: ControlRecordType::Abort, coordinator_epoch: 0 };

fn with_coordinator_epoch(marker: EndTxnMarker, coordinator_epoch: i32) -> EndTxnMarker {
    EndTxnMarker { coordinator_epoch, ..marker }
}

/// Checks, writes and completes a marker at `offset`: the log's marker path.
fn end_txn(state: &mut ProducerStateManager, producer_id: i64, epoch: i16, marker: EndTxnMarker, offset: i64) -> Option<CompletedTxn> {
    assert_eq!(state.check_marker(producer_id, epoch, marker.coordinator_epoch), Ok(()));
    let completed = state.record_marker(&control(batch(producer_id, epoch, -1, 1, offset)), &marker, 9000);
    if let Some(txn) = &completed {
        state.complete_txn(txn);
    }
    completed
}

fn open_txns(state: &ProducerStateManager) -> Vec<(i64, i64)> {
    state.ongoing_transactions().collect()
}

#[test]
fn a_transactional_batch_begins_a_transaction_and_later_ones_continue_it() {
    let mut state = ProducerStateManager::new();
    // An unknown producer begins one at any sequence, as idempotence allows.
    append(&mut state, transactional(batch(1, 0, 7, 3, 100)));
    assert_eq!(state.entry(1).unwrap().current_txn_first_offset, Some(100));
    append(&mut state, transactional(batch(1, 0, 10, 2, 110)));
    append(&mut state, transactional(batch(1, 0, 12, 1, 120)));
    assert_eq!(state.entry(1).unwrap().current_txn_first_offset, Some(100), "continued, not restarted");
    assert_eq!(open_txns(&state), vec![(100, 1)]);
    assert_eq!(state.first_unstable_offset(), Some(100));
    // Sequences are still checked inside a transaction, and retries are duplicates.
    assert_eq!(code(state.check(&transactional(batch(1, 0, 20, 1, 0)))), OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_eq!(
        state.check(&transactional(batch(1, 0, 10, 2, 0))),
        Ok(SequenceCheck::Duplicate { base_offset: 110, last_offset: 111 })
    );
    // A non-transactional batch while it is open: INVALID_TXN_STATE, after the sequence checks.
    assert_eq!(code(state.check(&batch(1, 0, 13, 1, 0))), INVALID_TXN_STATE);
    assert_eq!(code(state.check(&batch(1, 0, 14, 1, 0))), OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_eq!(state.check(&batch(1, 0, 13, 1, 0)), Err(ProducerStateError::ExpectedTransactional { producer_id: 1 }));
}

#[test]
fn commit_and_abort_end_the_transaction_and_report_it() {
    let mut state = ProducerStateManager::new();
    append(&mut state, transactional(batch(1, 0, 0, 2, 0)));
    let commit = end_txn(&mut state, 1, 0, with_coordinator_epoch(COMMIT, 3), 2).unwrap();
    assert_eq!(commit, CompletedTxn { producer_id: 1, first_offset: 0, last_offset: 2, aborted: false, last_stable_offset: 3 });
    let entry = state.entry(1).unwrap();
    assert_eq!((entry.current_txn_first_offset, entry.coordinator_epoch, entry.last_timestamp), (None, 3, 9000));
    assert_eq!(state.first_unstable_offset(), None);
    // The next transaction of the same producer, then an abort.
    append(&mut state, transactional(batch(1, 0, 2, 1, 3)));
    assert_eq!(state.first_unstable_offset(), Some(3));
    let abort = end_txn(&mut state, 1, 0, with_coordinator_epoch(ABORT, 3), 4).unwrap();
    assert!(abort.aborted);
    assert_eq!(abort.aborted_txn(), AbortedTxn { producer_id: 1, first_offset: 3, last_offset: 4, last_stable_offset: 5 });
    // Non-transactional writes are allowed again, in sequence.
    append(&mut state, batch(1, 0, 3, 1, 5));
}

#[test]
fn the_stable_offset_of_an_abort_is_the_oldest_other_open_transaction() {
    let mut state = ProducerStateManager::new();
    append(&mut state, transactional(batch(1, 0, 0, 1, 10)));
    append(&mut state, transactional(batch(2, 0, 0, 1, 11)));
    append(&mut state, transactional(batch(3, 0, 0, 1, 12)));
    assert_eq!(open_txns(&state), vec![(10, 1), (11, 2), (12, 3)]);
    // Producer 2 aborts: producer 1's transaction (10) is the oldest other one.
    let aborted = end_txn(&mut state, 2, 0, ABORT, 13).unwrap();
    assert_eq!(aborted.last_stable_offset, 10);
    assert_eq!(state.first_unstable_offset(), Some(10));
    // Producer 1 (the oldest) aborts: producer 3's (12) is next.
    assert_eq!(end_txn(&mut state, 1, 0, ABORT, 14).unwrap().last_stable_offset, 12);
    assert_eq!(state.first_unstable_offset(), Some(12));
    // The last one: the stable offset is right after its marker.
    assert_eq!(end_txn(&mut state, 3, 0, COMMIT, 15).unwrap().last_stable_offset, 16);
    assert_eq!(state.first_unstable_offset(), None);
}

#[test]
fn a_completed_transaction_stays_unstable_until_completed() {
    let mut state = ProducerStateManager::new();
    append(&mut state, transactional(batch(1, 0, 0, 1, 0)));
    let txn = state.record_marker(&control(batch(1, 0, -1, 1, 1)), &ABORT, 0).unwrap();
    // The entry is done, but until the abort is indexed the offset stays unstable.
    assert_eq!(state.entry(1).unwrap().current_txn_first_offset, None);
    assert_eq!(state.first_unstable_offset(), Some(0));
    state.complete_txn(&txn);
    assert_eq!(state.first_unstable_offset(), None);
    state.complete_txn(&txn); // twice: nothing more
}

#[test]
fn markers_without_an_open_transaction_are_accepted_and_complete_nothing() {
    let mut state = ProducerStateManager::new();
    // An unknown producer: the marker creates its entry with the marker's epochs.
    assert_eq!(end_txn(&mut state, 5, 3, with_coordinator_epoch(ABORT, 2), 0), None);
    let entry = state.entry(5).unwrap();
    assert_eq!((entry.epoch, entry.coordinator_epoch, entry.batches.len()), (3, 2, 0));
    // A known producer with no transaction open: the same, and its batches stay.
    append(&mut state, batch(6, 0, 0, 2, 1));
    assert_eq!(end_txn(&mut state, 6, 0, COMMIT, 3), None);
    assert_eq!(state.entry(6).unwrap().batches.len(), 1);
    assert_eq!(state.first_unstable_offset(), None);
}

#[test]
fn old_epochs_are_fenced_for_data_and_markers() {
    let mut state = ProducerStateManager::new();
    append(&mut state, transactional(batch(1, 5, 0, 1, 0)));
    // Data at an older epoch: INVALID_PRODUCER_EPOCH, transactional or not.
    assert_eq!(code(state.check(&transactional(batch(1, 4, 1, 1, 0)))), INVALID_PRODUCER_EPOCH);
    assert_eq!(code(state.check(&batch(1, 4, 0, 1, 0))), INVALID_PRODUCER_EPOCH);
    // A marker at an older epoch: INVALID_PRODUCER_EPOCH (Kafka's InvalidProducerEpochException).
    assert_eq!(
        state.check_marker(1, 4, 0),
        Err(ProducerStateError::InvalidProducerEpoch { producer_id: 1, epoch: 4, current: 5 })
    );
    assert_eq!(code(state.check_marker(1, 4, 0)), INVALID_PRODUCER_EPOCH);
    // The same epoch is fine (transactions v1 markers carry the producer's epoch).
    end_txn(&mut state, 1, 5, with_coordinator_epoch(ABORT, 7), 1).unwrap();
    // A coordinator epoch below the last marker's: TRANSACTION_COORDINATOR_FENCED.
    assert_eq!(
        state.check_marker(1, 5, 6),
        Err(ProducerStateError::CoordinatorFenced { producer_id: 1, coordinator_epoch: 6, current: 7 })
    );
    assert_eq!(code(state.check_marker(1, 5, 6)), TRANSACTION_COORDINATOR_FENCED);
    // The producer epoch is checked first, as in Kafka.
    assert_eq!(code(state.check_marker(1, 4, 6)), INVALID_PRODUCER_EPOCH);
    assert_eq!(state.check_marker(1, 5, 7), Ok(()));
    assert_eq!(state.check_marker(1, 6, 8), Ok(()));
}

#[test]
fn epoch_bumps_reset_sequences_and_fence_the_old_epoch() {
    let mut state = ProducerStateManager::new();
    append(&mut state, transactional(batch(1, 0, 0, 3, 0)));
    // A bumped epoch must restart at sequence 0; a transactional batch continues the
    // open transaction (its first offset stays), as Kafka's entry keeps it.
    assert_eq!(code(state.check(&transactional(batch(1, 1, 3, 1, 0)))), OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_eq!(code(state.check(&batch(1, 1, 0, 1, 0))), INVALID_TXN_STATE);
    append(&mut state, transactional(batch(1, 1, 0, 1, 3)));
    let entry = state.entry(1).unwrap();
    assert_eq!((entry.epoch, entry.batches.len(), entry.current_txn_first_offset), (1, 1, Some(0)));
    // The coordinator aborts with a newer epoch (InitProducerId fencing a zombie):
    // the marker bumps the epoch and forgets the batches.
    let aborted = end_txn(&mut state, 1, 2, ABORT, 4).unwrap();
    assert_eq!((aborted.first_offset, aborted.last_offset), (0, 4));
    let entry = state.entry(1).unwrap();
    assert_eq!((entry.epoch, entry.batches.len()), (2, 0));
    // The zombie at epoch 1 is fenced; the new epoch starts at sequence 0.
    assert_eq!(code(state.check(&transactional(batch(1, 1, 1, 1, 0)))), INVALID_PRODUCER_EPOCH);
    assert_eq!(code(state.check(&transactional(batch(1, 2, 5, 1, 0)))), OUT_OF_ORDER_SEQUENCE_NUMBER);
    append(&mut state, transactional(batch(1, 2, 0, 1, 5)));
    assert_eq!(state.first_unstable_offset(), Some(5));
}

#[test]
fn idempotent_and_transactional_writes_mix_as_in_kafka() {
    let mut state = ProducerStateManager::new();
    // Producer 1: idempotent, then a transaction, then idempotent again.
    append(&mut state, batch(1, 0, 0, 2, 0));
    append(&mut state, transactional(batch(1, 0, 2, 2, 2)));
    assert_eq!(code(state.check(&batch(1, 0, 4, 1, 0))), INVALID_TXN_STATE);
    // Producer 2 is unaffected by producer 1's transaction.
    append(&mut state, batch(2, 0, 0, 1, 4));
    append(&mut state, batch(2, 0, 1, 1, 5));
    end_txn(&mut state, 1, 0, COMMIT, 6).unwrap();
    append(&mut state, batch(1, 0, 4, 1, 7));
    // A duplicate of the transactional batch is still found after the commit.
    assert_eq!(
        state.check(&transactional(batch(1, 0, 2, 2, 0))),
        Ok(SequenceCheck::Duplicate { base_offset: 2, last_offset: 3 })
    );
    // Batches without a producer id are never tracked, transactional bit or not.
    append(&mut state, transactional(batch(-1, -1, -1, 1, 8)));
    assert_eq!((state.len(), state.first_unstable_offset()), (2, None));
}

#[test]
fn coordinator_batches_skip_sequences_but_not_epochs_or_transaction_state() {
    let mut state = ProducerStateManager::new();
    append(&mut state, transactional(batch(1, 3, 0, 1, 0)));
    for sequence in [-1, 0, 57] {
        assert_eq!(
            state.check_append(&transactional(batch(1, 3, sequence, 1, 0)), AppendOrigin::Coordinator),
            Ok(SequenceCheck::Append),
            "seq {sequence}"
        );
    }
    // A retry of a client batch is not a duplicate for the coordinator.
    assert_eq!(state.check_append(&transactional(batch(1, 3, 0, 1, 0)), AppendOrigin::Coordinator), Ok(SequenceCheck::Append));
    assert_eq!(code(state.check_append(&transactional(batch(1, 2, -1, 1, 0)), AppendOrigin::Coordinator)), INVALID_PRODUCER_EPOCH);
    assert_eq!(code(state.check_append(&batch(1, 3, -1, 1, 0), AppendOrigin::Coordinator)), INVALID_TXN_STATE);
    // Recorded without a sequence, it continues the transaction.
    state.record(&transactional(batch(1, 3, -1, 1, 1)), 0);
    assert_eq!(state.entry(1).unwrap().current_txn_first_offset, Some(0));
}

#[test]
fn truncation_keeps_the_open_transactions_in_step() {
    let mut state = ProducerStateManager::new();
    append(&mut state, transactional(batch(1, 0, 0, 1, 0)));
    append(&mut state, transactional(batch(2, 0, 0, 1, 1)));
    append(&mut state, transactional(batch(3, 0, 0, 1, 5)));
    state.truncate_to(3);
    assert_eq!(open_txns(&state), vec![(0, 1), (1, 2)]);
    state.truncate_to(1);
    assert_eq!(open_txns(&state), vec![(0, 1)]);
    assert_eq!(state.first_unstable_offset(), Some(0));
}

#[test]
fn snapshots_keep_open_transactions_and_coordinator_epochs() {
    let mut state = ProducerStateManager::new();
    append(&mut state, transactional(batch(1, 0, 0, 2, 10)));
    append(&mut state, batch(2, 4, 0, 1, 12));
    end_txn(&mut state, 2, 4, with_coordinator_epoch(COMMIT, 9), 13);
    append(&mut state, transactional(batch(3, 1, 0, 1, 14)));
    let (restored, up_to) = ProducerStateManager::from_snapshot(&state.snapshot(15)).unwrap();
    assert_eq!((&restored, up_to), (&state, 15));
    assert_eq!(open_txns(&restored), vec![(10, 1), (14, 3)]);
    assert_eq!(restored.entry(2).unwrap().coordinator_epoch, 9);
    assert_eq!(code(restored.check_marker(2, 4, 8)), TRANSACTION_COORDINATOR_FENCED);
    assert_eq!(code(restored.check(&batch(1, 0, 2, 1, 0))), INVALID_TXN_STATE);
}

/// A version 1 snapshot laid out by hand (as Strom wrote it before coordinator
/// epochs): one producer with an open transaction and one batch.
fn version_1_snapshot() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&500i64.to_be_bytes()); // up_to_offset
    body.extend_from_slice(&1u32.to_be_bytes()); // producers
    body.extend_from_slice(&42i64.to_be_bytes()); // producer id
    body.extend_from_slice(&3i16.to_be_bytes()); // epoch
    body.extend_from_slice(&1234i64.to_be_bytes()); // last timestamp
    body.extend_from_slice(&480i64.to_be_bytes()); // open transaction's first offset
    body.push(1); // batches
    body.extend_from_slice(&9i32.to_be_bytes()); // last sequence
    body.extend_from_slice(&499i64.to_be_bytes()); // last offset
    body.extend_from_slice(&4i32.to_be_bytes()); // offset delta
    body.extend_from_slice(&1200i64.to_be_bytes()); // timestamp
    let mut out = b"STPS".to_vec();
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

#[test]
fn version_1_snapshots_still_load() {
    let (state, up_to) = ProducerStateManager::from_snapshot(&version_1_snapshot()).unwrap();
    assert_eq!(up_to, 500);
    let entry = state.entry(42).unwrap();
    assert_eq!((entry.epoch, entry.last_timestamp, entry.current_txn_first_offset, entry.coordinator_epoch), (3, 1234, Some(480), -1));
    assert_eq!(entry.batches.iter().map(|b| (b.first_sequence(), b.first_offset())).collect::<Vec<_>>(), vec![(5, 495)]);
    assert_eq!(state.first_unstable_offset(), Some(480));
    // The encoder of version 1 (kept for this test) agrees with the layout above, and
    // any state survives a trip through version 1 except coordinator epochs.
    assert_eq!(snapshot::encode_v1(&state.producers, 500), version_1_snapshot());
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for _ in 0..10 {
        let mut state = random_state(&mut rng);
        let (restored, _) = ProducerStateManager::from_snapshot(&snapshot::encode_v1(&state.producers, 1)).unwrap();
        state.producers.values_mut().for_each(|e| e.coordinator_epoch = -1);
        assert_eq!(restored, state);
    }
}

#[test]
fn verification_guards_are_kept_until_the_transaction_starts() {
    let mut state = ProducerStateManager::new();
    let guard = state.start_verification(1, 3, 0, 100).unwrap();
    assert_eq!(state.start_verification(1, 3, 0, 200), Some(guard), "joined, not replaced");
    // The lowest sequence of the epoch is kept; a newer epoch starts over (Kafka's
    // maybeUpdateLowestSequenceAndEpoch); an older one changes nothing.
    state.start_verification(1, 1, 0, 0);
    state.start_verification(1, 2, 0, 0);
    assert_eq!(state.verification(1).map(|v| (v.lowest_sequence, v.epoch)), Some((1, 0)));
    state.start_verification(1, 7, 2, 0);
    state.start_verification(1, 0, 1, 0);
    assert_eq!(state.verification(1).map(|v| (v.lowest_sequence, v.epoch)), Some((7, 2)));
    // Higher sequences wait for the lowest one; a duplicate is still answered first.
    append(&mut state, batch(2, 0, 0, 1, 0));
    state.start_verification(2, 1, 0, 0);
    assert_eq!(code(state.check(&transactional(batch(2, 0, 2, 1, 0)))), OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_eq!(state.check(&batch(2, 0, 0, 1, 0)), Ok(SequenceCheck::Duplicate { base_offset: 0, last_offset: 0 }));
    // Without the current guard a transaction cannot begin: INVALID_TXN_STATE.
    let t = transactional(batch(1, 2, 7, 1, 5));
    assert_eq!(state.check_verified(&t, Some(guard)), Ok(()));
    assert_eq!(code(state.check_verified(&t, None)), INVALID_TXN_STATE);
    assert_eq!(state.check_verified(&t, None), Err(ProducerStateError::NotInTransaction { producer_id: 1 }));
    let other = ProducerStateManager::new().start_verification(1, 7, 2, 0);
    assert_eq!(code(state.check_verified(&t, other)), INVALID_TXN_STATE, "another partition's guard");
    assert_eq!(state.check_verified(&batch(1, 2, 7, 1, 5), None), Ok(()), "non-transactional writes need none");
    // The transaction's first write clears it; later writes need no guard.
    append(&mut state, t);
    assert!(state.verification(1).is_none());
    assert_eq!(state.start_verification(1, 8, 2, 0), None, "already open here");
    assert_eq!(state.check_verified(&transactional(batch(1, 2, 8, 1, 6)), None), Ok(()));
}

#[test]
fn a_marker_overtakes_a_pending_verification() {
    let mut state = ProducerStateManager::new();
    let stale = state.start_verification(1, 0, 0, 0).unwrap();
    // The coordinator aborts (a marker with no data here): the guard is gone, so the
    // late write cannot open a transaction nobody will end.
    end_txn(&mut state, 1, 0, ABORT, 0);
    assert!(state.verification(1).is_none());
    let late = transactional(batch(1, 0, 0, 1, 1));
    assert_eq!(code(state.check_verified(&late, Some(stale))), INVALID_TXN_STATE);
    let fresh = state.start_verification(1, 0, 0, 0).unwrap();
    assert_ne!(fresh, stale);
    assert_eq!(state.check_verified(&late, Some(fresh)), Ok(()));
}

#[test]
fn pending_verifications_are_bounded_and_expire() {
    let mut state = ProducerStateManager::new();
    for pid in 0..verification::MAX_PENDING_VERIFICATIONS as i64 + 1 {
        state.start_verification(pid, 0, 0, 1000 + pid);
    }
    assert!(state.verification(0).is_none(), "the oldest made room");
    assert!(state.verification(1).is_some() && state.verification(10_000).is_some());
    state.remove_expired(1000 + 5_000 + 10, 5_000);
    assert!(state.verification(10).is_none() && state.verification(10_000).is_some());
    // Verification state is never in snapshots.
    let (restored, _) = ProducerStateManager::from_snapshot(&state.snapshot(0)).unwrap();
    assert!(restored.verification(10_000).is_none());
}
