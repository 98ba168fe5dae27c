//! The bodies of the `cargo fuzz` targets in `fuzz/` (libFuzzer, nightly),
//! kept here so the stable test run exercises the same code
//! (`tests/tests/fuzz_targets.rs`: seeds, committed regressions, random
//! mutations). A target fails by panicking (a bug, or a broken invariant); every input
//! must come back.
//!
//! - [`frame_decoder`]: bytes as they arrive on a connection, split into
//!   frames in pieces the input chooses, each frame decoded.
//! - [`request_decoder`]: a well-formed header for any supported API and
//!   version (chosen by the first two bytes) followed by arbitrary body bytes:
//!   every request decoder, behind the guard.
//! - [`record_batch`]: a flags byte, then bytes as a produced record batch
//!   (the flags fix up its length and CRC, so mutations reach the records):
//!   header parsing, validation and offset assignment (with and without
//!   compaction's per-record checks, which decompress), timestamp search,
//!   control markers, and compaction of the stored batch (which decompresses
//!   and may re-encode it). A batch that passes validation must be stored
//!   with a valid CRC and the assigned offsets; a batch compaction rewrites
//!   must be valid and keep its offsets.

// A fuzz target reports a bug by panicking, so it may `expect` its invariants.
#![allow(clippy::expect_used)]

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use strom_protocol::error::DecodeError;
use strom_protocol::frame::split_frame;
use strom_protocol::request::decode_request;
use strom_protocol::versions::SUPPORTED_APIS;
use strom_storage::batch::{BatchHeader, LOG_OVERHEAD};
use strom_storage::cleaner::filter::{self, FilterContext, Filtered};
use strom_storage::cleaner::offset_map::OffsetMap;
use strom_storage::validator::{self, ValidationConfig};

/// Frame limit of the frame target: small, so size prefixes often exceed it.
const MAX_FRAME_BYTES: usize = 1 << 20;

pub fn frame_decoder(data: &[u8]) {
    let Some((&piece, rest)) = data.split_first() else { return };
    let piece = usize::from(piece).max(1);
    let mut buf = BytesMut::new();
    for chunk in rest.chunks(piece) {
        buf.extend_from_slice(chunk);
        loop {
            match split_frame(&mut buf, MAX_FRAME_BYTES) {
                Ok(Some(frame)) => decode(frame.freeze()),
                Ok(None) => break,
                Err(_) => return, // the connection would close
            }
        }
    }
}

/// The (api key, version) the first two bytes of a request input choose.
pub fn chosen_api(data: &[u8]) -> Option<(i16, i16)> {
    let (&which, &version) = (data.first()?, data.get(1)?);
    let api = SUPPORTED_APIS.get(usize::from(which) % SUPPORTED_APIS.len())?;
    let span = i32::from(api.max_version) - i32::from(api.min_version) + 1;
    let version = i32::from(api.min_version) + i32::from(version) % span;
    Some((api.api_key as i16, i16::try_from(version).ok()?))
}

/// A request input for `api_key` at `version` with `body` (a seed).
pub fn request_input(api_key: i16, version: i16, body: &[u8]) -> Option<Vec<u8>> {
    let index = SUPPORTED_APIS.iter().position(|a| a.api_key as i16 == api_key)?;
    let api = &SUPPORTED_APIS[index];
    let mut input = vec![u8::try_from(index).ok()?, u8::try_from(version - api.min_version).ok()?];
    input.extend_from_slice(body);
    Some(input)
}

pub fn request_decoder(data: &[u8]) {
    let Some((api_key, version)) = chosen_api(data) else { return };
    let Ok(mut frame) = crate::client::request_header(api_key, version, 1) else { return };
    frame.extend_from_slice(&data[2..]);
    decode(Bytes::from(frame));
}

/// Decodes a request frame: any answer but one where the guard and the
/// decoder disagree on where the body ends (a guard bug the broker refuses).
fn decode(frame: Bytes) {
    if let Err(e @ DecodeError::TrailingBytes { .. }) = decode_request(frame) {
        panic!("the guard and the decoder disagree: {e}");
    }
}

/// Record-batch input flags (the first byte): fix up the batch length, the
/// CRC, or both, so that mutations get past those checks to the records.
pub const FIX_LENGTH: u8 = 1;
pub const FIX_CRC: u8 = 2;

