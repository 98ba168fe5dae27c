#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is a failure report

use rand::{Rng, SeedableRng};

use super::error_codes::*;
use super::*;
use crate::batch::test_support::{build, patch, with_payload, Spec};
use crate::batch::{crc_is_valid, BatchScanner};

const CODECS: [Compression; 5] = [
    Compression::None,
    Compression::Gzip,
    Compression::Snappy,
    Compression::Lz4,
    Compression::Zstd,
];

fn cfg() -> ValidationConfig {
    assert_eq!(ValidationConfig::default().max_message_bytes, 1_048_588);
    ValidationConfig {
        max_message_bytes: 1_048_588,
        compacted: false,
        timestamp_type: TimestampType::CreateTime,
        timestamp_before_max_ms: i64::MAX,
        timestamp_after_max_ms: 3_600_000,
        max_decompressed_bytes: MAX_DECOMPRESSED_BYTES,
    }
}

fn compacted() -> ValidationConfig {
    ValidationConfig {
        compacted: true,
        ..cfg()
    }
}

/// "Now" a second after the test batches' first timestamp.
fn now() -> i64 {
    Spec::default().base_timestamp + 1000
}

/// Validates `bytes` and, on success, turns them into the batch as stored.
fn validate(bytes: &mut [u8], cfg: &ValidationConfig) -> Result<ValidatedBatch, ValidationError> {
    let before = bytes.to_vec();
    let validated = validate_and_assign(bytes, 100, 7, now(), cfg);
    assert_eq!(bytes, &before[..], "validation never changes the producer's bytes");
    if let Ok(v) = &validated {
        v.apply_to(bytes);
    }
    validated
}

fn error_of(bytes: &mut [u8], cfg: &ValidationConfig) -> (i16, ValidationError) {
    let error = validate(bytes, cfg).expect_err("must be refused");
    (error.kafka_error_code(), error)
}

#[test]
fn assigns_offsets_in_a_copy_of_the_header_for_every_codec() {
    for codec in CODECS {
        let spec = Spec::with_records(10)
            .idempotent(42, 1, 5)
            .compressed(codec);
        let original = build(&spec);
        let mut bytes = original.clone();
        let v = validate(&mut bytes, &cfg()).expect("valid");
        assert_eq!(
            (v.base_offset, v.last_offset, v.record_count),
            (100, 109, 10),
            "{codec:?}"
        );
        assert_eq!(
            (v.producer_id, v.producer_epoch, v.base_sequence),
            (42, 1, 5)
        );
        assert_eq!(v.max_timestamp, spec.base_timestamp + 9);
        assert_eq!(v.log_append_time, None);
        assert_eq!(v.compression, codec);
        assert_eq!(v.size, bytes.len());
        assert!(!v.is_transactional);
        assert!(crc_is_valid(&bytes), "{codec:?}");
        assert_eq!(
            &bytes[16..],
            &original[16..],
            "only baseOffset and leader epoch change"
        );
        let h = BatchHeader::parse(&bytes).expect("valid");
        assert_eq!((h.base_offset, h.partition_leader_epoch), (100, 7));
        assert_eq!(v.header, h);
        // Compacted topics walk the records too.
        let mut bytes = original.clone();
        assert!(validate(&mut bytes, &compacted()).is_ok(), "{codec:?}");
    }
}

#[test]
fn log_append_time_topics_rewrite_the_timestamp() {
    for codec in CODECS {
        let mut bytes = build(&Spec::with_records(3).compressed(codec));
        let cfg = ValidationConfig {
            timestamp_type: TimestampType::LogAppendTime,
            ..compacted()
        };
        let v = validate(&mut bytes, &cfg).expect("valid");
        assert_eq!((v.max_timestamp, v.log_append_time), (now(), Some(now())));
        let h = BatchHeader::parse(&bytes).expect("valid");
        assert_eq!(
            (h.timestamp_type(), h.max_timestamp),
            (TimestampType::LogAppendTime, now())
        );
        assert!(crc_is_valid(&bytes));
    }
}

#[test]
fn transactional_batches_are_accepted() {
    let mut spec = Spec::with_records(2).idempotent(9, 0, 0);
    spec.transactional = true;
    let v = validate(&mut build(&spec), &cfg()).expect("valid");
    assert!(v.is_transactional);
}

