#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is a failure report

use rand::{Rng, SeedableRng};

use super::test_support::{build, refresh_crc, Spec};
use super::*;

/// A header with a distinct value in every field, written by hand.
fn hand_made_header() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x0102_0304_0506_0708i64.to_be_bytes()); // baseOffset
    b.extend_from_slice(&((HEADER_BYTES - LOG_OVERHEAD) as i32 + 3).to_be_bytes()); // batchLength
    b.extend_from_slice(&0x1122_3344i32.to_be_bytes()); // partitionLeaderEpoch
    b.push(2); // magic
    b.extend_from_slice(&[0; 4]); // crc, filled below
    b.extend_from_slice(&0x0033i16.to_be_bytes()); // attributes: lz4, transactional, control
    b.extend_from_slice(&41i32.to_be_bytes()); // lastOffsetDelta
    b.extend_from_slice(&1_600_000_000_000i64.to_be_bytes()); // baseTimestamp
    b.extend_from_slice(&1_600_000_000_999i64.to_be_bytes()); // maxTimestamp
    b.extend_from_slice(&987_654_321i64.to_be_bytes()); // producerId
    b.extend_from_slice(&7i16.to_be_bytes()); // producerEpoch
    b.extend_from_slice(&1234i32.to_be_bytes()); // baseSequence
    b.extend_from_slice(&42i32.to_be_bytes()); // records count
    b.extend_from_slice(&[9, 9, 9]); // "records"
    refresh_crc(&mut b);
    b
}

#[test]
fn parses_every_header_field() {
    let bytes = hand_made_header();
    let h = BatchHeader::parse(&bytes).expect("valid header");
    assert_eq!(h.base_offset, 0x0102_0304_0506_0708);
    assert_eq!(h.batch_length, 52);
    assert_eq!(h.partition_leader_epoch, 0x1122_3344);
    assert_eq!(h.magic, 2);
    assert_eq!(h.crc, crc32c::crc32c(&bytes[21..]));
    assert_eq!(h.attributes, 0x33);
    assert_eq!(h.last_offset_delta, 41);
    assert_eq!(h.base_timestamp, 1_600_000_000_000);
    assert_eq!(h.max_timestamp, 1_600_000_000_999);
    assert_eq!(h.producer_id, 987_654_321);
    assert_eq!(h.producer_epoch, 7);
    assert_eq!(h.base_sequence, 1234);
    assert_eq!(h.records_count, 42);
    assert_eq!(h.size(), 64);
    assert_eq!(h.last_offset(), 0x0102_0304_0506_0708 + 41);
    assert_eq!(h.next_offset(), 0x0102_0304_0506_0708 + 42);
    assert_eq!(h.compression(), Compression::Lz4);
    assert_eq!(h.timestamp_type(), TimestampType::CreateTime);
    assert!(h.is_transactional());
    assert!(h.is_control());
    assert!(h.has_producer_id());
    assert_eq!(h.last_sequence(), 1234 + 41);
    assert!(crc_is_valid(&bytes));
}

#[test]
fn parses_what_kafka_protocol_encodes() {
    for compression in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let spec = Spec::with_records(10)
            .idempotent(55, 3, 100)
            .compressed(compression);
        let bytes = build(&spec);
        let h = BatchHeader::parse(&bytes).expect("valid header");
        assert_eq!(h.size(), bytes.len());
        assert_eq!(h.base_offset, 0);
        assert_eq!(h.records_count, 10);
        assert_eq!(h.last_offset_delta, 9);
        assert_eq!(
            (h.producer_id, h.producer_epoch, h.base_sequence),
            (55, 3, 100)
        );
        assert_eq!(h.last_sequence(), 109);
        assert_eq!(h.compression(), compression);
        assert_eq!(h.base_timestamp, spec.base_timestamp);
        assert_eq!(h.max_timestamp, spec.base_timestamp + 9);
        assert!(!h.is_transactional() && !h.is_control());
        assert!(crc_is_valid(&bytes), "{compression:?}");
    }
}

#[test]
fn attribute_bits() {
    let mut bytes = hand_made_header();
    for (attributes, codec, log_append, txn, control) in [
        (0x00i16, Compression::None, false, false, false),
        (0x01, Compression::Gzip, false, false, false),
        (0x02, Compression::Snappy, false, false, false),
        (0x04, Compression::Zstd, false, false, false),
        (0x08, Compression::None, true, false, false),
        (0x10, Compression::None, false, true, false),
        (0x20, Compression::None, false, false, true),
        (0x4c, Compression::Zstd, true, false, false), // delete horizon bit ignored
    ] {
        bytes[21..23].copy_from_slice(&attributes.to_be_bytes());
        let h = BatchHeader::parse(&bytes).expect("valid");
        assert_eq!(h.compression(), codec);
        assert_eq!(
            h.timestamp_type() == TimestampType::LogAppendTime,
            log_append
        );
        assert_eq!(h.is_transactional(), txn);
        assert_eq!(h.is_control(), control);
    }
}

