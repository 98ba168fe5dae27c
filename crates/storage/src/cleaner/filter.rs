//! What compaction does to one batch, after Kafka's `MemoryRecords.filterTo`
//! with the `Cleaner`'s record filter: records keep their offsets; a batch
//! whose records all stay is kept byte for byte; a filtered one is re-encoded
//! with the same codec, producer id, epoch, base sequence, leader epoch,
//! attributes and last offset delta, and a fresh CRC; a batch left with no
//! record is dropped, unless it is the last batch of an active idempotent
//! producer (its sequence state must survive) or the last batch of the
//! cleaning round (the log keeps its last offset), which stay as empty batches.

use std::collections::HashMap;
use std::io::Read;

use super::codec;
use super::offset_map::OffsetMap;
use crate::batch::{self, BatchHeader, TimestampType, DELETE_HORIZON_BIT, HEADER_BYTES, LOG_OVERHEAD, NO_TIMESTAMP};
use crate::validator::{read_varint, read_varlong, records_reader};

/// What the records of a batch are judged against.
pub struct FilterContext<'a> {
    pub map: &'a OffsetMap,
    /// When this cleaning began: tombstones whose horizon passed go.
    pub now_ms: i64,
    pub delete_retention_ms: i64,
    /// Active producers' last data batch: producer id -> its last offset.
    pub last_data_offsets: &'a HashMap<i64, i64>,
    /// The first offset this round does not clean (Kafka's
    /// `upperBoundOffsetOfCleaningRound`).
    pub upper_bound_offset: i64,
    /// Most bytes one batch's records may decompress to.
    pub max_decompressed_bytes: u64,
}

/// The fate of one batch.
#[derive(Debug, PartialEq, Eq)]
pub enum Filtered {
    /// Copied as it is.
    Keep,
    /// Replaced by this batch (filtered records, a new delete horizon, or no records).
    Rewrite(Vec<u8>),
    /// Removed.
    Drop,
}

/// Records read and kept.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FilterCounts {
    pub read: u64,
    pub retained: u64,
}

/// Decides what compaction makes of `batch` (one whole stored batch).
pub fn filter_batch(batch: &[u8], header: &BatchHeader, ctx: &FilterContext<'_>) -> Result<(Filtered, FilterCounts), String> {
    let count = u64::try_from(header.records_count).unwrap_or(0);
    // Transactions are another engineer's: their batches and markers stay whole.
    if header.is_control() || header.is_transactional() {
        return Ok((Filtered::Keep, FilterCounts { read: count, retained: count }));
    }
    let horizon = header.delete_horizon_ms();
    let mut reader = RecordReader::over(batch, header, ctx.max_decompressed_bytes)?;
    let mut kept = Vec::new();
    let mut all_kept = true;
    let mut has_tombstone = false;
    for _ in 0..header.records_count {
        let record = reader.next()?;
        let offset = header.base_offset.saturating_add(i64::from(record.offset_delta));
        let retain = if offset > ctx.map.latest_offset() {
            true
        } else if let Some(key) = record.key {
            // Kafka: the latest record of its key, and a value or a tombstone still within its horizon.
            let latest = offset >= ctx.map.get(key);
            latest && (record.has_value || horizon.is_none_or(|h| ctx.now_ms < h))
        } else {
            false // keyless records have no place in a compacted log (Kafka drops them too)
        };
        if retain {
            has_tombstone |= !record.has_value;
            kept.push(KeptRecord::from(&record, header));
        } else {
            all_kept = false;
        }
    }
    reader.expect_end()?;
    let counts = FilterCounts { read: count, retained: kept.len() as u64 };
    if kept.is_empty() {
        let last_of_producer =
            header.has_producer_id() && ctx.last_data_offsets.get(&header.producer_id) == Some(&header.last_offset());
        let last_of_round = header.next_offset() == ctx.upper_bound_offset;
        let fate = if last_of_producer || last_of_round { Filtered::Rewrite(empty_batch(header)) } else { Filtered::Drop };
        return Ok((fate, counts));
    }
    let set_horizon = has_tombstone && horizon.is_none();
    if all_kept && !set_horizon {
        return Ok((Filtered::Keep, counts));
    }
    let horizon = if set_horizon { Some(ctx.now_ms.saturating_add(ctx.delete_retention_ms)) } else { horizon };
    Ok((Filtered::Rewrite(rebuild(header, &kept, horizon)?), counts))
}

