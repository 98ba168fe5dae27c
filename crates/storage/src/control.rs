//! Transaction markers: the control batches that end a transaction in a partition,
//! after Kafka's `ControlRecordType`, `EndTransactionMarker` and
//! `MemoryRecords.withEndTransactionMarker`.
//!
//! A marker is a v2 batch with attributes transactional + control (0x30), no
//! compression, CreateTime, the producer's id and epoch, base sequence -1, and one
//! record whose
//!
//! - key is the control record key v0: `version i16 = 0 | type i16` (ABORT 0, COMMIT 1);
//! - value is the end transaction marker v0: `version i16 = 0 | coordinator_epoch i32`;
//!
//! with timestamp delta 0, offset delta 0 and no headers: 78 bytes in all, byte for
//! byte what Kafka writes.

use thiserror::Error;

use crate::batch::{self, BatchHeader, Compression, HEADER_BYTES, LOG_OVERHEAD, MAGIC_V2, NO_SEQUENCE};
use crate::validator::{read_varint, read_varlong};

/// Attributes of a marker batch: transactional (0x10) and control (0x20).
const MARKER_ATTRIBUTES: i16 = 0x30;
/// The one record of a marker: length varint (1) + attributes (1) + timestamp delta (1)
/// + offset delta (1) + key length (1) + key (4) + value length (1) + value (6) + header count (1).
const MARKER_RECORD_BYTES: usize = 17;
/// Size of a marker batch.
pub const MARKER_BATCH_BYTES: usize = HEADER_BYTES + MARKER_RECORD_BYTES;
/// Kafka's `CURRENT_CONTROL_RECORD_KEY_VERSION`.
const CONTROL_KEY_VERSION: i16 = 0;
/// Kafka's `CURRENT_END_TXN_MARKER_VERSION`.
const END_TXN_MARKER_VERSION: i16 = 0;

/// The two control record types of transactions (Kafka's `ControlRecordType`;
/// the KRaft types never appear in partition logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlRecordType {
    Abort,
    Commit,
}

impl ControlRecordType {
    /// The type id in the record key.
    pub fn id(self) -> i16 {
        match self {
            ControlRecordType::Abort => 0,
            ControlRecordType::Commit => 1,
        }
    }

    pub fn from_id(id: i16) -> Option<Self> {
        match id {
            0 => Some(ControlRecordType::Abort),
            1 => Some(ControlRecordType::Commit),
            _ => None,
        }
    }
}

/// What a marker record says (Kafka's `EndTransactionMarker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndTxnMarker {
    pub control_type: ControlRecordType,
    pub coordinator_epoch: i32,
}

impl EndTxnMarker {
    pub fn is_abort(&self) -> bool {
        self.control_type == ControlRecordType::Abort
    }
}

/// Why a control batch is not a readable transaction marker.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MarkerError {
    #[error("not a control batch")]
    NotControl,
    #[error("control batch compressed with {0}: markers are never compressed")]
    Compressed(&'static str),
    #[error("control record is malformed: {0}")]
    Malformed(String),
    #[error("control record type {0} is not a transaction marker")]
    UnknownType(i16),
}