#[test]
fn parse_refuses_malformed_headers() {
    let bytes = hand_made_header();
    for len in 0..HEADER_BYTES {
        assert_eq!(
            BatchHeader::parse(&bytes[..len]),
            Err(BatchError::Truncated {
                needed: HEADER_BYTES,
                available: len
            })
        );
    }
    for magic in [0i8, 1, 3, -1, 127] {
        let mut b = bytes.clone();
        b[16] = magic as u8;
        assert_eq!(BatchHeader::parse(&b), Err(BatchError::BadMagic(magic)));
    }
    for length in [i32::MIN, -1, 0, 14, MIN_BATCH_LENGTH - 1] {
        let mut b = bytes.clone();
        b[8..12].copy_from_slice(&length.to_be_bytes());
        assert_eq!(BatchHeader::parse(&b), Err(BatchError::BadLength(length)));
    }
    for codec in 5u8..=7 {
        let mut b = bytes.clone();
        b[22] = codec;
        assert_eq!(
            BatchHeader::parse(&b),
            Err(BatchError::UnknownCompression(codec))
        );
    }
}

#[test]
fn sequence_arithmetic_wraps_like_kafka() {
    let mut h = BatchHeader::parse(&hand_made_header()).expect("valid");
    for (base, delta, last) in [
        (0, 0, 0),
        (0, 4, 4),
        (i32::MAX, 0, i32::MAX),
        (i32::MAX, 1, 0),
        (i32::MAX - 1, 3, 1),
        (i32::MAX - 10, 10, i32::MAX),
        (i32::MAX - 10, 11, 0),
    ] {
        h.base_sequence = base;
        h.last_offset_delta = delta;
        assert_eq!(h.last_sequence(), last, "base {base} delta {delta}");
        assert_eq!(decrement_sequence(last, delta), base);
    }
    h.base_sequence = NO_SEQUENCE;
    assert_eq!(h.last_sequence(), NO_SEQUENCE);
    assert_eq!(decrement_sequence(0, 1), i32::MAX);
    assert_eq!(increment_sequence(i32::MAX, i32::MAX), i32::MAX - 1);
}

#[test]
fn crc_covers_exactly_bytes_21_onwards() {
    let bytes = build(&Spec::with_records(3));
    assert!(crc_is_valid(&bytes));
    for at in 0..bytes.len() {
        let mut b = bytes.clone();
        b[at] ^= 0x40;
        let outside = at < 17;
        assert_eq!(crc_is_valid(&b), outside, "flip at {at}");
    }
    assert!(!crc_is_valid(&bytes[..HEADER_BYTES - 1]));
    assert!(!crc_is_valid(&[]));
}

#[test]
fn offset_and_epoch_rewrites_keep_the_crc() {
    let mut bytes = build(&Spec::with_records(5).compressed(Compression::Gzip));
    let before = bytes[17..].to_vec();
    set_base_offset(&mut bytes, 1_000_000_007);
    set_partition_leader_epoch(&mut bytes, 12);
    assert_eq!(&bytes[17..], &before[..], "nothing under the CRC changes");
    let h = BatchHeader::parse(&bytes).expect("valid");
    assert_eq!(
        (h.base_offset, h.partition_leader_epoch, h.last_offset()),
        (1_000_000_007, 12, 1_000_000_011)
    );
    assert!(crc_is_valid(&bytes));
    // Too-short slices are left alone, without panicking.
    let mut short = [0u8; 10];
    set_base_offset(&mut short, 5);
    set_log_append_time(&mut short, 5);
    assert_eq!(short, [0u8; 10]);
}

#[test]
fn log_append_time_rewrite_keeps_crc_and_other_bits() {
    let mut spec = Spec::with_records(4)
        .idempotent(1, 0, 0)
        .compressed(Compression::Snappy);
    spec.transactional = true;
    let mut bytes = build(&spec);
    set_log_append_time(&mut bytes, 1_800_000_000_000);
    assert!(crc_is_valid(&bytes));
    let h = BatchHeader::parse(&bytes).expect("valid");
    assert_eq!(h.timestamp_type(), TimestampType::LogAppendTime);
    assert_eq!(h.max_timestamp, 1_800_000_000_000);
    assert_eq!(h.compression(), Compression::Snappy);
    assert!(h.is_transactional());
    assert_eq!(
        h.base_timestamp, spec.base_timestamp,
        "baseTimestamp is kept, as in Kafka"
    );
    set_max_timestamp(&mut bytes, TimestampType::CreateTime, 5);
    let h = BatchHeader::parse(&bytes).expect("valid");
    assert_eq!(
        (h.timestamp_type(), h.max_timestamp),
        (TimestampType::CreateTime, 5)
    );
    assert!(crc_is_valid(&bytes) && h.is_transactional());
}

/// Random batches, concatenated as in a segment file, with their start positions.
fn random_log(rng: &mut impl Rng, batches: usize) -> (Vec<u8>, Vec<usize>) {
    let codecs = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    let mut log = Vec::new();
    let mut starts = Vec::new();
    let mut offset = 0i64;
    for _ in 0..batches {
        let n = rng.random_range(1..8);
        let spec = Spec::with_records(n).compressed(codecs[rng.random_range(0..codecs.len())]);
        let mut batch = build(&spec);
        set_base_offset(&mut batch, offset);
        offset += n as i64;
        starts.push(log.len());
        log.extend_from_slice(&batch);
    }
    (log, starts)
}

