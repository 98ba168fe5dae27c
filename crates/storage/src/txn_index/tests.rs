#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is a failure report

use super::*;

fn txn(producer_id: i64, first_offset: i64, last_offset: i64, last_stable_offset: i64) -> AbortedTxn {
    AbortedTxn { producer_id, first_offset, last_offset, last_stable_offset }
}

#[test]
fn entries_are_kafkas_34_byte_format() {
    let bytes = txn(0x0102_0304_0506_0708, 5, 9, 7).encode();
    let mut expected = vec![0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    for value in [5i64, 9, 7] {
        expected.extend_from_slice(&value.to_be_bytes());
    }
    assert_eq!(bytes.to_vec(), expected);
    assert_eq!(AbortedTxn::decode(&bytes), Some(txn(0x0102_0304_0506_0708, 5, 9, 7)));
    let mut v1 = bytes;
    v1[1] = 1;
    assert_eq!(AbortedTxn::decode(&v1), None, "unknown version");
}

#[test]
fn the_file_appears_with_the_first_entry_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("00000000000000000100.txnindex");
    let mut index = TxnIndex::create(&crate::fs::os(), &path).unwrap();
    assert!(!path.exists());
    assert_eq!(index.collect(0, i64::MAX).unwrap(), TxnIndexSearch { aborted: vec![], complete: false });
    assert!(index.append(txn(1, 90, 110, 100)).unwrap(), "created");
    assert!(!index.append(txn(2, 100, 120, 121)).unwrap());
    assert!(index.append(txn(3, 115, 120, 121)).is_err(), "markers only move forward");
    index.sync().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * ENTRY_BYTES as u64);
    let loaded = TxnIndex::load(&crate::fs::os(), &path, 100, 130).unwrap().unwrap();
    assert_eq!(loaded.all().unwrap(), vec![txn(1, 90, 110, 100), txn(2, 100, 120, 121)]);
    // A stale file at a new segment's base is removed.
    drop(loaded);
    assert!(TxnIndex::create(&crate::fs::os(), &path).unwrap().is_empty());
    assert!(!path.exists());
}

#[test]
fn damaged_or_implausible_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.txnindex");
    assert!(TxnIndex::load(&crate::fs::os(), &path, 0, 10).unwrap().unwrap().is_empty(), "missing = empty");
    let good = txn(1, 2, 5, 6).encode();
    std::fs::write(&path, &good[..20]).unwrap();
    assert!(TxnIndex::load(&crate::fs::os(), &path, 0, 10).unwrap().is_none(), "torn");
    for (bad, why) in [
        (txn(1, 2, 5, 6), "marker beyond the segment"),
        (txn(1, 6, 5, 6), "first after last"),
        (txn(1, 2, 5, 9), "stable offset past the marker"),
    ] {
        std::fs::write(&path, bad.encode()).unwrap();
        let (base, next) = if why.starts_with("marker") { (0, 5) } else { (0, 10) };
        assert!(TxnIndex::load(&crate::fs::os(), &path, base, next).unwrap().is_none(), "{why}");
    }
    std::fs::write(&path, [good, txn(2, 1, 4, 5).encode()].concat()).unwrap();
    assert!(TxnIndex::load(&crate::fs::os(), &path, 0, 10).unwrap().is_none(), "out of order");
    std::fs::write(&path, [good, txn(2, 1, 7, 8).encode()].concat()).unwrap();
    assert_eq!(TxnIndex::load(&crate::fs::os(), &path, 0, 10).unwrap().unwrap().all().unwrap().len(), 2);
}

#[test]
fn collect_answers_as_kafka_and_stops_at_the_stable_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = TxnIndex::create(&crate::fs::os(), &dir.path().join("0.txnindex")).unwrap();
    // Kafka's TransactionIndexTest.testCollectAbortedTransactions, and more.
    let all = [txn(0, 0, 10, 11), txn(1, 5, 15, 13), txn(2, 18, 35, 25), txn(3, 32, 50, 40)];
    for t in all {
        index.append(t).unwrap();
    }
    let collect = |from, to| index.collect(from, to).unwrap();
    assert_eq!(collect(0, 0), TxnIndexSearch { aborted: vec![], complete: true });
    assert_eq!(collect(0, 32), TxnIndexSearch { aborted: all[..3].to_vec(), complete: true });
    assert_eq!(collect(0, 35), TxnIndexSearch { aborted: all.to_vec(), complete: true });
    assert_eq!(collect(10, 40), TxnIndexSearch { aborted: all.to_vec(), complete: true });
    assert_eq!(collect(11, 15), TxnIndexSearch { aborted: all[1..2].to_vec(), complete: true });
    assert_eq!(collect(16, 50), TxnIndexSearch { aborted: all[2..].to_vec(), complete: false });
    assert_eq!(collect(51, 60), TxnIndexSearch { aborted: vec![], complete: false });
}

#[test]
fn truncation_and_reset_drop_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.txnindex");
    let mut index = TxnIndex::create(&crate::fs::os(), &path).unwrap();
    // More entries than one read holds, to cross chunk boundaries.
    let all: Vec<AbortedTxn> = (0..2500).map(|i| txn(i, i * 10, i * 10 + 5, i * 10 + 6)).collect();
    for t in &all {
        index.append(*t).unwrap();
    }
    assert_eq!(index.all().unwrap(), all);
    let search = index.collect(12_000, 12_010).unwrap();
    assert_eq!(search.aborted, vec![all[1200]]);
    assert!(search.complete);
    index.truncate_to(12_005).unwrap();
    assert_eq!(index.all().unwrap(), all[..1200]);
    index.append(txn(9, 12_001, 12_003, 12_004)).unwrap();
    assert_eq!(TxnIndex::load(&crate::fs::os(), &path, 0, 20_000).unwrap().unwrap().all().unwrap().len(), 1201);
    index.reset().unwrap();
    assert!(index.all().unwrap().is_empty());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    index.append(txn(1, 0, 1, 2)).unwrap();
    assert_eq!(index.all().unwrap(), vec![txn(1, 0, 1, 2)]);
}