/// Decompression bound of the batch target: below what a 64 KiB input can
/// expand to, so the bound is reached too.
const MAX_DECOMPRESSED_BYTES: u64 = 8 << 20;

/// Offset and leader epoch the validated batch is given.
const NEXT_OFFSET: i64 = 42;
const LEADER_EPOCH: i32 = 3;

pub fn record_batch(data: &[u8]) {
    let Some((&flags, batch)) = data.split_first() else { return };
    let mut batch = batch.to_vec();
    if flags & FIX_LENGTH != 0 && batch.len() >= LOG_OVERHEAD {
        let length = i32::try_from(batch.len() - LOG_OVERHEAD).unwrap_or(i32::MAX);
        batch[8..12].copy_from_slice(&length.to_be_bytes());
    }
    if flags & FIX_CRC != 0 {
        strom_storage::batch::update_crc(&mut batch);
    }
    let _ = BatchHeader::parse(&batch);
    let now_ms = 1_700_000_000_000;
    for compacted in [false, true] {
        let cfg = ValidationConfig {
            compacted,
            max_message_bytes: MAX_FRAME_BYTES,
            max_decompressed_bytes: MAX_DECOMPRESSED_BYTES,
            ..ValidationConfig::default()
        };
        let Ok(validated) = validator::validate_and_assign(&batch, NEXT_OFFSET, LEADER_EPOCH, now_ms, &cfg) else { continue };
        // What would be written: the patched header, then the producer's bytes.
        assert_eq!(validated.size, batch.len(), "a validated batch is the whole input");
        let mut stored = validated.head.to_vec();
        stored.extend_from_slice(&batch[validated.head.len()..validated.size]);
        let header = BatchHeader::parse(&stored).expect("a validated batch's header parses once stored");
        assert!(strom_storage::batch::crc_is_valid(&stored), "a stored batch has a valid CRC");
        assert_eq!(header.base_offset, NEXT_OFFSET);
        assert_eq!(header.partition_leader_epoch, LEADER_EPOCH);
        assert_eq!(validated.last_offset, NEXT_OFFSET + i64::from(validated.record_count) - 1);
        let _ = validator::first_record_at_or_after(&stored, now_ms, MAX_DECOMPRESSED_BYTES);
        let _ = strom_storage::control::read_marker(&stored);
        compact(&stored, &header, now_ms);
    }
    let _ = validator::first_record_at_or_after(&batch, 0, MAX_DECOMPRESSED_BYTES);
    let _ = strom_storage::control::read_marker(&batch);
}

/// Compaction of a stored batch (a topic may become compacted after its
/// batches were stored unchecked): its keys into a map, then filtered against
/// it. A rewritten batch must be a valid batch of the same offsets.
fn compact(stored: &[u8], header: &BatchHeader, now_ms: i64) {
    let mut map = OffsetMap::new(64);
    if filter::map_batch(stored, header, &mut map, (0, i64::MAX), MAX_DECOMPRESSED_BYTES).is_err() {
        return;
    }
    let producers = HashMap::new();
    let ctx = FilterContext {
        map: &map,
        now_ms,
        delete_retention_ms: 0,
        last_data_offsets: &producers,
        upper_bound_offset: header.next_offset(),
        max_decompressed_bytes: MAX_DECOMPRESSED_BYTES,
    };
    if let Ok((Filtered::Rewrite(rewritten), counts)) = filter::filter_batch(stored, header, &ctx) {
        let new = BatchHeader::parse(&rewritten).expect("a rewritten batch parses");
        assert!(strom_storage::batch::crc_is_valid(&rewritten), "a rewritten batch has a valid CRC");
        assert_eq!(new.size(), rewritten.len());
        assert_eq!((new.base_offset, new.last_offset()), (header.base_offset, header.last_offset()));
        assert!(counts.retained <= counts.read);
        // What compaction writes, compaction must read again.
        let mut again = OffsetMap::new(64);
        let read_back = filter::map_batch(&rewritten, &new, &mut again, (0, i64::MAX), MAX_DECOMPRESSED_BYTES);
        assert!(read_back.is_ok(), "a rewritten batch reads back: {read_back:?}");
    }
}