/// Adds the keys of `batch`'s records at or after `start_offset` and below
/// `end_offset` to `map`, decompressing at most `limit` bytes. Returns false
/// when the map filled up before the end; the map's latest offset then says
/// how far it got.
pub fn map_batch(
    batch: &[u8],
    header: &BatchHeader,
    map: &mut OffsetMap,
    (start_offset, end_offset): (i64, i64),
    limit: u64,
) -> Result<bool, String> {
    // Transactional records never shadow older ones: they are kept whole (see filter_batch).
    if !header.is_control() && !header.is_transactional() {
        let mut reader = RecordReader::over(batch, header, limit)?;
        for _ in 0..header.records_count {
            let record = reader.next()?;
            let offset = header.base_offset.saturating_add(i64::from(record.offset_delta));
            if offset >= end_offset {
                return Ok(true);
            }
            if let (Some(key), true) = (record.key, offset >= start_offset) {
                if !map.put(key, offset) {
                    return Ok(false);
                }
            }
        }
    }
    if header.last_offset() >= start_offset {
        map.update_latest_offset(header.last_offset().min(end_offset - 1));
    }
    Ok(true)
}

/// One record of a batch, borrowed from the reader's buffer.
struct RawRecord<'a> {
    attributes: u8,
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&'a [u8]>,
    has_value: bool,
    /// From the key length to the end of the record: copied as is when re-encoding.
    tail: &'a [u8],
}

/// Reads whole records one at a time, decompressing, bounded by the validator's limit.
struct RecordReader<'a> {
    input: Box<dyn Read + 'a>,
    body: Vec<u8>,
}

impl<'a> RecordReader<'a> {
    fn over(batch: &'a [u8], header: &BatchHeader, limit: u64) -> Result<Self, String> {
        let payload = batch.get(HEADER_BYTES..header.size().min(batch.len())).unwrap_or_default();
        let input = records_reader(payload, header.compression(), limit).map_err(|e| e.to_string())?;
        Ok(Self { input: Box::new(input), body: Vec::new() })
    }

