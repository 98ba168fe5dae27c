//! The v2 record batch ("magic 2") header: parsed without copying and patched in place.
//!
//! Follows Kafka's `DefaultRecordBatch`. Batches are stored exactly as producers sent
//! them; the broker only rewrites `baseOffset` and `partitionLeaderEpoch`, which lie
//! outside the CRC, and (for LogAppendTime topics) the attributes and `maxTimestamp`,
//! after which the CRC is recomputed, as Kafka's `setMaxTimestamp` does.
//!
//! Layout (big-endian), see docs/COMPATIBILITY.md:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | baseOffset |
//! | 8 | 4 | batchLength (bytes after this field) |
//! | 12 | 4 | partitionLeaderEpoch |
//! | 16 | 1 | magic |
//! | 17 | 4 | CRC-32C of bytes [21..] |
//! | 21 | 2 | attributes |
//! | 23 | 4 | lastOffsetDelta |
//! | 27 | 8 | baseTimestamp |
//! | 35 | 8 | maxTimestamp |
//! | 43 | 8 | producerId |
//! | 51 | 2 | producerEpoch |
//! | 53 | 4 | baseSequence |
//! | 57 | 4 | records count |
//! | 61 | .. | records |

use thiserror::Error;

/// The only record format Strom stores.
pub const MAGIC_V2: i8 = 2;
/// Size of the v2 header through the records count; also the smallest valid batch.
pub const HEADER_BYTES: usize = 61;
/// `baseOffset` + `batchLength`: the bytes not counted by `batchLength` (Kafka's `LOG_OVERHEAD`).
pub const LOG_OVERHEAD: usize = 12;
/// Smallest `batchLength` of a v2 batch: a header and no records.
pub const MIN_BATCH_LENGTH: i32 = (HEADER_BYTES - LOG_OVERHEAD) as i32;
/// No producer id (non-idempotent producer).
pub const NO_PRODUCER_ID: i64 = -1;
/// No sequence number (non-idempotent producer).
pub const NO_SEQUENCE: i32 = -1;
/// No timestamp.
pub const NO_TIMESTAMP: i64 = -1;

const BASE_OFFSET_AT: usize = 0;
const BATCH_LENGTH_AT: usize = 8;
const LEADER_EPOCH_AT: usize = 12;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
/// The CRC covers everything from the attributes to the end of the batch.
pub const CRC_COVERS_FROM: usize = 21;
const ATTRIBUTES_AT: usize = 21;
const LAST_OFFSET_DELTA_AT: usize = 23;
const BASE_TIMESTAMP_AT: usize = 27;
const MAX_TIMESTAMP_AT: usize = 35;
const PRODUCER_ID_AT: usize = 43;
const PRODUCER_EPOCH_AT: usize = 51;
const BASE_SEQUENCE_AT: usize = 53;
const RECORDS_COUNT_AT: usize = 57;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;
/// Set by compaction on a batch holding tombstones: `baseTimestamp` is then the
/// delete horizon, after which they may be removed (KIP-534).
pub const DELETE_HORIZON_BIT: i16 = 0x40;
/// The attribute bits an empty batch written by compaction keeps.
pub const TIMESTAMP_TYPE_TRANSACTIONAL_CONTROL_BITS: i16 = TIMESTAMP_TYPE_BIT | TRANSACTIONAL_BIT | CONTROL_BIT;

/// Why bytes are not a well-formed v2 batch.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BatchError {
    #[error("truncated batch: {needed} bytes needed, {available} available")]
    Truncated { needed: usize, available: usize },
    #[error("batch length {0} is below the minimum {MIN_BATCH_LENGTH} of a v2 batch")]
    BadLength(i32),
    #[error("record batch magic {0} is not supported (only v2)")]
    BadMagic(i8),
    #[error("unknown compression codec {0} in batch attributes")]
    UnknownCompression(u8),
    #[error("record batch is corrupt: stored CRC {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch { stored: u32, computed: u32 },
}

/// Codec of a batch's records (attributes bits 0-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    fn from_id(id: u8) -> Option<Compression> {
        Some(match id {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            _ => return None,
        })
    }

    /// Kafka's name, as in the `compression.type` topic config.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// Meaning of a batch's timestamps (attributes bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

/// The fixed 61-byte header of a v2 record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