#[test]
fn refuses_missing_or_partial_batches() {
    let batch = build(&Spec::with_records(2));
    assert_eq!(
        error_of(&mut [], &cfg()),
        (INVALID_RECORD, ValidationError::NoBatch)
    );
    for cut in [1, 11, 12, 16, 17, 60, 61, batch.len() - 1] {
        let mut b = batch[..cut].to_vec();
        assert_eq!(
            error_of(&mut b, &cfg()),
            (INVALID_RECORD, ValidationError::NoBatch),
            "cut {cut}"
        );
    }
}

#[test]
fn refuses_bad_lengths_and_magic() {
    let batch = build(&Spec::with_records(2));
    for length in [-1, 0, 13] {
        let mut b = batch.clone();
        b[8..12].copy_from_slice(&i32::to_be_bytes(length));
        assert_eq!(
            error_of(&mut b, &cfg()),
            (
                CORRUPT_MESSAGE,
                ValidationError::Corrupt(BatchError::BadLength(length))
            )
        );
    }
    // A v2 batch shorter than its header.
    let mut b = batch.clone();
    b[8..12].copy_from_slice(&20i32.to_be_bytes());
    b.truncate(32);
    assert!(matches!(
        error_of(&mut b, &cfg()),
        (CORRUPT_MESSAGE, ValidationError::Corrupt(_))
    ));
    for magic in [0i8, 1] {
        let mut b = batch.clone();
        b[16] = magic as u8;
        assert_eq!(
            error_of(&mut b, &cfg()),
            (INVALID_RECORD, ValidationError::NotMagicV2(magic))
        );
    }
    for magic in [3i8, -1] {
        let mut b = batch.clone();
        b[16] = magic as u8;
        assert_eq!(
            error_of(&mut b, &cfg()),
            (
                CORRUPT_MESSAGE,
                ValidationError::Corrupt(BatchError::BadMagic(magic))
            )
        );
    }
    let mut b = batch.clone();
    patch(&mut b, 22, &[6]);
    assert_eq!(
        error_of(&mut b, &cfg()),
        (
            CORRUPT_MESSAGE,
            ValidationError::Corrupt(BatchError::UnknownCompression(6))
        )
    );
}

#[test]
fn refuses_more_than_one_batch_and_trailing_bytes() {
    let batch = build(&Spec::with_records(2));
    let mut two = batch.clone();
    two.extend_from_slice(&batch);
    assert_eq!(
        error_of(&mut two, &cfg()),
        (INVALID_RECORD, ValidationError::MoreThanOneBatch)
    );
    let mut tail = batch.clone();
    tail.extend_from_slice(&[0, 0, 0]);
    assert_eq!(
        error_of(&mut tail, &cfg()),
        (CORRUPT_MESSAGE, ValidationError::TrailingBytes(3))
    );
    // A torn second batch is not a whole one.
    let mut torn = batch.clone();
    torn.extend_from_slice(&batch[..40]);
    assert_eq!(
        error_of(&mut torn, &cfg()),
        (CORRUPT_MESSAGE, ValidationError::TrailingBytes(40))
    );
    // A second batch with a broken length reads as corrupt, as in Kafka's stream.
    let mut bad = batch.clone();
    bad.extend_from_slice(&[0; 12]);
    assert_eq!(
        error_of(&mut bad, &cfg()),
        (
            CORRUPT_MESSAGE,
            ValidationError::Corrupt(BatchError::BadLength(0))
        )
    );
}

#[test]
fn refuses_non_zero_base_offset() {
    let mut b = build(&Spec::with_records(2));
    b[0..8].copy_from_slice(&5i64.to_be_bytes());
    assert_eq!(
        error_of(&mut b, &cfg()),
        (INVALID_RECORD, ValidationError::NonZeroBaseOffset(5))
    );
}

