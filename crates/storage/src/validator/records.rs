//! Walks the records inside one v2 batch, streaming and bounded, for the checks that
//! must look at every record (keys on compacted topics, and while there, timestamps).
//!
//! Reads only each record's length, attributes, timestamp delta, offset delta and key
//! length, and skips the rest, so memory stays small whatever the record sizes.
//! Compressed records are decompressed as a stream and stop with an error past
//! a bound (the broker's `max_decompressed_batch_bytes`, by default
//! [`MAX_DECOMPRESSED_BYTES`]). Codec framings follow Kafka's `CompressionType`:
//! gzip (concatenated members allowed), snappy in xerial-java framing (raw snappy
//! accepted too, as snappy-java's reader does), lz4 frame format, zstd (one frame).

use std::io::{self, BufReader, Read};

use super::{TimestampWindow, ValidationError};
use crate::batch::{BatchHeader, Compression, HEADER_BYTES};

/// Default of the most bytes the records of one batch may decompress to. Far above what producers
/// build (Java closes a batch near `batch.size`, 16 KiB by default, and refuses records
/// over `max.request.size`, 1 MiB), and low enough that a decompression bomb costs at
/// most this much CPU work and no memory beyond a few buffers.
pub const MAX_DECOMPRESSED_BYTES: u64 = 64 << 20;

/// Checks every record of `batch` (one whole, CRC-checked batch): the declared count of
/// records is there and nothing follows, each has a key, and each timestamp lies in
/// `window` when given. Decompresses at most `limit` bytes.
pub(super) fn check_records(
    batch: &[u8],
    header: &BatchHeader,
    window: Option<TimestampWindow>,
    limit: u64,
) -> Result<(), ValidationError> {
    let mut walker = Walker::over(batch.get(HEADER_BYTES..).unwrap_or_default(), header.compression(), limit)?;
    for index in 0..header.records_count {
        walker.record_index = index;
        let record = walker.record_head()?;
        if record.key_length < 0 {
            return Err(ValidationError::MissingKey {
                record_index: index,
            });
        }
        if let Some(window) = window {
            let timestamp = header.base_timestamp.saturating_add(record.timestamp_delta);
            if timestamp != crate::batch::NO_TIMESTAMP {
                window.check(timestamp, Some(index))?;
            }
        }
    }
    walker.expect_end()
}

/// The first record of `batch` (a whole stored batch, offsets assigned) whose
/// timestamp is at least `timestamp`: its (offset, timestamp). ListOffsets by
/// time answers to the record, as Kafka does, not to the batch. On a
/// LogAppendTime batch every record has the batch's max timestamp.
/// Decompresses at most `limit` bytes.
pub fn first_record_at_or_after(batch: &[u8], timestamp: i64, limit: u64) -> Result<Option<(i64, i64)>, ValidationError> {
    let header = BatchHeader::parse(batch).map_err(|e| ValidationError::Decompression {
        codec: "none",
        reason: e.to_string(),
    })?;
    if header.timestamp_type() == crate::batch::TimestampType::LogAppendTime {
        return Ok((header.max_timestamp >= timestamp).then_some((header.base_offset, header.max_timestamp)));
    }
    let payload = batch.get(HEADER_BYTES..header.size().min(batch.len())).unwrap_or_default();
    let mut walker = Walker::over(payload, header.compression(), limit)?;
    for index in 0..header.records_count {
        walker.record_index = index;
        let record = walker.record_head()?;
        let record_timestamp = header.base_timestamp.saturating_add(record.timestamp_delta);
        if record_timestamp >= timestamp {
            // Saturating: a stored batch's base offset is the broker's, but its deltas are the producer's.
            return Ok(Some((header.base_offset.saturating_add(i64::from(record.offset_delta)), record_timestamp)));
        }
    }
    Ok(None)
}

/// A reader of the records of a stored batch (`payload`: the bytes after the
/// header), decompressing with `codec`, failing past `limit` bytes.
pub(crate) fn records_reader<'a>(payload: &'a [u8], codec: Compression, limit: u64) -> Result<impl Read + 'a, ValidationError> {
    let inner = decompressor(codec, payload, limit)?;
    Ok(BufReader::with_capacity(8 * 1024, Bounded { inner, left: limit, limit, exceeded: false }))
}

fn decompressor<'a>(
    codec: Compression,
    payload: &'a [u8],
    limit: u64,
) -> Result<Box<dyn Read + 'a>, ValidationError> {
    Ok(match codec {
        Compression::None => Box::new(payload),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(payload)),
        Compression::Snappy => Box::new(SnappyJavaReader::new(payload, limit)),
        Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(payload)),
        Compression::Zstd => {
            // The decoder reserves the frame's window up front: bound it first.
            if zstd_window_bytes(payload).is_some_and(|window| window > limit) {
                return Err(ValidationError::DecompressedTooLarge { limit });
            }
            let decoder = ruzstd::decoding::StreamingDecoder::new(payload).map_err(|e| {
                ValidationError::Decompression {
                    codec: codec.name(),
                    reason: e.to_string(),
                }
            })?;
            Box::new(decoder)
        }
    })
}

