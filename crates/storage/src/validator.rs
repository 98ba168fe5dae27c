//! Validation and offset assignment of one partition's produced records, after Kafka's
//! `ProduceRequest.validateRecords`, `UnifiedLog.analyzeAndValidateRecords` and
//! `LogValidator` (in-place path, v2 only). Pure: no I/O, no clock (the caller passes `now_ms`).
//!
//! Checks run in Kafka's order, with Kafka's error codes: at least one whole batch, magic 2,
//! exactly one batch, baseOffset 0, size <= `max.message.bytes`, CRC, record count =
//! lastOffsetDelta + 1 > 0, no control batch, a sequence when there is a producer id,
//! timestamps, and keys on compacted topics. Then the batch is patched in place:
//! baseOffset, partitionLeaderEpoch and, for LogAppendTime topics, the timestamp
//! (recomputing the CRC). Records are never re-encoded or recompressed.
//!
//! Differences from Kafka, on purpose:
//! - Work is per batch. Records are walked only on compacted topics (keys must be read),
//!   decompressing with a hard bound (`max_decompressed_bytes`, by default [`MAX_DECOMPRESSED_BYTES`]). Elsewhere the CreateTime
//!   window is checked on the header's baseTimestamp and maxTimestamp instead of every
//!   record, and maxTimestamp is trusted instead of recomputed from the records.
//! - A record error stops at the first bad record (Kafka lists all of them).
//! - Bytes after the batch that do not form a whole batch are refused (CORRUPT_MESSAGE);
//!   Kafka silently trims them. An unknown codec is CORRUPT_MESSAGE (Kafka fails the
//!   request with an unexpected exception). A stream that does not decompress is
//!   CORRUPT_MESSAGE (Kafka: UNKNOWN_SERVER_ERROR); a decompressed size above the bound
//!   is MESSAGE_TOO_LARGE (Kafka has no bound; producers split batches on this error).

mod records;

use thiserror::Error;

use crate::batch::{
    self, BatchError, BatchHeader, Compression, TimestampType, HEADER_BYTES, LOG_OVERHEAD, MAGIC_V2, NO_TIMESTAMP,
};
use crate::producer_state::AppendOrigin;

pub use records::{first_record_at_or_after, MAX_DECOMPRESSED_BYTES};
pub(crate) use records::{read_varint, read_varlong, records_reader};

/// Kafka error codes used here (see Kafka's `Errors`).
pub mod error_codes {
    pub const CORRUPT_MESSAGE: i16 = 2;
    pub const MESSAGE_TOO_LARGE: i16 = 10;
    pub const INVALID_TIMESTAMP: i16 = 32;
    pub const UNSUPPORTED_COMPRESSION_TYPE: i16 = 76;
    pub const INVALID_RECORD: i16 = 87;
}