#[test]
fn refuses_batches_over_max_message_bytes() {
    let batch = build(&Spec::with_records(20));
    let size = batch.len();
    let at_limit = ValidationConfig {
        max_message_bytes: size,
        ..cfg()
    };
    assert!(validate(&mut batch.clone(), &at_limit).is_ok());
    let below = ValidationConfig {
        max_message_bytes: size - 1,
        ..cfg()
    };
    assert_eq!(
        error_of(&mut batch.clone(), &below),
        (
            MESSAGE_TOO_LARGE,
            ValidationError::TooLarge {
                size,
                max: size - 1
            }
        )
    );
}

#[test]
fn refuses_crc_mismatch_anywhere_under_the_crc() {
    let batch = build(&Spec::with_records(3).compressed(Compression::Gzip));
    for at in 21..batch.len() {
        let mut b = batch.clone();
        b[at] ^= 0x10;
        let (code, error) = error_of(&mut b, &cfg());
        assert_eq!(code, CORRUPT_MESSAGE, "flip at {at}: {error}");
    }
    let mut b = batch.clone();
    b[18] ^= 1;
    assert!(matches!(
        error_of(&mut b, &cfg()),
        (CORRUPT_MESSAGE, ValidationError::CrcMismatch { .. })
    ));
}

#[test]
fn refuses_inconsistent_counts() {
    let batch = build(&Spec::with_records(3));
    let cases: [(i32, i32, ValidationError); 4] = [
        (
            -1,
            0,
            ValidationError::InvalidOffsetRange {
                last_offset_delta: -1,
            },
        ),
        (
            i32::MIN,
            3,
            ValidationError::InvalidOffsetRange {
                last_offset_delta: i32::MIN,
            },
        ),
        (0, 0, ValidationError::InvalidCount(0)),
        (
            2,
            4,
            ValidationError::CountMismatch {
                last_offset_delta: 2,
                count: 4,
            },
        ),
    ];
    for (delta, count, expected) in cases {
        let mut b = batch.clone();
        patch(&mut b, 23, &delta.to_be_bytes());
        patch(&mut b, 57, &count.to_be_bytes());
        assert_eq!(error_of(&mut b, &cfg()), (INVALID_RECORD, expected));
    }
    let mut b = batch.clone();
    patch(&mut b, 57, &(-5i32).to_be_bytes());
    assert_eq!(
        error_of(&mut b, &cfg()),
        (INVALID_RECORD, ValidationError::InvalidCount(-5))
    );
}

#[test]
fn refuses_control_batches_from_clients() {
    let mut spec = Spec::with_records(1).idempotent(1, 0, 0);
    spec.control = true;
    assert_eq!(
        error_of(&mut build(&spec), &cfg()),
        (INVALID_RECORD, ValidationError::ControlBatch)
    );
}

#[test]
fn refuses_producer_id_without_sequence() {
    let spec = Spec::with_records(1).idempotent(77, 0, -1);
    assert_eq!(
        error_of(&mut build(&spec), &cfg()),
        (
            INVALID_RECORD,
            ValidationError::InvalidSequence {
                producer_id: 77,
                base_sequence: -1
            }
        )
    );
}

#[test]
fn checks_create_time_window() {
    let spec = Spec::with_records(3);
    // maxTimestamp more than after.max.ms ahead.
    let late = ValidationConfig {
        timestamp_after_max_ms: 10,
        ..cfg()
    };
    let now_early = spec.base_timestamp - 100;
    let error = validate_and_assign(&build(&spec), 0, 0, now_early, &late).expect_err("ahead");
    assert_eq!(error.kafka_error_code(), INVALID_TIMESTAMP);
    assert!(
        matches!(error, ValidationError::TimestampOutOfRange { timestamp, .. } if timestamp == spec.base_timestamp)
    );
    // baseTimestamp more than before.max.ms behind.
    let early = ValidationConfig {
        timestamp_before_max_ms: 500,
        ..cfg()
    };
    let error = validate(&mut build(&spec), &early).expect_err("behind");
    assert_eq!(
        error,
        ValidationError::TimestampOutOfRange {
            record_index: None,
            timestamp: spec.base_timestamp,
            min: now() - 500,
            max: now() + 3_600_000
        }
    );
    assert_eq!(error.record_error(), None);
    // Exactly at the edges is fine.
    let edge = ValidationConfig {
        timestamp_before_max_ms: 1000,
        timestamp_after_max_ms: 0,
        ..cfg()
    };
    let at_edge = Spec {
        records: vec![(Some(b"k".to_vec()), None)],
        ..spec.clone()
    };
    assert!(validate(&mut build(&at_edge), &edge).is_ok());
    assert!(validate_and_assign(&build(&at_edge), 0, 0, spec.base_timestamp, &edge).is_ok());
    // NO_TIMESTAMP is never out of range; extreme values do not overflow.
    let mut b = build(&at_edge);
    patch(&mut b, 27, &NO_TIMESTAMP.to_be_bytes());
    patch(&mut b, 35, &NO_TIMESTAMP.to_be_bytes());
    assert!(validate(&mut b, &early).is_ok());
    for ts in [i64::MIN, i64::MAX] {
        let mut b = build(&at_edge);
        patch(&mut b, 35, &ts.to_be_bytes());
        assert_eq!(
            validate(&mut b, &cfg())
                .map_err(|e| e.kafka_error_code())
                .err(),
            Some(INVALID_TIMESTAMP)
        );
    }
    // LogAppendTime topics do not check the producer's timestamps.
    let lat = ValidationConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..early
    };
    assert!(validate(&mut build(&spec), &lat).is_ok());
}