/// The window a zstd frame asks the decoder to keep (RFC 8878 section 3.1.1.1), or
/// `None` if the bytes do not start with a readable zstd frame header (the decoder
/// reports that). Single-segment frames use their content size as the window.
pub(super) fn zstd_window_bytes(payload: &[u8]) -> Option<u64> {
    const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
    if payload.get(..4)? != ZSTD_MAGIC {
        return None;
    }
    let descriptor = *payload.get(4)?;
    let single_segment = descriptor & 0x20 != 0;
    if !single_segment {
        let window_descriptor = *payload.get(5)?;
        let window_log = 10 + u32::from(window_descriptor >> 3);
        let base = 1u64 << window_log;
        return Some(base + (base / 8) * u64::from(window_descriptor & 0x07));
    }
    let dictionary_id_bytes = [0usize, 1, 2, 4][usize::from(descriptor & 0x03)];
    let content_size_bytes = [1usize, 2, 4, 8][usize::from(descriptor >> 6)];
    let at = 5 + dictionary_id_bytes;
    let field = payload.get(at..at + content_size_bytes)?;
    let mut le = [0u8; 8];
    le[..field.len()].copy_from_slice(field);
    let size = u64::from_le_bytes(le);
    Some(if content_size_bytes == 2 {
        size + 256
    } else {
        size
    })
}

/// The start of one record: enough to find its key, offset and timestamp.
struct RecordHead {
    timestamp_delta: i64,
    offset_delta: i32,
    key_length: i32,
}

struct Walker<'a> {
    input: BufReader<Bounded<Box<dyn Read + 'a>>>,
    codec: Compression,
    record_index: i32,
    limit: u64,
}

impl<'a> Walker<'a> {
    /// Reads one record's head and skips the rest of the record.
    /// A walker over a batch's records (`payload`: the bytes after the
    /// header), decompressing with `codec`, bounded by `limit` bytes.
    fn over(payload: &'a [u8], codec: Compression, limit: u64) -> Result<Self, ValidationError> {
        let inner = decompressor(codec, payload, limit)?;
        let bounded = Bounded { inner, left: limit, limit, exceeded: false };
        Ok(Walker { input: BufReader::with_capacity(8 * 1024, bounded), codec, record_index: 0, limit })
    }

    fn record_head(&mut self) -> Result<RecordHead, ValidationError> {
        let length = self.varint()?;
        let length = u64::try_from(length)
            .map_err(|_| self.invalid(format!("Invalid record size {length}")))?;
        let mut body = Counting {
            inner: &mut self.input,
            read: 0,
        };
        let head = read_head(&mut body);
        let consumed = body.read;
        let head = head.map_err(|e| self.io_error(e))?;
        let rest = length.checked_sub(consumed).ok_or_else(|| {
            self.invalid(format!(
                "Invalid record size: expected {length} bytes, fields need more"
            ))
        })?;
        let skipped = io::copy(&mut (&mut self.input).take(rest), &mut io::sink())
            .map_err(|e| self.io_error(e))?;
        if skipped < rest {
            return Err(
                self.invalid("Incorrect declared batch size, premature EOF reached".to_owned())
            );
        }
        Ok(head)
    }

    /// After the declared count, the records must end (Kafka's `ensureNoneRemaining`).
    fn expect_end(&mut self) -> Result<(), ValidationError> {
        let mut byte = [0u8; 1];
        match self.input.read(&mut byte) {
            Ok(0) => Ok(()),
            Ok(_) => Err(self.invalid(
                "Incorrect declared batch size, records still remaining in file".to_owned(),
            )),
            Err(e) => Err(self.io_error(e)),
        }
    }

    fn varint(&mut self) -> Result<i32, ValidationError> {
        read_varint(&mut self.input).map_err(|e| self.io_error(e))
    }

    fn invalid(&self, reason: String) -> ValidationError {
        ValidationError::InvalidRecords {
            record_index: self.record_index,
            reason,
        }
    }

    fn io_error(&self, error: io::Error) -> ValidationError {
        let bound_hit = error.get_ref().is_some_and(|e| e.is::<SizeBoundExceeded>());
        if bound_hit || self.input.get_ref().exceeded {
            return ValidationError::DecompressedTooLarge { limit: self.limit };
        }
        match error.kind() {
            io::ErrorKind::UnexpectedEof => {
                self.invalid("Incorrect declared batch size, premature EOF reached".to_owned())
            }
            _ if self.codec == Compression::None => self.invalid(error.to_string()),
            _ => ValidationError::Decompression {
                codec: self.codec.name(),
                reason: error.to_string(),
            },
        }
    }
}