#[test]
fn scanner_yields_every_batch_of_a_clean_log() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let (log, starts) = random_log(&mut rng, 20);
    let found: Vec<_> = BatchScanner::new(&log).collect();
    assert_eq!(found.len(), 20);
    let mut next_offset = 0;
    for (item, start) in found.iter().zip(&starts) {
        let (position, header) = item.as_ref().expect("valid batch");
        assert_eq!(position, start);
        assert_eq!(header.base_offset, next_offset);
        next_offset = header.next_offset();
    }
    assert!(BatchScanner::new(&[]).next().is_none());
}

#[test]
fn scanner_stops_exactly_at_every_truncation_point() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let (log, starts) = random_log(&mut rng, 6);
    for cut in 0..=log.len() {
        let mut scanner = BatchScanner::new(&log[..cut]);
        let whole: Vec<usize> = starts
            .iter()
            .copied()
            .filter(|&s| {
                let end = s + BatchHeader::parse(&log[s..])
                    .map(|h| h.size())
                    .unwrap_or(usize::MAX);
                end <= cut
            })
            .collect();
        let mut yielded = Vec::new();
        let mut stop = None;
        for item in scanner.by_ref() {
            match item {
                Ok((position, _)) => yielded.push(position),
                Err(s) => stop = Some(s),
            }
        }
        assert_eq!(yielded, whole, "cut at {cut}");
        let valid_end = whole.last().map_or(0, |&s| {
            s + BatchHeader::parse(&log[s..]).map(|h| h.size()).unwrap_or(0)
        });
        assert_eq!(scanner.position(), valid_end);
        match stop {
            None => assert_eq!(valid_end, cut, "clean end only at a batch boundary"),
            Some(stop) => {
                assert_eq!(stop.position, valid_end, "cut at {cut}");
                assert!(
                    matches!(stop.reason, BatchError::Truncated { .. }),
                    "cut at {cut}: {stop}"
                );
            }
        }
    }
}

#[test]
fn scanner_never_yields_a_flipped_batch() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let (log, starts) = random_log(&mut rng, 5);
    for at in 0..log.len() {
        let damaged_batch = starts.iter().rposition(|&s| s <= at).unwrap_or(0);
        let within = at - starts[damaged_batch];
        for bit in [0x01u8, 0x80] {
            let mut bad = log.clone();
            bad[at] ^= bit;
            let items: Vec<_> = BatchScanner::new(&bad).collect();
            // Batches before the damage are intact.
            for (i, item) in items.iter().take(damaged_batch).enumerate() {
                assert_eq!(
                    item.as_ref().map(|(p, _)| *p),
                    Ok(starts[i]),
                    "flip at {at}"
                );
            }
            if within < 8 || (12..16).contains(&within) {
                // baseOffset and partitionLeaderEpoch are outside the CRC (as in Kafka).
                assert_eq!(items.len(), starts.len());
                assert!(items.iter().all(Result::is_ok));
            } else {
                assert_eq!(items.len(), damaged_batch + 1, "flip at {at}: {items:?}");
                let stop = items[damaged_batch]
                    .as_ref()
                    .expect_err("must stop at the damaged batch");
                assert_eq!(stop.position, starts[damaged_batch], "flip at {at}");
            }
        }
    }
}

#[test]
fn scanner_reports_why_it_stopped() {
    let batch = build(&Spec::with_records(2));
    let mut log = batch.clone();
    log.extend_from_slice(&batch);
    let size = batch.len();

    let mut crc = log.clone();
    crc[size + 70] ^= 1;
    let stop = BatchScanner::new(&crc)
        .nth(1)
        .and_then(Result::err)
        .expect("stop");
    assert_eq!(stop.position, size);
    assert!(matches!(stop.reason, BatchError::CrcMismatch { .. }));

    let mut magic = log.clone();
    magic[size + 16] = 1;
    assert_eq!(
        BatchScanner::new(&magic)
            .nth(1)
            .and_then(Result::err)
            .map(|s| s.reason),
        Some(BatchError::BadMagic(1))
    );

    let mut zero = log.clone();
    zero.extend_from_slice(&[0u8; 100]); // preallocated, zero-filled tail
    let stop = BatchScanner::new(&zero)
        .nth(2)
        .and_then(Result::err)
        .expect("stop");
    assert_eq!(
        (stop.position, stop.reason),
        (2 * size, BatchError::BadLength(0))
    );

    let mut huge = log.clone();
    huge[size + 8..size + 12].copy_from_slice(&i32::MAX.to_be_bytes());
    let stop = BatchScanner::new(&huge)
        .nth(1)
        .and_then(Result::err)
        .expect("stop");
    assert_eq!(stop.position, size);
    assert!(matches!(stop.reason, BatchError::Truncated { .. }));
}