#[test]
fn log_append_time_set_by_a_producer() {
    let spec = Spec::with_records(2);
    let mut lat_batch = build(&spec);
    let attributes = 0x08i16.to_be_bytes();
    patch(&mut lat_batch, 21, &attributes);
    // On a LogAppendTime topic Kafka always refuses it.
    let lat = ValidationConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..cfg()
    };
    assert_eq!(
        error_of(&mut lat_batch.clone(), &lat),
        (
            INVALID_TIMESTAMP,
            ValidationError::LogAppendTimeFromProducer
        )
    );
    // On a CreateTime topic maxTimestamp is checked and the batch turned into CreateTime.
    let mut b = lat_batch.clone();
    let v = validate(&mut b, &cfg()).expect("valid");
    let h = BatchHeader::parse(&b).expect("valid");
    assert_eq!(
        (h.timestamp_type(), h.max_timestamp, v.max_timestamp),
        (
            TimestampType::CreateTime,
            spec.base_timestamp + 1,
            spec.base_timestamp + 1
        )
    );
    assert!(crc_is_valid(&b));
    // ...and refused without a timestamp.
    let mut b = lat_batch.clone();
    patch(&mut b, 35, &NO_TIMESTAMP.to_be_bytes());
    assert_eq!(
        error_of(&mut b, &cfg()),
        (
            INVALID_TIMESTAMP,
            ValidationError::LogAppendTimeFromProducer
        )
    );
}

#[test]
fn compacted_topics_need_keys_in_every_codec() {
    for codec in CODECS {
        let mut spec = Spec::with_records(4).compressed(codec);
        spec.records[2].0 = None;
        let mut b = build(&spec);
        let error = validate(&mut b, &compacted()).expect_err("null key");
        assert_eq!(
            error,
            ValidationError::MissingKey { record_index: 2 },
            "{codec:?}"
        );
        assert_eq!(error.kafka_error_code(), INVALID_RECORD);
        assert_eq!(error.record_error().map(|(i, _)| i), Some(2));
        // Not compacted: accepted without looking.
        assert!(validate(&mut build(&spec), &cfg()).is_ok());
        // Empty keys are keys.
        spec.records[2].0 = Some(Vec::new());
        assert!(
            validate(&mut build(&spec), &compacted()).is_ok(),
            "{codec:?}"
        );
    }
}

