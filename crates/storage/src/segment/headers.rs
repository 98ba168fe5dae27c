//! Batch headers of a segment file read a chunk at a time: walking batches
//! (to find an offset, or where a fetch's slice ends) costs one positional
//! read per chunk of small batches instead of one per batch. Large batches
//! (a chunk would hold only their header) are read one header at a time, so
//! no chunk copies data nobody looks at.

use std::path::Path;

use crate::batch::{BatchHeader, HEADER_BYTES};
use crate::error::{Result, StorageError};
use crate::fs::FileHandle;

/// Bytes read at once while batches are small: an offset index entry comes
/// every `index.interval.bytes` (4096 by default), so a walk from one rarely
/// needs a second chunk.
pub(crate) const CHUNK_BYTES: usize = 8192;

pub(crate) struct HeaderReader<'a> {
    file: &'a dyn FileHandle,
    path: &'a Path,
    /// Headers are only read below this position (the segment's valid bytes,
    /// or the file's length while recovery scans it).
    end: u64,
    /// File bytes from `chunk_at`.
    chunk: Vec<u8>,
    chunk_at: u64,
    /// Size of the last batch seen: past CHUNK_BYTES, read headers alone.
    last_batch: usize,
}

impl<'a> HeaderReader<'a> {
    pub(crate) fn new(file: &'a dyn FileHandle, path: &'a Path, end: u64) -> Self {
        Self { file, path, end, chunk: Vec::new(), chunk_at: 0, last_batch: 0 }
    }

    /// A reader for one header: reads nothing past it.
    pub(crate) fn single(file: &'a dyn FileHandle, path: &'a Path, end: u64) -> Self {
        Self { last_batch: CHUNK_BYTES, ..Self::new(file, path, end) }
    }

    /// The header of the batch at `position`; `None` when no whole header
    /// lies below the end, or the bytes there are not a batch header.
    pub(crate) fn at(&mut self, position: u64) -> Result<Option<BatchHeader>> {
        let Some(header_end) = position.checked_add(HEADER_BYTES as u64).filter(|&e| e <= self.end) else { return Ok(None) };
        let chunk_end = self.chunk_at + self.chunk.len() as u64;
        if position < self.chunk_at || header_end > chunk_end {
            let want = if self.last_batch >= CHUNK_BYTES { HEADER_BYTES as u64 } else { CHUNK_BYTES as u64 };
            // At least the header (it fits below `end`), at most what lies below `end`.
            let len = want.min(self.end - position) as usize;
            self.chunk = match self.file.read_vec_at(len, position) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(StorageError::io("read", self.path)(e)),
            };
            self.chunk_at = position;
        }
        let from = (position - self.chunk_at) as usize;
        let header = self.chunk.get(from..from + HEADER_BYTES).and_then(|head| BatchHeader::parse(head).ok());
        if let Some(header) = &header {
            self.last_batch = header.size();
        }
        Ok(header)
    }
}