impl BatchHeader {
    /// Parses the header at the start of `bytes`. Needs at least [`HEADER_BYTES`], magic 2,
    /// `batchLength` >= [`MIN_BATCH_LENGTH`] and a known codec. Does not check the CRC, nor
    /// that `bytes` holds the whole batch (see [`crc_is_valid`] and [`BatchHeader::size`]).
    pub fn parse(bytes: &[u8]) -> Result<BatchHeader, BatchError> {
        let header: &[u8; HEADER_BYTES] = bytes
            .get(..HEADER_BYTES)
            .and_then(|h| h.try_into().ok())
            .ok_or(BatchError::Truncated {
                needed: HEADER_BYTES,
                available: bytes.len(),
            })?;
        let magic = i8::from_be_bytes([header[MAGIC_AT]]);
        if magic != MAGIC_V2 {
            return Err(BatchError::BadMagic(magic));
        }
        let batch_length = read_i32(header, BATCH_LENGTH_AT);
        if batch_length < MIN_BATCH_LENGTH {
            return Err(BatchError::BadLength(batch_length));
        }
        let attributes = read_i16(header, ATTRIBUTES_AT);
        let codec = (attributes & COMPRESSION_MASK) as u8;
        if Compression::from_id(codec).is_none() {
            return Err(BatchError::UnknownCompression(codec));
        }
        Ok(BatchHeader {
            base_offset: read_i64(header, BASE_OFFSET_AT),
            batch_length,
            partition_leader_epoch: read_i32(header, LEADER_EPOCH_AT),
            magic,
            crc: read_i32(header, CRC_AT) as u32,
            attributes,
            last_offset_delta: read_i32(header, LAST_OFFSET_DELTA_AT),
            base_timestamp: read_i64(header, BASE_TIMESTAMP_AT),
            max_timestamp: read_i64(header, MAX_TIMESTAMP_AT),
            producer_id: read_i64(header, PRODUCER_ID_AT),
            producer_epoch: read_i16(header, PRODUCER_EPOCH_AT),
            base_sequence: read_i32(header, BASE_SEQUENCE_AT),
            records_count: read_i32(header, RECORDS_COUNT_AT),
        })
    }

    /// Total size of the batch in bytes: `batchLength` + 12.
    pub fn size(&self) -> usize {
        // parse() guarantees batch_length >= MIN_BATCH_LENGTH > 0; a hand-built header
        // with a negative length counts as the bare overhead.
        usize::try_from(self.batch_length).map_or(LOG_OVERHEAD, |len| len + LOG_OVERHEAD)
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }

    pub fn next_offset(&self) -> i64 {
        self.last_offset().saturating_add(1)
    }

    pub fn compression(&self) -> Compression {
        // parse() refuses unknown codecs; a hand-built header falls back to None.
        Compression::from_id((self.attributes & COMPRESSION_MASK) as u8)
            .unwrap_or(Compression::None)
    }

    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// When compaction may remove this batch's tombstones (Kafka's `deleteHorizonMs`).
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        (self.attributes & DELETE_HORIZON_BIT != 0).then_some(self.base_timestamp)
    }

    /// Writes the 61 header bytes, CRC included as given.
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        out[BASE_OFFSET_AT..BASE_OFFSET_AT + 8].copy_from_slice(&self.base_offset.to_be_bytes());
        out[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4].copy_from_slice(&self.batch_length.to_be_bytes());
        out[LEADER_EPOCH_AT..LEADER_EPOCH_AT + 4].copy_from_slice(&self.partition_leader_epoch.to_be_bytes());
        out[MAGIC_AT] = self.magic.to_be_bytes()[0];
        out[CRC_AT..CRC_AT + 4].copy_from_slice(&self.crc.to_be_bytes());
        out[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&self.attributes.to_be_bytes());
        out[LAST_OFFSET_DELTA_AT..LAST_OFFSET_DELTA_AT + 4].copy_from_slice(&self.last_offset_delta.to_be_bytes());
        out[BASE_TIMESTAMP_AT..BASE_TIMESTAMP_AT + 8].copy_from_slice(&self.base_timestamp.to_be_bytes());
        out[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8].copy_from_slice(&self.max_timestamp.to_be_bytes());
        out[PRODUCER_ID_AT..PRODUCER_ID_AT + 8].copy_from_slice(&self.producer_id.to_be_bytes());
        out[PRODUCER_EPOCH_AT..PRODUCER_EPOCH_AT + 2].copy_from_slice(&self.producer_epoch.to_be_bytes());
        out[BASE_SEQUENCE_AT..BASE_SEQUENCE_AT + 4].copy_from_slice(&self.base_sequence.to_be_bytes());
        out[RECORDS_COUNT_AT..RECORDS_COUNT_AT + 4].copy_from_slice(&self.records_count.to_be_bytes());
        out
    }

    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }

    /// Sequence of the batch's last record; sequences wrap from `i32::MAX` to 0
    /// (Kafka's `DefaultRecordBatch.lastSequence`).
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence == NO_SEQUENCE {
            return NO_SEQUENCE;
        }
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }
}