#[test]
fn compacted_walk_checks_the_declared_count() {
    let batch = build(&Spec::with_records(3));
    // Declares 4 records, holds 3.
    let mut b = batch.clone();
    patch(&mut b, 23, &3i32.to_be_bytes());
    patch(&mut b, 57, &4i32.to_be_bytes());
    let error = validate(&mut b, &compacted()).expect_err("short");
    assert!(
        matches!(
            error,
            ValidationError::InvalidRecords {
                record_index: 3,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(error.kafka_error_code(), INVALID_RECORD);
    // Declares 2 records, holds 3.
    let mut b = batch.clone();
    patch(&mut b, 23, &1i32.to_be_bytes());
    patch(&mut b, 57, &2i32.to_be_bytes());
    let error = validate(&mut b, &compacted()).expect_err("long");
    assert!(
        error.to_string().contains("records still remaining"),
        "{error}"
    );
    // A record length running past the end.
    let mut payload = batch[61..].to_vec();
    payload[0] = 0x7e; // zig-zag 63: longer than the record
    let mut b = with_payload(&batch, &payload);
    let error = validate(&mut b, &compacted()).expect_err("overrun");
    assert_eq!(error.kafka_error_code(), INVALID_RECORD, "{error}");
    // A negative record length.
    payload[0] = 0x01;
    let mut b = with_payload(&batch, &payload);
    assert_eq!(
        validate(&mut b, &compacted())
            .map_err(|e| e.kafka_error_code())
            .err(),
        Some(INVALID_RECORD)
    );
}

#[test]
fn compacted_walk_checks_every_record_timestamp() {
    // Record 1 is far in the future while the header's timestamps are not (a lying producer).
    let spec = Spec::with_records(3);
    let batch = build(&spec);
    let mut payload = batch[61..].to_vec();
    // Record 1 starts after record 0; its timestamp delta is the third byte (length, attributes, delta).
    let record0_len = (payload[0] >> 1) as usize + 1;
    assert_eq!(payload[record0_len + 2], 2, "zig-zag delta 1");
    payload[record0_len + 2] = 0x7e; // delta 63 ms
    let b = with_payload(&batch, &payload);
    let tight = ValidationConfig {
        timestamp_after_max_ms: 0,
        ..compacted()
    };
    let error =
        validate_and_assign(&b, 0, 0, spec.base_timestamp + 2, &tight).expect_err("future");
    assert_eq!(
        error,
        ValidationError::TimestampOutOfRange {
            record_index: Some(1),
            timestamp: spec.base_timestamp + 63,
            min: (spec.base_timestamp + 2).saturating_sub(i64::MAX),
            max: spec.base_timestamp + 2
        }
    );
    assert_eq!(error.record_error().map(|(i, _)| i), Some(1));
}

/// One record claiming `value_bytes` of value, with the value all zeros.
fn huge_record_payload(value_bytes: usize) -> Vec<u8> {
    fn zigzag_varint(v: i64, out: &mut Vec<u8>) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            out.push((z as u8) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    }
    let mut body = vec![0u8, 0, 0]; // attributes, timestamp delta, offset delta
    zigzag_varint(1, &mut body);
    body.push(b'k');
    zigzag_varint(value_bytes as i64, &mut body);
    let mut record = Vec::new();
    zigzag_varint((body.len() + value_bytes + 1) as i64, &mut record);
    record.extend_from_slice(&body);
    record.resize(record.len() + value_bytes + 1, 0); // value, then 0 headers
    record
}

fn compress(codec: Compression, raw: &[u8]) -> Vec<u8> {
    use std::io::Write;
    match codec {
        Compression::None => raw.to_vec(),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            assert!(e.write_all(raw).is_ok());
            e.finish().unwrap_or_default()
        }
        Compression::Snappy => snap::raw::Encoder::new()
            .compress_vec(raw)
            .unwrap_or_default(),
        Compression::Lz4 => {
            let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
            assert!(e.write_all(raw).is_ok());
            e.finish().unwrap_or_default()
        }
        Compression::Zstd => {
            ruzstd::encoding::compress_to_vec(raw, ruzstd::encoding::CompressionLevel::Uncompressed)
        }
    }
}

#[test]
fn decompression_is_bounded() {
    let bomb = huge_record_payload(MAX_DECOMPRESSED_BYTES as usize + 1);
    let compacted = || ValidationConfig {
        max_message_bytes: usize::MAX,
        ..compacted()
    };
    for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4] {
        let template = build(&Spec::with_records(1).compressed(codec));
        let mut b = with_payload(&template, &compress(codec, &bomb));
        let error = validate(&mut b, &compacted()).expect_err("bomb");
        assert_eq!(
            error,
            ValidationError::DecompressedTooLarge {
                limit: MAX_DECOMPRESSED_BYTES
            },
            "{codec:?}"
        );
        assert_eq!(error.kafka_error_code(), MESSAGE_TOO_LARGE);
    }
    // Just under the bound is fine.
    let fits = huge_record_payload(MAX_DECOMPRESSED_BYTES as usize - 64);
    let template = build(&Spec::with_records(1).compressed(Compression::Gzip));
    let mut b = with_payload(&template, &compress(Compression::Gzip, &fits));
    assert!(validate(&mut b, &compacted()).is_ok());
}

#[test]
fn the_decompression_bound_is_the_configured_one() {
    let limit = 1 << 20;
    let roomy = || ValidationConfig { max_message_bytes: usize::MAX, ..compacted() };
    let small = || ValidationConfig { max_decompressed_bytes: limit, ..roomy() };
    let over = huge_record_payload(limit as usize + 1);
    for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
        let template = build(&Spec::with_records(1).compressed(codec));
        let mut b = with_payload(&template, &compress(codec, &over));
        assert_eq!(validate(&mut b, &small()), Err(ValidationError::DecompressedTooLarge { limit }), "{codec:?}");
        let mut b = with_payload(&template, &compress(codec, &over));
        assert!(validate(&mut b, &roomy()).is_ok(), "{codec:?} within the default bound");
    }
}