    fn next(&mut self) -> Result<RawRecord<'_>, String> {
        let length = read_varint(&mut self.input).map_err(|e| format!("record length: {e}"))?;
        let length = u64::try_from(length).map_err(|_| format!("negative record length {length}"))?;
        self.body.clear();
        (&mut self.input).take(length).read_to_end(&mut self.body).map_err(|e| format!("record body: {e}"))?;
        if self.body.len() as u64 != length {
            return Err("a record ends early".to_string());
        }
        parse_record(&self.body).ok_or_else(|| "a record's fields run past its length".to_string())
    }

    /// After the declared count nothing may follow.
    fn expect_end(&mut self) -> Result<(), String> {
        let mut byte = [0u8; 1];
        match self.input.read(&mut byte) {
            Ok(0) => Ok(()),
            Ok(_) => Err("bytes follow the batch's declared records".to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn parse_record(body: &[u8]) -> Option<RawRecord<'_>> {
    let (&attributes, mut cursor) = body.split_first()?;
    let timestamp_delta = read_varlong(&mut cursor).ok()?;
    let offset_delta = read_varint(&mut cursor).ok()?;
    let tail = cursor;
    let key_length = read_varint(&mut cursor).ok()?;
    let key = match usize::try_from(key_length) {
        Ok(n) => {
            let key = cursor.get(..n)?;
            cursor = &cursor[n..];
            Some(key)
        }
        Err(_) => None,
    };
    let value_length = read_varint(&mut cursor).ok()?;
    if let Ok(n) = usize::try_from(value_length) {
        cursor.get(..n)?;
    }
    Some(RawRecord { attributes, timestamp_delta, offset_delta, key, has_value: value_length >= 0, tail })
}

/// A retained record: what its re-encoding needs.
struct KeptRecord {
    attributes: u8,
    timestamp: i64,
    offset_delta: i32,
    tail: Vec<u8>,
}

impl KeptRecord {
    fn from(record: &RawRecord<'_>, header: &BatchHeader) -> Self {
        // On LogAppendTime batches every record's timestamp is the batch's (Kafka's DefaultRecord).
        let timestamp = match header.timestamp_type() {
            TimestampType::LogAppendTime => header.max_timestamp,
            TimestampType::CreateTime => header.base_timestamp.saturating_add(record.timestamp_delta),
        };
        Self { attributes: record.attributes, timestamp, offset_delta: record.offset_delta, tail: record.tail.to_vec() }
    }
}

/// The batch holding `kept`, everything else from `header` (Kafka's `buildRetainedRecordsInto`).
fn rebuild(header: &BatchHeader, kept: &[KeptRecord], horizon: Option<i64>) -> Result<Vec<u8>, String> {
    let base_timestamp = horizon.unwrap_or_else(|| kept.first().map_or(NO_TIMESTAMP, |r| r.timestamp));
    let mut raw = Vec::new();
    let mut body = Vec::new();
    for record in kept {
        body.clear();
        body.push(record.attributes);
        write_varlong(&mut body, record.timestamp.wrapping_sub(base_timestamp));
        write_varint(&mut body, record.offset_delta);
        body.extend_from_slice(&record.tail);
        let length = i32::try_from(body.len()).map_err(|_| "a record is too large".to_string())?;
        write_varint(&mut raw, length);
        raw.extend_from_slice(&body);
    }
    let records = codec::compress(header.compression(), &raw).map_err(|e| format!("{} compression: {e}", header.compression().name()))?;
    let max_timestamp = match header.timestamp_type() {
        TimestampType::LogAppendTime => header.max_timestamp,
        TimestampType::CreateTime => kept.iter().map(|r| r.timestamp).max().unwrap_or(NO_TIMESTAMP),
    };
    let batch_length = i32::try_from(HEADER_BYTES - LOG_OVERHEAD + records.len()).map_err(|_| "the rebuilt batch is too large".to_string())?;
    let attributes = match horizon {
        Some(_) => header.attributes | DELETE_HORIZON_BIT,
        None => header.attributes & !DELETE_HORIZON_BIT,
    };
    let rebuilt = BatchHeader {
        batch_length,
        attributes,
        base_timestamp,
        max_timestamp,
        records_count: i32::try_from(kept.len()).map_err(|_| "too many records".to_string())?,
        crc: 0,
        ..*header
    };
    let mut out = Vec::with_capacity(HEADER_BYTES + records.len());
    out.extend_from_slice(&rebuilt.encode());
    out.extend_from_slice(&records);
    batch::update_crc(&mut out);
    Ok(out)
}

/// A batch with no records that keeps `header`'s offsets, producer state and
/// max timestamp (Kafka's `DefaultRecordBatch.writeEmptyHeader`).
fn empty_batch(header: &BatchHeader) -> Vec<u8> {
    let empty = BatchHeader {
        batch_length: (HEADER_BYTES - LOG_OVERHEAD) as i32,
        attributes: header.attributes & batch::TIMESTAMP_TYPE_TRANSACTIONAL_CONTROL_BITS,
        base_timestamp: NO_TIMESTAMP,
        records_count: 0,
        crc: 0,
        ..*header
    };
    let mut out = empty.encode().to_vec();
    batch::update_crc(&mut out);
    out
}

fn write_varint(out: &mut Vec<u8>, value: i32) {
    write_unsigned(out, u64::from(((value << 1) ^ (value >> 31)) as u32));
}

fn write_varlong(out: &mut Vec<u8>, value: i64) {
    write_unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

fn write_unsigned(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}