/// `sequence + increment`, wrapping past `i32::MAX` to 0 (Kafka's `incrementSequence`).
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        // Kafka: increment - (MAX - sequence) - 1, computed without overflow.
        (i64::from(increment) - (i64::from(i32::MAX) - i64::from(sequence)) - 1) as i32
    } else {
        sequence + increment
    }
}

/// `sequence - decrement`, wrapping below 0 to `i32::MAX` (Kafka's `decrementSequence`).
pub fn decrement_sequence(sequence: i32, decrement: i32) -> i32 {
    if sequence < decrement {
        (i64::from(i32::MAX) - (i64::from(decrement) - i64::from(sequence)) + 1) as i32
    } else {
        sequence - decrement
    }
}

/// CRC-32C over `batch[21..]`, the range the batch CRC covers.
pub fn compute_crc(batch: &[u8]) -> u32 {
    batch.get(CRC_COVERS_FROM..).map_or(0, crc32c::crc32c)
}

/// The CRC stored in the batch header, if the slice is long enough to hold it.
pub fn stored_crc(batch: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = batch.get(CRC_AT..CRC_AT + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

/// Whether `batch` (exactly one whole batch) is at least a header long and its stored
/// CRC matches the CRC-32C of `batch[21..]` (Kafka's `DefaultRecordBatch.isValid`).
pub fn crc_is_valid(batch: &[u8]) -> bool {
    batch.len() >= HEADER_BYTES && stored_crc(batch) == Some(compute_crc(batch))
}

/// Writes the CRC of `batch[21..]` into the header. Does nothing on a slice shorter than a header.
pub fn update_crc(batch: &mut [u8]) {
    let crc = compute_crc(batch);
    write_at(batch, CRC_AT, &crc.to_be_bytes());
}

/// Writes `baseOffset` (outside the CRC). Does nothing on a slice shorter than a header.
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    write_at(batch, BASE_OFFSET_AT, &base_offset.to_be_bytes());
}

/// Writes `partitionLeaderEpoch` (outside the CRC). Does nothing on a slice shorter than a header.
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
    write_at(batch, LEADER_EPOCH_AT, &epoch.to_be_bytes());
}

/// Marks the batch LogAppendTime with `maxTimestamp = ts` and recomputes the CRC, as Kafka's
/// `setMaxTimestamp(LOG_APPEND_TIME, now)` does. Other attribute bits are kept.
/// Does nothing on a slice shorter than a header.
pub fn set_log_append_time(batch: &mut [u8], ts: i64) {
    set_max_timestamp(batch, TimestampType::LogAppendTime, ts);
}

/// Sets the timestamp type bit and `maxTimestamp`, recomputing the CRC only when either
/// changed (Kafka's `DefaultRecordBatch.setMaxTimestamp`). Other attribute bits are kept.
/// Does nothing on a slice shorter than a header.
pub fn set_max_timestamp(batch: &mut [u8], timestamp_type: TimestampType, ts: i64) {
    if batch.len() < HEADER_BYTES {
        return;
    }
    let (head, body) = batch.split_at_mut(HEADER_BYTES);
    if let Ok(head) = <&mut [u8; HEADER_BYTES]>::try_from(head) {
        set_max_timestamp_in_header(head, body, timestamp_type, ts);
    }
}