#[test]
fn zstd_and_raw_snappy_records_are_read() {
    let raw = huge_record_payload(1000);
    for codec in [Compression::Zstd, Compression::Snappy] {
        let template = build(&Spec::with_records(1).compressed(codec));
        let mut b = with_payload(&template, &compress(codec, &raw));
        assert!(validate(&mut b, &compacted()).is_ok(), "{codec:?}");
    }
}

#[test]
fn undecodable_compressed_payloads_are_corrupt() {
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let template = build(&Spec::with_records(1).compressed(codec));
        let mut b = with_payload(
            &template,
            b"definitely not compressed data, long enough to matter",
        );
        let error = validate(&mut b, &compacted()).expect_err("garbage");
        assert!(
            matches!(error.kafka_error_code(), CORRUPT_MESSAGE | INVALID_RECORD),
            "{codec:?}: {error}"
        );
    }
    let template = build(&Spec::with_records(1).compressed(Compression::Gzip));
    let mut b = with_payload(&template, b"\x1f\x8b\x08\x00garbage after a gzip magic");
    assert!(matches!(
        validate(&mut b, &compacted()),
        Err(ValidationError::Decompression { codec: "gzip", .. })
    ));
}

#[test]
fn random_damage_to_payloads_never_panics() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(21);
    for round in 0..400 {
        let codec = CODECS[round % CODECS.len()];
        let batch = build(&Spec::with_records(rng.random_range(1..6)).compressed(codec));
        let mut payload = batch[61..].to_vec();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..payload.len());
            payload[at] = rng.random();
        }
        if rng.random_bool(0.3) {
            payload.truncate(rng.random_range(0..payload.len()));
        }
        let mut b = with_payload(&batch, &payload);
        let _ = validate(&mut b, &compacted());
    }
}

#[test]
fn produce_versions_below_7_refuse_zstd() {
    let zstd = build(&Spec::with_records(1).compressed(Compression::Zstd));
    let error = check_produce_version(&zstd, 6).expect_err("v6");
    assert_eq!(error.kafka_error_code(), UNSUPPORTED_COMPRESSION_TYPE);
    assert!(check_produce_version(&zstd, 7).is_ok());
    assert!(check_produce_version(
        &build(&Spec::with_records(1).compressed(Compression::Lz4)),
        3
    )
    .is_ok());
    assert!(check_produce_version(&[], 3).is_ok());
}