/// attributes (1 byte), timestampDelta (varlong), offsetDelta (varint), keyLength (varint),
/// then the key is skipped.
fn read_head(input: &mut impl Read) -> io::Result<RecordHead> {
    let mut attributes = [0u8; 1];
    input.read_exact(&mut attributes)?;
    let timestamp_delta = read_varlong(input)?;
    let offset_delta = read_varint(input)?;
    let key_length = read_varint(input)?;
    if key_length > 0 {
        let len = u64::from(key_length.unsigned_abs());
        let skipped = io::copy(&mut input.take(len), &mut io::sink())?;
        if skipped < len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(RecordHead {
        timestamp_delta,
        offset_delta,
        key_length,
    })
}

/// Zig-zag varint of at most 5 bytes (Kafka's `ByteUtils.readVarint`).
pub(crate) fn read_varint(input: &mut impl Read) -> io::Result<i32> {
    let raw = read_unsigned_varint(input, 5)?;
    let raw = u32::try_from(raw).map_err(|_| invalid_data("varint does not fit 32 bits"))?;
    Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
}

/// Zig-zag varlong of at most 10 bytes (Kafka's `ByteUtils.readVarlong`).
pub(crate) fn read_varlong(input: &mut impl Read) -> io::Result<i64> {
    let raw = read_unsigned_varint(input, 10)?;
    Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

fn read_unsigned_varint(input: &mut impl Read, max_bytes: u32) -> io::Result<u64> {
    let mut value: u64 = 0;
    for i in 0..max_bytes {
        let mut byte = [0u8; 1];
        input.read_exact(&mut byte)?;
        value |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(invalid_data("varint is too long"))
}

fn invalid_data(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// The error a reader returns past its bound (the bound in bytes).
#[derive(Debug)]
struct SizeBoundExceeded(u64);

impl std::fmt::Display for SizeBoundExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "decompressed size bound of {} bytes exceeded", self.0)
    }
}

impl std::error::Error for SizeBoundExceeded {}

/// Counts the bytes read through it.
struct Counting<'r, R> {
    inner: &'r mut R,
    read: u64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Fails once more than `left` bytes were read: the decompressed-size bound.
struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
    exceeded: bool,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Ask for one byte more than allowed so that reaching the bound exactly is fine.
        let want = buf
            .len()
            .min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            self.exceeded = true;
            return Err(io::Error::other(SizeBoundExceeded(self.limit)));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// snappy-java's stream framing, which Kafka uses for snappy batches: a 16-byte header
/// (magic, version, compatible version) then blocks of `[u32 length][raw snappy]`.
/// Without the magic the whole payload is one raw snappy block, as snappy-java reads it.
struct SnappyJavaReader<'a> {
    input: &'a [u8],
    /// Whether the input has the xerial framing; `None` until the first read.
    framed: Option<bool>,
    block: Vec<u8>,
    cursor: usize,
    /// Largest block (decompressed) accepted: checked before allocating it.
    limit: u64,
}

const SNAPPY_JAVA_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const SNAPPY_JAVA_HEADER_BYTES: usize = 16;

impl<'a> SnappyJavaReader<'a> {
    fn new(input: &'a [u8], limit: u64) -> Self {
        SnappyJavaReader {
            input,
            framed: None,
            block: Vec::new(),
            cursor: 0,
            limit,
        }
    }

    /// Decompresses the next block into `self.block`; false at the end of the input.
    fn next_block(&mut self) -> io::Result<bool> {
        let framed = match self.framed {
            Some(framed) => framed,
            None => {
                let framed = self.input.starts_with(SNAPPY_JAVA_MAGIC);
                if framed {
                    let after = self.input.get(SNAPPY_JAVA_HEADER_BYTES..);
                    self.input = after.ok_or(io::Error::from(io::ErrorKind::UnexpectedEof))?;
                }
                self.framed = Some(framed);
                framed
            }
        };
        if self.input.is_empty() {
            return Ok(false);
        }
        let block = if framed {
            let length = self
                .input
                .get(..4)
                .ok_or(io::Error::from(io::ErrorKind::UnexpectedEof))?;
            let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]) as usize;
            let end = length
                .checked_add(4)
                .ok_or(io::Error::from(io::ErrorKind::UnexpectedEof))?;
            let block = self
                .input
                .get(4..end)
                .ok_or(io::Error::from(io::ErrorKind::UnexpectedEof))?;
            self.input = &self.input[end..];
            block
        } else {
            std::mem::take(&mut self.input)
        };
        self.decode(block)?;
        Ok(true)
    }

    fn decode(&mut self, block: &[u8]) -> io::Result<()> {
        let length = snap::raw::decompress_len(block).map_err(|e| invalid_data(&e.to_string()))?;
        // The block's claimed size is checked before allocating it.
        if length as u64 > self.limit {
            return Err(io::Error::other(SizeBoundExceeded(self.limit)));
        }
        self.block.clear();
        self.block.resize(length, 0);
        snap::raw::Decoder::new()
            .decompress(block, &mut self.block)
            .map_err(|e| invalid_data(&e.to_string()))?;
        self.cursor = 0;
        Ok(())
    }
}

impl Read for SnappyJavaReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.cursor >= self.block.len() {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        let available = &self.block[self.cursor..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.cursor += n;
        Ok(n)
    }
}