/// [`set_max_timestamp`] for a batch held as its header and the rest: only the
/// header changes, the CRC (over both) is recomputed when needed. Lets the
/// append path patch a copy of the header and write the producer's bytes as
/// they arrived.
pub fn set_max_timestamp_in_header(head: &mut [u8; HEADER_BYTES], body: &[u8], timestamp_type: TimestampType, ts: i64) {
    let attributes = read_i16(head, ATTRIBUTES_AT);
    let new_attributes = match timestamp_type {
        TimestampType::LogAppendTime => attributes | TIMESTAMP_TYPE_BIT,
        TimestampType::CreateTime => attributes & !TIMESTAMP_TYPE_BIT,
    };
    if new_attributes == attributes && read_i64(head, MAX_TIMESTAMP_AT) == ts {
        return;
    }
    write_at(head, ATTRIBUTES_AT, &new_attributes.to_be_bytes());
    write_at(head, MAX_TIMESTAMP_AT, &ts.to_be_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&head[CRC_COVERS_FROM..]), body);
    write_at(head, CRC_AT, &crc.to_be_bytes());
}

fn write_at(batch: &mut [u8], at: usize, value: &[u8]) {
    if batch.len() < HEADER_BYTES {
        return;
    }
    if let Some(dst) = batch.get_mut(at..at + value.len()) {
        dst.copy_from_slice(value);
    }
}

fn read_i16(h: &[u8; HEADER_BYTES], at: usize) -> i16 {
    i16::from_be_bytes([h[at], h[at + 1]])
}

fn read_i32(h: &[u8; HEADER_BYTES], at: usize) -> i32 {
    i32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]])
}

fn read_i64(h: &[u8; HEADER_BYTES], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[at..at + 8]);
    i64::from_be_bytes(b)
}

/// Where and why a [`BatchScanner`] stopped before the end of its bytes: everything
/// before `position` is whole, valid batches; recovery truncates there.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid batch at byte {position}: {reason}")]
pub struct ScanStop {
    pub position: usize,
    pub reason: BatchError,
}

/// Iterates the whole, CRC-valid v2 batches in a byte slice (e.g. a segment file).
///
/// Yields `Ok((position, header))` per batch, then ends at the end of the bytes, or
/// yields one `Err(ScanStop)` at the first torn, truncated or corrupt batch and ends.
/// Never yields a batch whose bytes fail the CRC. Checks each batch on its own:
/// offset order across batches is the caller's concern (Kafka's `LogSegment.recover`).
#[derive(Debug, Clone)]
pub struct BatchScanner<'a> {
    bytes: &'a [u8],
    position: usize,
    stopped: bool,
}

impl<'a> BatchScanner<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        BatchScanner {
            bytes,
            position: 0,
            stopped: false,
        }
    }

    /// Byte position after the last batch yielded so far (the valid length once done).
    pub fn position(&self) -> usize {
        self.position
    }

    fn next_batch(&self) -> Result<BatchHeader, BatchError> {
        let rest = self.bytes.get(self.position..).unwrap_or_default();
        // Check the length before parsing so a torn header reads as truncation.
        if rest.len() < LOG_OVERHEAD {
            return Err(BatchError::Truncated {
                needed: LOG_OVERHEAD,
                available: rest.len(),
            });
        }
        let length = i32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
        if length < MIN_BATCH_LENGTH {
            return Err(BatchError::BadLength(length));
        }
        let size = usize::try_from(length).map_or(usize::MAX, |l| l.saturating_add(LOG_OVERHEAD));
        if rest.len() < size {
            return Err(BatchError::Truncated {
                needed: size,
                available: rest.len(),
            });
        }
        let batch = &rest[..size];
        let header = BatchHeader::parse(batch)?;
        let computed = compute_crc(batch);
        if computed != header.crc {
            return Err(BatchError::CrcMismatch {
                stored: header.crc,
                computed,
            });
        }
        Ok(header)
    }
}

impl Iterator for BatchScanner<'_> {
    type Item = Result<(usize, BatchHeader), ScanStop>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.stopped || self.position >= self.bytes.len() {
            return None;
        }
        match self.next_batch() {
            Ok(header) => {
                let at = self.position;
                self.position += header.size();
                Some(Ok((at, header)))
            }
            Err(reason) => {
                self.stopped = true;
                Some(Err(ScanStop {
                    position: self.position,
                    reason,
                }))
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests;