/// Builds the marker batch Kafka writes for `producer_id`/`producer_epoch` at
/// `base_offset`, its record timestamped `timestamp`.
pub fn marker_batch(
    base_offset: i64,
    partition_leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    timestamp: i64,
    marker: EndTxnMarker,
) -> Vec<u8> {
    let mut b = Vec::with_capacity(MARKER_BATCH_BYTES);
    b.extend_from_slice(&base_offset.to_be_bytes());
    b.extend_from_slice(&((MARKER_BATCH_BYTES - LOG_OVERHEAD) as i32).to_be_bytes());
    b.extend_from_slice(&partition_leader_epoch.to_be_bytes());
    b.push(MAGIC_V2 as u8);
    b.extend_from_slice(&[0; 4]); // CRC, below
    b.extend_from_slice(&MARKER_ATTRIBUTES.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
    b.extend_from_slice(&timestamp.to_be_bytes()); // base timestamp
    b.extend_from_slice(&timestamp.to_be_bytes()); // max timestamp
    b.extend_from_slice(&producer_id.to_be_bytes());
    b.extend_from_slice(&producer_epoch.to_be_bytes());
    b.extend_from_slice(&NO_SEQUENCE.to_be_bytes());
    b.extend_from_slice(&1i32.to_be_bytes()); // records count
    // The record: zig-zag varints, all small enough for one byte each.
    b.push(zigzag_byte(MARKER_RECORD_BYTES - 1));
    b.extend_from_slice(&[0, 0, 0]); // attributes, timestamp delta, offset delta
    b.push(zigzag_byte(4));
    b.extend_from_slice(&CONTROL_KEY_VERSION.to_be_bytes());
    b.extend_from_slice(&marker.control_type.id().to_be_bytes());
    b.push(zigzag_byte(6));
    b.extend_from_slice(&END_TXN_MARKER_VERSION.to_be_bytes());
    b.extend_from_slice(&marker.coordinator_epoch.to_be_bytes());
    b.push(0); // header count
    let crc = batch::compute_crc(&b);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// One-byte zig-zag varint of a small non-negative value.
fn zigzag_byte(value: usize) -> u8 {
    (value << 1) as u8
}

/// The marker in a control batch (one whole batch, as stored), or `None` for an
/// empty control batch (its transaction was cleaned away; Kafka ignores those).
/// Key and value versions above 0 are read as version 0, as Kafka does.
pub fn read_marker(batch: &[u8]) -> Result<Option<EndTxnMarker>, MarkerError> {
    let header = BatchHeader::parse(batch).map_err(|e| MarkerError::Malformed(e.to_string()))?;
    if !header.is_control() {
        return Err(MarkerError::NotControl);
    }
    if header.records_count <= 0 {
        return Ok(None);
    }
    if header.compression() != Compression::None {
        return Err(MarkerError::Compressed(header.compression().name()));
    }
    let end = header.size().min(batch.len());
    let mut records = batch.get(HEADER_BYTES..end).unwrap_or_default();
    let malformed = |what: &str| MarkerError::Malformed(what.to_owned());
    let io = |e: std::io::Error| MarkerError::Malformed(e.to_string());
    let _length = read_varint(&mut records).map_err(io)?;
    let mut attributes = [0u8; 1];
    std::io::Read::read_exact(&mut records, &mut attributes).map_err(io)?;
    let _timestamp_delta = read_varlong(&mut records).map_err(io)?;
    let _offset_delta = read_varint(&mut records).map_err(io)?;
    let key = take_field(&mut records).map_err(io)?.ok_or_else(|| malformed("null key"))?;
    let value = take_field(&mut records).map_err(io)?.ok_or_else(|| malformed("null value"))?;
    if key.len() < 4 || i16::from_be_bytes([key[0], key[1]]) < 0 {
        return Err(malformed("control record key shorter than 4 bytes or of negative version"));
    }
    let type_id = i16::from_be_bytes([key[2], key[3]]);
    let control_type = ControlRecordType::from_id(type_id).ok_or(MarkerError::UnknownType(type_id))?;
    if value.len() < 6 || i16::from_be_bytes([value[0], value[1]]) < 0 {
        return Err(malformed("end transaction marker shorter than 6 bytes or of negative version"));
    }
    let coordinator_epoch = i32::from_be_bytes([value[2], value[3], value[4], value[5]]);
    Ok(Some(EndTxnMarker { control_type, coordinator_epoch }))
}

/// A varint-length-prefixed key or value (-1: null), borrowed from `input`.
fn take_field<'a>(input: &mut &'a [u8]) -> std::io::Result<Option<&'a [u8]>> {
    let length = read_varint(input)?;
    let Ok(length) = usize::try_from(length) else { return Ok(None) };
    if length > input.len() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let (field, rest) = input.split_at(length);
    *input = rest;
    Ok(Some(field))
}

#[cfg(test)]
mod tests;
