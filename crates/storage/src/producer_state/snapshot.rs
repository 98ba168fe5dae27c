//! The producer state snapshot file format (Strom's own; Kafka's differs).
//!
//! All integers big-endian:
//!
//! | field | size |
//! |---|---|
//! | magic `STPS` | 4 |
//! | version (2) | 2 |
//! | CRC-32C of every byte after this field | 4 |
//! | up_to_offset | 8 |
//! | producer count | 4 |
//! | per producer: id i64, epoch i16, last_timestamp i64, open txn first offset i64 (-1: none), coordinator epoch i32, batch count u8 (<= 5) | 31 |
//! | per batch: last_sequence i32, last_offset i64, offset_delta i32, timestamp i64 | 24 |
//!
//! Version 1 (still read) has no coordinator epoch (27 bytes per producer); it reads
//! as -1, as for a producer that never had a marker.

use std::collections::{BTreeMap, VecDeque};

use super::{BatchMetadata, ProducerEntry, ProducerStateError, BATCHES_TO_RETAIN};

const MAGIC: &[u8; 4] = b"STPS";
/// The version written.
const VERSION: u16 = 2;
/// Before coordinator epochs were kept.
const VERSION_1: u16 = 1;
const CRC_AT: usize = 6;
const BODY_AT: usize = 10;
const PRODUCER_BYTES: usize = 31;
const PRODUCER_BYTES_V1: usize = 27;
const BATCH_BYTES: usize = 24;

pub(super) fn encode(producers: &BTreeMap<i64, ProducerEntry>, up_to_offset: i64) -> Vec<u8> {
    encode_version(producers, up_to_offset, VERSION)
}

/// Encodes in `version` (older versions only for tests of reading them).
fn encode_version(producers: &BTreeMap<i64, ProducerEntry>, up_to_offset: i64, version: u16) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(BODY_AT + 12 + producers.len() * (PRODUCER_BYTES + 2 * BATCH_BYTES));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&up_to_offset.to_be_bytes());
    // More producers than u32::MAX cannot fit in memory anyway; saturate rather than wrap.
    out.extend_from_slice(
        &u32::try_from(producers.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for (&producer_id, entry) in producers {
        out.extend_from_slice(&producer_id.to_be_bytes());
        out.extend_from_slice(&entry.epoch.to_be_bytes());
        out.extend_from_slice(&entry.last_timestamp.to_be_bytes());
        out.extend_from_slice(&entry.current_txn_first_offset.unwrap_or(-1).to_be_bytes());
        if version != VERSION_1 {
            out.extend_from_slice(&entry.coordinator_epoch.to_be_bytes());
        }
        let batches = entry.batches.iter().rev().take(BATCHES_TO_RETAIN).rev();
        out.push(batches.len() as u8);
        for batch in batches {
            out.extend_from_slice(&batch.last_sequence.to_be_bytes());
            out.extend_from_slice(&batch.last_offset.to_be_bytes());
            out.extend_from_slice(&batch.offset_delta.to_be_bytes());
            out.extend_from_slice(&batch.timestamp.to_be_bytes());
        }
    }
    let crc = crc32c::crc32c(&out[BODY_AT..]);
    out[CRC_AT..BODY_AT].copy_from_slice(&crc.to_be_bytes());
    out
}

pub(super) fn decode(
    bytes: &[u8],
) -> Result<(BTreeMap<i64, ProducerEntry>, i64), ProducerStateError> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(4)? != MAGIC {
        return Err(corrupt("bad magic"));
    }
    let version = r.u16()?;
    let producer_bytes = match version {
        VERSION => PRODUCER_BYTES,
        VERSION_1 => PRODUCER_BYTES_V1,
        _ => return Err(corrupt(&format!("unknown version {version}"))),
    };
    let stored = r.u32()?;
    let computed = crc32c::crc32c(bytes.get(BODY_AT..).unwrap_or_default());
    if stored != computed {
        return Err(corrupt(&format!(
            "CRC mismatch: stored {stored:#010x}, computed {computed:#010x}"
        )));
    }
    let up_to_offset = r.i64()?;
    let count = r.u32()? as usize;
    if count.saturating_mul(producer_bytes) > r.remaining() {
        return Err(corrupt(&format!(
            "{count} producers cannot fit in {} bytes",
            r.remaining()
        )));
    }
    let mut producers = BTreeMap::new();
    for _ in 0..count {
        let producer_id = r.i64()?;
        let epoch = r.i16()?;
        let last_timestamp = r.i64()?;
        let txn_first_offset = r.i64()?;
        let coordinator_epoch = if version == VERSION_1 { -1 } else { r.i32()? };
        let batch_count = usize::from(r.u8()?);
        if batch_count > BATCHES_TO_RETAIN {
            return Err(corrupt(&format!(
                "producer {producer_id} has {batch_count} batches"
            )));
        }
        let mut batches = VecDeque::with_capacity(batch_count);
        for _ in 0..batch_count {
            batches.push_back(BatchMetadata {
                last_sequence: r.i32()?,
                last_offset: r.i64()?,
                offset_delta: r.i32()?,
                timestamp: r.i64()?,
            });
        }
        let entry = ProducerEntry {
            epoch,
            batches,
            last_timestamp,
            current_txn_first_offset: (txn_first_offset >= 0).then_some(txn_first_offset),
            coordinator_epoch,
        };
        if producers.insert(producer_id, entry).is_some() {
            return Err(corrupt(&format!("producer {producer_id} appears twice")));
        }
    }
    if r.remaining() != 0 {
        return Err(corrupt(&format!("{} trailing bytes", r.remaining())));
    }
    Ok((producers, up_to_offset))
}

/// A version 1 snapshot, as Strom wrote before coordinator epochs were kept.
#[cfg(test)]
pub(super) fn encode_v1(producers: &BTreeMap<i64, ProducerEntry>, up_to_offset: i64) -> Vec<u8> {
    encode_version(producers, up_to_offset, VERSION_1)
}

fn corrupt(reason: &str) -> ProducerStateError {
    ProducerStateError::CorruptSnapshot(reason.to_owned())
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProducerStateError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| corrupt("truncated"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ProducerStateError> {
        self.take(N)?.try_into().map_err(|_| corrupt("truncated"))
    }

    fn u8(&mut self) -> Result<u8, ProducerStateError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, ProducerStateError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn i16(&mut self) -> Result<i16, ProducerStateError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, ProducerStateError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, ProducerStateError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, ProducerStateError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
}