#[test]
fn every_error_has_a_message_and_code() {
    let errors = [
        ValidationError::NoBatch,
        ValidationError::NotMagicV2(1),
        ValidationError::MoreThanOneBatch,
        ValidationError::ZstdNeedsProduceV7(6),
        ValidationError::Corrupt(BatchError::BadMagic(9)),
        ValidationError::TrailingBytes(1),
        ValidationError::NonZeroBaseOffset(1),
        ValidationError::TooLarge { size: 2, max: 1 },
        ValidationError::CrcMismatch {
            stored: 1,
            computed: 2,
        },
        ValidationError::InvalidOffsetRange {
            last_offset_delta: -1,
        },
        ValidationError::InvalidCount(0),
        ValidationError::CountMismatch {
            last_offset_delta: 1,
            count: 1,
        },
        ValidationError::ControlBatch,
        ValidationError::InvalidSequence {
            producer_id: 1,
            base_sequence: -1,
        },
        ValidationError::TimestampOutOfRange {
            record_index: None,
            timestamp: 1,
            min: 2,
            max: 3,
        },
        ValidationError::LogAppendTimeFromProducer,
        ValidationError::MissingKey { record_index: 0 },
        ValidationError::InvalidRecords {
            record_index: 0,
            reason: "x".into(),
        },
        ValidationError::DecompressedTooLarge { limit: 1 },
        ValidationError::Decompression {
            codec: "gzip",
            reason: "x".into(),
        },
    ];
    let codes: Vec<i16> = errors
        .iter()
        .map(ValidationError::kafka_error_code)
        .collect();
    assert_eq!(
        codes,
        [87, 87, 87, 76, 2, 2, 87, 10, 2, 87, 87, 87, 87, 87, 32, 32, 87, 87, 10, 2]
    );
    assert!(errors.iter().all(|e| !e.to_string().is_empty()));
}

#[test]
fn random_batches_validate_and_scan_back() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut log = Vec::new();
    let mut next_offset = 0i64;
    let mut expected = Vec::new();
    for _ in 0..60 {
        let n = rng.random_range(1..20);
        let codec = CODECS[rng.random_range(0..CODECS.len())];
        let mut batch = build(
            &Spec::with_records(n)
                .idempotent(3, 0, next_offset as i32)
                .compressed(codec),
        );
        let cfg = if rng.random_bool(0.5) {
            compacted()
        } else {
            cfg()
        };
        let v = validate_and_assign(&batch, next_offset, 2, now(), &cfg).expect("valid");
        v.apply_to(&mut batch);
        assert_eq!(v.last_offset - v.base_offset + 1, n as i64);
        expected.push((log.len(), v.header));
        next_offset = v.last_offset + 1;
        log.extend_from_slice(&batch);
    }
    let scanned: Vec<_> = BatchScanner::new(&log).map(|r| r.expect("valid")).collect();
    assert_eq!(scanned, expected);
}

#[test]
fn zstd_frames_asking_for_huge_windows_are_refused_before_decoding() {
    let template = build(&Spec::with_records(1).compressed(Compression::Zstd));
    // Magic, descriptor (no single segment), window descriptor: 2^(10+17) = 128 MiB.
    let mut b = with_payload(&template, &[0x28, 0xb5, 0x2f, 0xfd, 0x00, 17 << 3, 0, 0, 0]);
    assert_eq!(
        validate(&mut b, &compacted()),
        Err(ValidationError::DecompressedTooLarge {
            limit: MAX_DECOMPRESSED_BYTES
        })
    );
    // Single segment with an 8-byte content size of 1 GiB.
    let mut payload = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
    payload.extend_from_slice(&(1u64 << 30).to_le_bytes());
    let mut b = with_payload(&template, &payload);
    assert_eq!(
        validate(&mut b, &compacted()),
        Err(ValidationError::DecompressedTooLarge {
            limit: MAX_DECOMPRESSED_BYTES
        })
    );
    // What real encoders write passes the check (exercised by the other zstd tests).
    let raw = huge_record_payload(10);
    assert!(
        super::records::zstd_window_bytes(&compress(Compression::Zstd, &raw))
            .is_some_and(|w| w < 1 << 20)
    );
}

/// Found by the record_batch fuzz target (fuzz/regressions/record_batch/):
/// a base offset near i64::MAX plus a record's offset delta overflowed.
#[test]
fn record_offsets_saturate_instead_of_overflowing() {
    let mut b = build(&Spec::with_records(3));
    crate::batch::set_base_offset(&mut b, i64::MAX - 1);
    let last = Spec::with_records(3).base_timestamp + 2;
    assert_eq!(first_record_at_or_after(&b, last, MAX_DECOMPRESSED_BYTES), Ok(Some((i64::MAX, last))));
}
