//! Compressors for the batches compaction re-encodes, each producing the
//! framing Kafka's own writers produce (`Compression.wrapForOutput`) and every
//! client reads: gzip, snappy in snappy-java's stream framing, lz4 frames
//! with independent 64 KiB blocks, one zstd frame.

use std::io::{self, Write};

use crate::batch::Compression;

/// snappy-java's stream header: magic, then version 1 and compatible version 1.
const SNAPPY_JAVA_HEADER: &[u8; 16] = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01";
/// snappy-java's default block size, as Kafka's producer writes it.
const SNAPPY_BLOCK_BYTES: usize = 32 * 1024;

/// `raw` (encoded records) compressed with `codec`.
pub fn compress(codec: Compression, raw: &[u8]) -> io::Result<Vec<u8>> {
    match codec {
        Compression::None => Ok(raw.to_vec()),
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(raw)?;
            encoder.finish()
        }
        Compression::Snappy => {
            let mut out = Vec::with_capacity(raw.len() / 2 + SNAPPY_JAVA_HEADER.len());
            out.extend_from_slice(SNAPPY_JAVA_HEADER);
            let mut encoder = snap::raw::Encoder::new();
            for block in raw.chunks(SNAPPY_BLOCK_BYTES) {
                let compressed = encoder.compress_vec(block).map_err(io::Error::other)?;
                let length = u32::try_from(compressed.len()).map_err(io::Error::other)?;
                out.extend_from_slice(&length.to_be_bytes());
                out.extend_from_slice(&compressed);
            }
            Ok(out)
        }
        Compression::Lz4 => {
            use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};
            let info = FrameInfo::new().block_mode(BlockMode::Independent).block_size(BlockSize::Max64KB);
            let mut encoder = FrameEncoder::with_frame_info(info, Vec::new());
            encoder.write_all(raw)?;
            encoder.finish().map_err(io::Error::other)
        }
        Compression::Zstd => Ok(ruzstd::encoding::compress_to_vec(raw, ruzstd::encoding::CompressionLevel::Fastest)),
    }
}