/// The topic configuration the validator needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationConfig {
    /// `max.message.bytes`: the largest batch accepted (Kafka default 1048588).
    pub max_message_bytes: usize,
    /// `cleanup.policy` contains `compact`: every record needs a key.
    pub compacted: bool,
    /// `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// `message.timestamp.before.max.ms` (Kafka default `i64::MAX`).
    pub timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms` (Kafka 4 default 3600000).
    pub timestamp_after_max_ms: i64,
    /// Most bytes the records may decompress to when they are walked.
    pub max_decompressed_bytes: u64,
}

impl Default for ValidationConfig {
    /// Kafka 4's topic defaults.
    fn default() -> Self {
        ValidationConfig {
            max_message_bytes: 1_048_588,
            compacted: false,
            timestamp_type: TimestampType::CreateTime,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: 3_600_000,
            max_decompressed_bytes: MAX_DECOMPRESSED_BYTES,
        }
    }
}

/// A batch that passed validation, with the offsets it was given.
/// Append exactly `records[..size]` (which is all of `records`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidatedBatch {
    pub base_offset: i64,
    pub last_offset: i64,
    /// The batch's maxTimestamp as stored (the append time on LogAppendTime topics).
    pub max_timestamp: i64,
    /// `Some(now_ms)` on LogAppendTime topics (the Produce response's log_append_time_ms).
    pub log_append_time: Option<i64>,
    pub record_count: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub is_transactional: bool,
    pub compression: Compression,
    /// Size of the batch in bytes.
    pub size: usize,
    /// The header as stored after offset assignment (for producer state and indexes).
    pub header: BatchHeader,
    /// The batch's first [`HEADER_BYTES`] as stored: every byte the broker
    /// changes (base offset, leader epoch, and on LogAppendTime topics the
    /// attributes, max timestamp and CRC) lies there. The rest of the batch is
    /// stored exactly as the producer sent it, so it is never copied.
    pub head: [u8; HEADER_BYTES],
}

#[cfg(test)]
impl ValidatedBatch {
    /// Turns the producer's bytes into the batch as stored (tests read it back).
    pub(crate) fn apply_to(&self, records: &mut [u8]) {
        records[..HEADER_BYTES].copy_from_slice(&self.head);
    }
}

/// Why produced records were refused. [`ValidationError::kafka_error_code`] gives the
/// partition's error code; `Display` gives the error_message for the client.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    #[error(
        "Produce requests with version >= 3 must have at least one record batch per partition"
    )]
    NoBatch,
    #[error("Produce requests with version >= 3 are only allowed to contain record batches with magic version 2 (got {0})")]
    NotMagicV2(i8),
    #[error("Produce requests with version >= 3 are only allowed to contain exactly one record batch per partition")]
    MoreThanOneBatch,
    #[error("Produce requests with version {0} are not allowed to use ZStandard compression")]
    ZstdNeedsProduceV7(i16),
    #[error("Record batch is corrupt: {0}")]
    Corrupt(BatchError),
    #[error("{0} bytes after the record batch do not form a whole batch")]
    TrailingBytes(usize),
    #[error("The baseOffset of the record batch should be 0, but it is {0}")]
    NonZeroBaseOffset(i64),
    #[error("The record batch size is {size} bytes which exceeds the maximum configured value of {max}.")]
    TooLarge { size: usize, max: usize },
    #[error("Record is corrupt (stored crc = {stored}, computed crc = {computed})")]
    CrcMismatch { stored: u32, computed: u32 },
    #[error("Batch has an invalid offset range: [0, {last_offset_delta}]")]
    InvalidOffsetRange { last_offset_delta: i32 },
    #[error("Invalid reported count for record batch: {0}")]
    InvalidCount(i32),
    #[error(
        "Inconsistent batch offset range [0, {last_offset_delta}] and count of records {count}"
    )]
    CountMismatch { last_offset_delta: i32, count: i32 },
    #[error("Clients are not allowed to write control records")]
    ControlBatch,
    #[error(
        "Invalid sequence number {base_sequence} in record batch with producerId {producer_id}"
    )]
    InvalidSequence {
        producer_id: i64,
        base_sequence: i32,
    },
    #[error("Timestamp {timestamp} of message is out of range. The timestamp should be within [{min}, {max}]")]
    TimestampOutOfRange {
        record_index: Option<i32>,
        timestamp: i64,
        min: i64,
        max: i64,
    },
    #[error("Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.")]
    LogAppendTimeFromProducer,
    #[error("Compacted topic cannot accept message without key")]
    MissingKey { record_index: i32 },
    #[error("Invalid record {record_index}: {reason}")]
    InvalidRecords { record_index: i32, reason: String },
    #[error("Records decompress to more than {limit} bytes")]
    DecompressedTooLarge { limit: u64 },
    #[error("Failed to decompress {codec} record stream: {reason}")]
    Decompression { codec: &'static str, reason: String },
}

impl ValidationError {
    /// The Kafka error code for the partition, as Apache Kafka returns it.
    pub fn kafka_error_code(&self) -> i16 {
        use error_codes::*;
        use ValidationError::*;
        match self {
            NoBatch | NotMagicV2(_) | MoreThanOneBatch | NonZeroBaseOffset(_) => INVALID_RECORD,
            InvalidOffsetRange { .. } | InvalidCount(_) | CountMismatch { .. } => INVALID_RECORD,
            ControlBatch | InvalidSequence { .. } | MissingKey { .. } | InvalidRecords { .. } => {
                INVALID_RECORD
            }
            ZstdNeedsProduceV7(_) => UNSUPPORTED_COMPRESSION_TYPE,
            Corrupt(_) | TrailingBytes(_) | CrcMismatch { .. } | Decompression { .. } => {
                CORRUPT_MESSAGE
            }
            TooLarge { .. } | DecompressedTooLarge { .. } => MESSAGE_TOO_LARGE,
            TimestampOutOfRange { .. } | LogAppendTimeFromProducer => INVALID_TIMESTAMP,
        }
    }

    /// For the Produce response's record_errors (v8+): the index of the bad record in the
    /// batch and its message, when the error is about one record.
    pub fn record_error(&self) -> Option<(i32, String)> {
        match self {
            ValidationError::TimestampOutOfRange {
                record_index: Some(i),
                ..
            }
            | ValidationError::MissingKey { record_index: i }
            | ValidationError::InvalidRecords {
                record_index: i, ..
            } => Some((*i, self.to_string())),
            _ => None,
        }
    }
}

/// Kafka refuses zstd batches in Produce requests below v7 (UNSUPPORTED_COMPRESSION_TYPE).
/// Call before [`validate_and_assign`] with the request's version.
pub fn check_produce_version(records: &[u8], produce_version: i16) -> Result<(), ValidationError> {
    match BatchHeader::parse(records) {
        Ok(header) if produce_version < 7 && header.compression() == Compression::Zstd => {
            Err(ValidationError::ZstdNeedsProduceV7(produce_version))
        }
        _ => Ok(()),
    }
}

/// Validates the records bytes of ONE partition from a Produce request and assigns offsets
/// starting at `next_offset`, without changing or copying them: the stored batch is
/// `ValidatedBatch::head` followed by `records[HEADER_BYTES..size]`. Then check the
/// producer state with `ValidatedBatch::header` and append.
pub fn validate_and_assign(
    records: &[u8],
    next_offset: i64,
    leader_epoch: i32,
    now_ms: i64,
    cfg: &ValidationConfig,
) -> Result<ValidatedBatch, ValidationError> {
    validate_and_assign_from(records, next_offset, leader_epoch, now_ms, cfg, AppendOrigin::Client)
}

/// [`validate_and_assign`] for a batch from `origin`: a coordinator's batch (e.g. a
/// transactional offset commit) may have a producer id without a sequence, as in Kafka.
/// Control batches are refused from every origin here: markers are written by
/// `PartitionLog::write_txn_marker`.
pub fn validate_and_assign_from(
    records: &[u8],
    next_offset: i64,
    leader_epoch: i32,
    now_ms: i64,
    cfg: &ValidationConfig,
    origin: AppendOrigin,
) -> Result<ValidatedBatch, ValidationError> {
    let size = single_batch_size(records)?;
    let header = BatchHeader::parse(records).map_err(ValidationError::Corrupt)?;
    check_batch(records, &header, cfg, origin)?;
    check_timestamps_in_header(&header, now_ms, cfg)?;
    if cfg.compacted {
        let window = create_time_window(&header, now_ms, cfg);
        records::check_records(&records[..size], &header, window, cfg.max_decompressed_bytes)?;
    }
    Ok(assign(&records[..size], header, next_offset, leader_epoch, now_ms, cfg))
}

/// Finds the one whole batch, as Kafka's `ByteBufferLogInputStream` and
/// `ProduceRequest.validateRecords` do, and returns its size.
fn single_batch_size(records: &[u8]) -> Result<usize, ValidationError> {
    let size = match next_batch_size(records)? {
        Some(size) if size <= records.len() => size,
        _ => return Err(ValidationError::NoBatch),
    };
    let magic = i8::from_be_bytes([records[16]]);
    if magic != MAGIC_V2 {
        return Err(ValidationError::NotMagicV2(magic));
    }
    let rest = &records[size..];
    match next_batch_size(rest)? {
        Some(next) if next <= rest.len() => Err(ValidationError::MoreThanOneBatch),
        _ if !rest.is_empty() => Err(ValidationError::TrailingBytes(rest.len())),
        _ => Ok(size),
    }
}

/// Kafka's `nextBatchSize`: `None` when too few bytes to tell, an error for a length below
/// Kafka's absolute minimum (14) or a magic outside 0..=2.
fn next_batch_size(bytes: &[u8]) -> Result<Option<usize>, ValidationError> {
    /// Kafka's `LegacyRecord.RECORD_OVERHEAD_V0`, the smallest length of any format.
    const MIN_RECORD_OVERHEAD: i32 = 14;
    let Some(length) = bytes.get(8..12) else {
        return Ok(None);
    };
    let length = i32::from_be_bytes([length[0], length[1], length[2], length[3]]);
    if length < MIN_RECORD_OVERHEAD {
        return Err(ValidationError::Corrupt(BatchError::BadLength(length)));
    }
    let Some(&magic) = bytes.get(16) else {
        return Ok(None);
    };
    let magic = i8::from_be_bytes([magic]);
    if !(0..=MAGIC_V2).contains(&magic) {
        return Err(ValidationError::Corrupt(BatchError::BadMagic(magic)));
    }
    // length >= 14 so the conversion cannot fail.
    Ok(usize::try_from(length).ok().map(|l| l + LOG_OVERHEAD))
}

/// Kafka's `analyzeAndValidateRecords` and `LogValidator.validateBatch` for a client batch.
fn check_batch(
    records: &[u8],
    header: &BatchHeader,
    cfg: &ValidationConfig,
    origin: AppendOrigin,
) -> Result<(), ValidationError> {
    if header.base_offset != 0 {
        return Err(ValidationError::NonZeroBaseOffset(header.base_offset));
    }
    if header.size() > cfg.max_message_bytes {
        return Err(ValidationError::TooLarge {
            size: header.size(),
            max: cfg.max_message_bytes,
        });
    }
    let computed = records.get(..header.size()).map_or(0, batch::compute_crc);
    if computed != header.crc {
        return Err(ValidationError::CrcMismatch {
            stored: header.crc,
            computed,
        });
    }
    let count_from_offsets = i64::from(header.last_offset_delta) + 1;
    if count_from_offsets <= 0 {
        return Err(ValidationError::InvalidOffsetRange {
            last_offset_delta: header.last_offset_delta,
        });
    }
    if header.records_count <= 0 {
        return Err(ValidationError::InvalidCount(header.records_count));
    }
    if count_from_offsets != i64::from(header.records_count) {
        return Err(ValidationError::CountMismatch {
            last_offset_delta: header.last_offset_delta,
            count: header.records_count,
        });
    }
    if header.is_control() {
        return Err(ValidationError::ControlBatch);
    }
    if origin == AppendOrigin::Client && header.has_producer_id() && header.base_sequence < 0 {
        return Err(ValidationError::InvalidSequence {
            producer_id: header.producer_id,
            base_sequence: header.base_sequence,
        });
    }
    Ok(())
}

/// The allowed CreateTime range `[now - before, now + after]`, if timestamps are checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimestampWindow {
    now_ms: i64,
    before_max_ms: i64,
    after_max_ms: i64,
}

impl TimestampWindow {
    /// Kafka's `recordHasInvalidTimestamp`, without overflow.
    fn check(&self, timestamp: i64, record_index: Option<i32>) -> Result<(), ValidationError> {
        let diff = i128::from(self.now_ms) - i128::from(timestamp);
        if diff > i128::from(self.before_max_ms) || -diff > i128::from(self.after_max_ms) {
            return Err(ValidationError::TimestampOutOfRange {
                record_index,
                timestamp,
                min: self.now_ms.saturating_sub(self.before_max_ms),
                max: self.now_ms.saturating_add(self.after_max_ms),
            });
        }
        Ok(())
    }
}

/// Records' own timestamps are checked only on CreateTime topics for CreateTime batches.
fn create_time_window(
    header: &BatchHeader,
    now_ms: i64,
    cfg: &ValidationConfig,
) -> Option<TimestampWindow> {
    (cfg.timestamp_type == TimestampType::CreateTime
        && header.timestamp_type() == TimestampType::CreateTime)
        .then_some(TimestampWindow {
            now_ms,
            before_max_ms: cfg.timestamp_before_max_ms,
            after_max_ms: cfg.timestamp_after_max_ms,
        })
}

/// Kafka's `validateTimestamp`, applied to what the header tells. In a LogAppendTime
/// batch every record's timestamp reads as maxTimestamp, so Kafka's per-record rule
/// reduces to one check; in a CreateTime batch the first record's timestamp is
/// baseTimestamp and the largest is maxTimestamp.
fn check_timestamps_in_header(
    header: &BatchHeader,
    now_ms: i64,
    cfg: &ValidationConfig,
) -> Result<(), ValidationError> {
    let window = TimestampWindow {
        now_ms,
        before_max_ms: cfg.timestamp_before_max_ms,
        after_max_ms: cfg.timestamp_after_max_ms,
    };
    match (cfg.timestamp_type, header.timestamp_type()) {
        (TimestampType::CreateTime, TimestampType::CreateTime) => {
            for ts in [header.base_timestamp, header.max_timestamp] {
                if ts != NO_TIMESTAMP {
                    window.check(ts, None)?;
                }
            }
            Ok(())
        }
        (TimestampType::CreateTime, TimestampType::LogAppendTime)
            if header.max_timestamp != NO_TIMESTAMP =>
        {
            window.check(header.max_timestamp, None)
        }
        (_, TimestampType::LogAppendTime) => Err(ValidationError::LogAppendTimeFromProducer),
        (TimestampType::LogAppendTime, TimestampType::CreateTime) => Ok(()),
    }
}

/// Kafka's in-place assignment: offsets, leader epoch and timestamp patched in the bytes.
/// Patches a copy of the header of `batch` (one whole, checked batch).
fn assign(
    batch: &[u8],
    header: BatchHeader,
    next_offset: i64,
    leader_epoch: i32,
    now_ms: i64,
    cfg: &ValidationConfig,
) -> ValidatedBatch {
    let mut head = [0u8; HEADER_BYTES];
    head.copy_from_slice(&batch[..HEADER_BYTES]);
    batch::set_base_offset(&mut head, next_offset);
    batch::set_partition_leader_epoch(&mut head, leader_epoch);
    let (max_timestamp, log_append_time) = match cfg.timestamp_type {
        TimestampType::LogAppendTime => (now_ms, Some(now_ms)),
        TimestampType::CreateTime => (header.max_timestamp, None),
    };
    batch::set_max_timestamp_in_header(&mut head, &batch[HEADER_BYTES..], cfg.timestamp_type, max_timestamp);
    let header = BatchHeader::parse(&head).unwrap_or(BatchHeader {
        base_offset: next_offset,
        partition_leader_epoch: leader_epoch,
        max_timestamp,
        ..header
    });
    ValidatedBatch {
        base_offset: header.base_offset,
        last_offset: header.last_offset(),
        max_timestamp,
        log_append_time,
        record_count: header.records_count,
        producer_id: header.producer_id,
        producer_epoch: header.producer_epoch,
        base_sequence: header.base_sequence,
        is_transactional: header.is_transactional(),
        compression: header.compression(),
        size: header.size(),
        header,
        head,
    }
}

#[cfg(test)]
mod tests;
