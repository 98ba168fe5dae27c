//! One segment of a partition log, after Kafka's `LogSegment`: a file of
//! record batches starting at `base_offset`, with its offset and time indexes
//! and its aborted transaction index.
//!
//! Batches are appended exactly as validated (offsets already assigned). Reads
//! return [`FileSlice`]s of whole batches, so the broker can send file data
//! without decoding it. Locating a slice reads batch headers a chunk at a
//! time ([`headers::HeaderReader`]) and jumps over whole runs of batches with
//! the offset index, so a 1 MiB fetch costs a few small reads, not one per batch.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::batch::{self, BatchHeader, HEADER_BYTES};
use crate::buffer_pool::BufferPool;
use crate::error::{Result, StorageError};
use crate::fs::{self, Fs, Handle, OpenMode};
use crate::index::{OffsetIndex, TimeIndex};
use crate::layout::{offset_file, segment_file, SegmentFiles, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX};
use crate::txn_index::{AbortedTxn, TxnIndex, TxnIndexSearch};
use headers::HeaderReader;

mod headers;

/// A byte range of a segment file holding whole batches.
#[derive(Debug, Clone)]
pub struct FileSlice {
    pub file: Handle,
    pub position: u64,
    pub len: usize,
}

impl FileSlice {
    /// Reads the slice into memory (one read, into an allocation that is
    /// not zeroed first).
    pub fn read(&self) -> std::io::Result<Bytes> {
        self.file.read_vec_at(self.len, self.position).map(Bytes::from)
    }

    /// [`Self::read`] into a buffer from `pool` (give it back with
    /// [`BufferPool::recycle`] once the bytes are written).
    pub fn read_pooled(&self, pool: &BufferPool) -> std::io::Result<Bytes> {
        let mut buf = pool.take(self.len);
        match self.file.read_into_vec_at(&mut buf, self.len, self.position) {
            Ok(()) => Ok(Bytes::from(buf)),
            Err(error) => {
                pool.give(buf);
                Err(error)
            }
        }
    }
}

/// Where a batch sits in a segment file.
#[derive(Debug, Clone, Copy)]
pub struct BatchPosition {
    pub position: u64,
    pub header: BatchHeader,
}

pub struct Segment {
    fs: Fs,
    base_offset: i64,
    dir: PathBuf,
    /// Compaction file state (`cleaned`, `swap`) of a segment not yet in the log.
    state: Option<&'static str>,
    log_path: PathBuf,
    file: Handle,
    /// Bytes of valid batches in the file.
    size: u64,
    /// A failed append could not be undone: the files no longer match memory.
    damaged: bool,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    txn_index: TxnIndex,
    /// The transaction index did not load cleanly: the log must rebuild it.
    txn_index_lost: bool,
    index_interval_bytes: u64,
    bytes_since_index_entry: u64,
    /// Offset after the last batch (= base offset when empty).
    next_offset: i64,
    /// Largest batch max timestamp, and the offset of the batch holding it.
    max_timestamp: Option<(i64, i64)>,
    /// Max timestamp of the first batch: segment.ms counts from it, as in Kafka.
    first_batch_timestamp: Option<i64>,
}

impl Segment {
    /// Creates an empty segment.
    pub fn create(fs: &Fs, dir: &Path, base_offset: i64, index_interval_bytes: u64) -> Result<Self> {
        Self::create_in_state(fs, dir, base_offset, index_interval_bytes, None)
    }

    /// Creates an empty segment whose files carry a compaction state suffix
    /// (see [`crate::layout`]); [`Self::rename_state`] moves it on.
    /// Files created before a failure are removed again, so a later attempt
    /// (once the disk has room) starts from nothing.
    pub fn create_in_state(fs: &Fs, dir: &Path, base_offset: i64, index_interval_bytes: u64, state: Option<&'static str>) -> Result<Self> {
        let log_path = segment_file(dir, base_offset, LOG_SUFFIX, state);
        let file = fs.open(&log_path, OpenMode::CreateNew).map_err(StorageError::io("create", &log_path))?;
        let indexes = (|| {
            Ok((
                OffsetIndex::create(fs, &segment_file(dir, base_offset, INDEX_SUFFIX, state))?,
                TimeIndex::create(fs, &segment_file(dir, base_offset, TIME_INDEX_SUFFIX, state))?,
                TxnIndex::create(fs, &segment_file(dir, base_offset, TXN_INDEX_SUFFIX, state))?,
            ))
        })();
        let (offset_index, time_index, txn_index) = match indexes {
            Ok(indexes) => indexes,
            Err(error) => {
                if let Err(cleanup) = delete_segment_files(fs, dir, base_offset, state) {
                    tracing::warn!(segment = %log_path.display(), error = %cleanup, "cannot remove a half-created segment");
                }
                return Err(error);
            }
        };
        Ok(Self {
            fs: fs.clone(),
            base_offset,
            dir: dir.to_path_buf(),
            state,
            offset_index,
            time_index,
            txn_index,
            txn_index_lost: false,
            log_path,
            file,
            size: 0,
            damaged: false,
            index_interval_bytes,
            bytes_since_index_entry: 0,
            next_offset: base_offset,
            max_timestamp: None,
            first_batch_timestamp: None,
        })
    }

    /// Opens an existing segment. With `recover`, every batch is read and
    /// CRC-checked, the file is truncated after the last valid one, and the
    /// indexes are rebuilt; without it the indexes are trusted when they load
    /// cleanly and only the last batch is located. Returns the bytes truncated.
    /// The transaction index needs producer state to rebuild, so the log does
    /// that: it is left empty with `recover`, or when it does not load cleanly
    /// (see [`Self::txn_index_lost`]).
    ///
    /// `files` tells which index files the directory holds (from its
    /// listing): a missing one is not looked for, as a missing file would
    /// behave anyway.
    pub fn open(fs: &Fs, dir: &Path, base_offset: i64, index_interval_bytes: u64, recover: bool, files: SegmentFiles) -> Result<(Self, u64)> {
        let log_path = offset_file(dir, base_offset, LOG_SUFFIX);
        let file = fs.open(&log_path, OpenMode::Existing).map_err(StorageError::io("open", &log_path))?;
        let file_len = file.size().map_err(StorageError::io("stat", &log_path))?;
        let index_path = offset_file(dir, base_offset, INDEX_SUFFIX);
        let time_path = offset_file(dir, base_offset, TIME_INDEX_SUFFIX);
        let txn_path = offset_file(dir, base_offset, TXN_INDEX_SUFFIX);
        let indexes = if recover || !files.index || !files.time_index {
            None
        } else {
            match (OffsetIndex::load(fs, &index_path, file_len)?, TimeIndex::load(fs, &time_path)?) {
                (Some(o), Some(t)) => Some((o, t)),
                _ => None,
            }
        };
        let mut rebuild = indexes.is_none();
        let (offset_index, time_index) = match indexes {
            Some(pair) => pair,
            None => (OffsetIndex::create(fs, &index_path)?, TimeIndex::create(fs, &time_path)?),
        };
        let mut segment = Self {
            fs: fs.clone(),
            base_offset,
            dir: dir.to_path_buf(),
            state: None,
            log_path,
            file,
            size: 0,
            damaged: false,
            offset_index,
            time_index,
            // Loaded after the scan, which tells the offsets it may hold.
            txn_index: if recover && files.txn_index { TxnIndex::create(fs, &txn_path)? } else { TxnIndex::unloaded(fs, &txn_path) },
            txn_index_lost: recover,
            index_interval_bytes,
            bytes_since_index_entry: 0,
            next_offset: base_offset,
            max_timestamp: None,
            first_batch_timestamp: None,
        };
        let from_indexes = if rebuild { None } else { segment.load_from_indexes(file_len)? };
        let truncated = match from_indexes {
            Some(truncated) => truncated,
            None => {
                if !rebuild {
                    tracing::warn!(segment = %segment.log_path.display(), "indexes do not match the segment: rebuilding them");
                    segment.offset_index = OffsetIndex::create(fs, &index_path)?;
                    segment.time_index = TimeIndex::create(fs, &time_path)?;
                    rebuild = true;
                }
                segment.scan(file_len, recover, rebuild)?
            }
        };
        if rebuild {
            // Written now, fsynced by the next flush of the log.
            segment.persist_indexes()?;
        }
        // A missing transaction index is an empty one (most segments never get one).
        if !recover && files.txn_index {
            match TxnIndex::load(fs, &txn_path, base_offset, segment.next_offset)? {
                Some(index) => segment.txn_index = index,
                None => {
                    tracing::warn!(index = %txn_path.display(), "transaction index is damaged: rebuilding it from the log");
                    segment.txn_index = TxnIndex::create(fs, &txn_path)?;
                    segment.txn_index_lost = true;
                }
            }
        }
        Ok((segment, truncated))
    }

    /// What [`Self::scan`] learns, from trusted indexes and the batches after
    /// the last offset-index entry only, as Kafka's `LogSegment` loads a
    /// segment it need not recover. Walking every header instead reads the
    /// whole file when the page cache is cold (a restart after a reboot, or in
    /// a memory-limited container): 9 s for 4 GB of segments here, against
    /// 0.2 s warm. `None`, with nothing changed, when the indexes do not match
    /// the file: the caller scans it then. Else the bytes truncated.
    fn load_from_indexes(&mut self, file_len: u64) -> Result<Option<u64>> {
        let (Some((relative, position)), Some(indexed_max)) =
            (self.offset_index.last_entry_where(|_, _| true), self.time_index.max_timestamp())
        else {
            return Ok(None);
        };
        let (position, indexed_base) = (u64::from(position), self.base_offset + i64::from(relative));
        let mut one = HeaderReader::single(&*self.file, &self.log_path, file_len);
        let (Some(first), Some(indexed)) = (one.at(0)?, one.at(position)?) else { return Ok(None) };
        if first.base_offset < self.base_offset || indexed.base_offset != indexed_base {
            return Ok(None);
        }
        // The time index's last entry is the largest timestamp up to and
        // including the indexed batch; its offset is the first batch reaching
        // it, found from the entry before.
        let mut at = u64::from(self.offset_index.lookup(self.time_index.lookup(indexed_max)));
        let mut headers = HeaderReader::new(&*self.file, &self.log_path, file_len);
        let indexed_max_at = loop {
            match headers.at(at)? {
                Some(header) if header.max_timestamp >= indexed_max => break header.base_offset,
                Some(header) if at < position => at += header.size() as u64,
                _ => return Ok(None),
            }
        };
        // The batches up to the indexed one count as tracked; walk the rest.
        self.first_batch_timestamp = Some(first.max_timestamp);
        self.next_offset = indexed_base;
        self.size = position;
        let truncated = self.scan_from(position, file_len, false, false)?;
        if self.max_timestamp.is_none_or(|(t, _)| indexed_max >= t) {
            self.max_timestamp = Some((indexed_max, indexed_max_at));
        }
        Ok(Some(truncated))
    }

    /// Walks the file's batches to learn next offset, timestamps and size,
    /// checking CRCs when `verify`, and rebuilding indexes when `rebuild`.
    fn scan(&mut self, file_len: u64, verify: bool, rebuild: bool) -> Result<u64> {
        self.scan_from(0, file_len, verify, rebuild)
    }

    /// [`Self::scan`] from the batch at `start`, the ones before it tracked already.
    fn scan_from(&mut self, start: u64, file_len: u64, verify: bool, rebuild: bool) -> Result<u64> {
        let mut position = start;
        let mut buf = Vec::new();
        let file = Arc::clone(&self.file);
        let path = self.log_path.clone();
        let mut headers = HeaderReader::new(&*file, &path, file_len);
        while position + HEADER_BYTES as u64 <= file_len {
            let Some(header) = headers.at(position)? else { break };
            let size = header.size() as u64;
            let in_order = header.base_offset >= self.next_offset
                && header.last_offset_delta >= 0
                && self.can_hold_offset(header.last_offset());
            if position + size > file_len || !in_order {
                break;
            }
            if verify {
                buf.resize(header.size(), 0);
                self.file.read_exact_at(&mut buf, position).map_err(StorageError::io("read", &self.log_path))?;
                if !batch::crc_is_valid(&buf) {
                    break;
                }
            }
            self.size = position;
            if rebuild {
                self.index_batch(&header, position);
            } else {
                self.bytes_since_index_entry += size;
                self.track_batch(&header);
            }
            position += size;
            self.size = position;
        }
        let truncated = file_len - self.size;
        if truncated > 0 {
            tracing::warn!(segment = %self.log_path.display(), valid_bytes = self.size, truncated_bytes = truncated, "truncating a torn or corrupt segment tail");
            self.file.set_len(self.size).map_err(StorageError::io("truncate", &self.log_path))?;
            self.offset_index.truncate_to_position(u32::try_from(self.size).unwrap_or(u32::MAX))?;
            self.time_index.truncate_to_offset(self.relative(self.next_offset))?;
        }
        Ok(truncated)
    }

    /// Appends one validated batch (offsets assigned) that must start at `next_offset()` or later.
    ///
    /// All or nothing: when the write fails (a full disk, an I/O error) the
    /// bytes written so far are removed again and the segment is as before.
    /// When even that fails the segment is [`Self::damaged`]. Index entries
    /// are added in memory, once the write succeeded.
    pub fn append(&mut self, batch: &[u8], header: &BatchHeader) -> Result<()> {
        self.append_parts(batch, &[], header)
    }

    /// Appends one batch held as two slices (a patched header and the rest as
    /// received) with one vectored write, so the rest is never copied in
    /// memory. All or nothing, as [`Self::append`].
    pub fn append_parts(&mut self, head: &[u8], body: &[u8], header: &BatchHeader) -> Result<()> {
        if self.damaged {
            return Err(StorageError::Corrupt { path: self.log_path.clone(), reason: "an earlier failed append could not be undone".into() });
        }
        let position = self.size;
        let written = self.file.write_all_vectored_at(head, body, position).map_err(StorageError::io("append to", &self.log_path));
        if let Err(error) = written {
            if let Err(undo) = self.undo_append(position) {
                tracing::error!(segment = %self.log_path.display(), valid_bytes = position, %error, %undo, "cannot undo a failed append: the segment is damaged");
                self.damaged = true;
            }
            return Err(error);
        }
        self.size += (head.len() + body.len()) as u64;
        self.index_batch(header, position);
        Ok(())
    }

    /// Removes the partial batch a failed append at `position` may have left.
    fn undo_append(&mut self, position: u64) -> Result<()> {
        self.file.set_len(position).map_err(StorageError::io("truncate", &self.log_path))
    }

    /// A failed append could not be undone: the files no longer match what is
    /// in memory, and only recovery at the next start can tell what is valid.
    pub fn damaged(&self) -> bool {
        self.damaged
    }

    /// Updates in-memory state and, every `index_interval_bytes`, the indexes.
    /// Every `index_interval_bytes`, an entry in each index for the batch at
    /// `position`; then the batch is tracked.
    fn index_batch(&mut self, header: &BatchHeader, position: u64) {
        if self.next_offset == self.base_offset || self.bytes_since_index_entry >= self.index_interval_bytes {
            // The entry names the batch's base offset: a lookup of any offset
            // at or above it may start scanning at this batch.
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            self.offset_index.append(self.relative(header.base_offset), position);
            let ts = self.max_timestamp.map_or(header.max_timestamp, |(t, _)| t.max(header.max_timestamp));
            self.time_index.append(ts, self.relative(header.base_offset));
            self.bytes_since_index_entry = 0;
        }
        self.bytes_since_index_entry += header.size() as u64;
        self.track_batch(header);
    }

    fn track_batch(&mut self, header: &BatchHeader) {
        if self.first_batch_timestamp.is_none() {
            self.first_batch_timestamp = Some(header.max_timestamp);
        }
        if self.max_timestamp.is_none_or(|(t, _)| header.max_timestamp > t) {
            self.max_timestamp = Some((header.max_timestamp, header.base_offset));
        }
        self.next_offset = header.next_offset();
    }

    /// Reads headers of this segment's valid batches (below its size).
    fn headers_reader(&self) -> HeaderReader<'_> {
        HeaderReader::new(&*self.file, &self.log_path, self.size)
    }

    fn read_header(&self, position: u64) -> Result<Option<BatchHeader>> {
        HeaderReader::single(&*self.file, &self.log_path, self.size).at(position)
    }

    /// The batch holding `offset`, or the first batch after it, scanning from
    /// the offset index's floor entry. `None` when the segment ends before it.
    pub fn find_batch(&self, offset: i64) -> Result<Option<BatchPosition>> {
        self.find_batch_with(&mut self.headers_reader(), offset)
    }

    fn find_batch_with(&self, headers: &mut HeaderReader<'_>, offset: i64) -> Result<Option<BatchPosition>> {
        if offset >= self.next_offset {
            return Ok(None);
        }
        let mut position = u64::from(self.offset_index.lookup(self.relative(offset)));
        while position < self.size {
            let Some(header) = headers.at(position)? else { return Ok(None) };
            if header.last_offset() >= offset {
                return Ok(Some(BatchPosition { position, header }));
            }
            position += header.size() as u64;
        }
        Ok(None)
    }

    /// Whole batches from the one holding `offset`, up to `max_bytes` (but at
    /// least one batch), stopping before any batch starting at or after
    /// `max_offset` (exclusive upper bound, e.g. the high watermark). Only
    /// batches below the segment's size, all complete, are ever included.
    pub fn read(&self, offset: i64, max_bytes: usize, max_offset: i64) -> Result<Option<FileSlice>> {
        let mut headers = self.headers_reader();
        let Some(first) = self.find_batch_with(&mut headers, offset)? else { return Ok(None) };
        if first.header.base_offset >= max_offset {
            return Ok(None);
        }
        let first_end = first.position + first.header.size() as u64;
        // The slice ends at or before `limit`: max_bytes, but the first batch whole.
        let limit = first.position.saturating_add(max_bytes as u64).max(first_end).min(self.size);
        // Every batch before an indexed one starting at or below `limit` and
        // below `max_offset` is in the slice: jump there, then walk the rest.
        let mut end = first_end;
        let indexed = self.offset_index.last_entry_where(|relative, position| {
            u64::from(position) <= limit && self.base_offset + i64::from(relative) < max_offset
        });
        if let Some((_, position)) = indexed {
            end = end.max(u64::from(position));
        }
        while end < limit {
            let Some(header) = headers.at(end)? else { break };
            let next_end = end + header.size() as u64;
            if header.base_offset >= max_offset || next_end > limit {
                break;
            }
            end = next_end;
        }
        Ok(Some(FileSlice { file: Arc::clone(&self.file), position: first.position, len: (end - first.position) as usize }))
    }

    /// The first batch with records whose max timestamp is >= `timestamp`
    /// (compaction can leave empty batches, which hold no record to answer with).
    pub fn find_by_timestamp(&self, timestamp: i64) -> Result<Option<BatchPosition>> {
        if self.max_timestamp.is_none_or(|(t, _)| t < timestamp) {
            return Ok(None);
        }
        let start = self.base_offset + i64::from(self.time_index.lookup(timestamp));
        let mut headers = self.headers_reader();
        let Some(mut found) = self.find_batch_with(&mut headers, start)? else { return Ok(None) };
        loop {
            if found.header.max_timestamp >= timestamp && found.header.records_count > 0 {
                return Ok(Some(found));
            }
            let position = found.position + found.header.size() as u64;
            if position >= self.size {
                return Ok(None);
            }
            let Some(header) = headers.at(position)? else { return Ok(None) };
            found = BatchPosition { position, header };
        }
    }

    /// The bytes of one batch found by [`Self::find_batch`] or [`Self::find_by_timestamp`].
    pub fn read_batch(&self, at: &BatchPosition) -> Result<Vec<u8>> {
        self.file.read_vec_at(at.header.size(), at.position).map_err(StorageError::io("read", &self.log_path))
    }

    /// Removes every batch at or after `offset` (which must be a batch boundary
    /// or inside the last batch to remove).
    pub fn truncate_to(&mut self, offset: i64) -> Result<()> {
        let Some(at) = self.find_batch(offset)? else { return Ok(()) };
        let position = if at.header.base_offset >= offset { at.position } else { at.position + at.header.size() as u64 };
        self.file.set_len(position).map_err(StorageError::io("truncate", &self.log_path))?;
        self.offset_index.truncate_to_position(u32::try_from(position).unwrap_or(u32::MAX))?;
        let file_len = position;
        // Re-derive in-memory state from what is left.
        self.size = 0;
        self.next_offset = self.base_offset;
        self.max_timestamp = None;
        self.first_batch_timestamp = None;
        self.bytes_since_index_entry = 0;
        self.scan(file_len, false, false)?;
        self.txn_index.truncate_to(offset)?;
        self.time_index.truncate_to_offset(self.relative(self.next_offset))
    }

    /// fsyncs the index files (after [`Self::persist_indexes`]).
    pub fn sync_indexes(&mut self) -> Result<()> {
        self.offset_index.sync()?;
        self.time_index.sync()
    }

    /// Makes everything appended so far durable.
    pub fn flush(&mut self) -> Result<()> {
        self.persist_indexes()?;
        self.file.sync_data().map_err(StorageError::io("fsync", &self.log_path))?;
        self.sync_indexes()?;
        self.txn_index.sync()
    }

    /// The files to fsync, with their paths, for everything appended so far to
    /// be durable, for a caller that fsyncs them outside the log's locks (a
    /// rolled segment is flushed in the background, as Kafka's "flush-log"
    /// task does after a roll; its indexes were written then). Opening the
    /// index files may fail: then nothing is taken. The transaction index
    /// counts as synced from now on, as in [`Self::take_unsynced_txn_index`].
    pub fn take_files_to_sync(&mut self) -> Result<Vec<(Handle, PathBuf)>> {
        let mut files = vec![(Arc::clone(&self.file), self.log_path.clone())];
        files.extend(self.offset_index.handle_to_sync()?);
        files.extend(self.time_index.handle_to_sync()?);
        if let Some(txn_index) = self.txn_index.take_unsynced() {
            files.push((txn_index, segment_file(&self.dir, self.base_offset, TXN_INDEX_SUFFIX, self.state)));
        }
        Ok(files)
    }

    /// Writes the index entries added since the last time to their files
    /// (see [`crate::index`]): when the segment stops being active, at a
    /// clean shutdown, after a rebuild.
    pub fn persist_indexes(&mut self) -> Result<()> {
        self.offset_index.persist()?;
        self.time_index.persist()
    }

    pub(crate) fn slice_file(&self) -> Handle {
        Arc::clone(&self.file)
    }

    /// Deletes the segment's files.
    pub fn delete(self) -> Result<()> {
        delete_segment_files(&self.fs, &self.dir, self.base_offset, self.state)
    }

    /// Renames the segment's files to another compaction state (`None`: a
    /// live segment's names). The log file goes last: for a `swap` it is the
    /// commit point recovery looks for. The transaction index exists only once
    /// it has an entry. Open handles (and file slices readers hold) are
    /// unaffected by renames.
    pub fn rename_state(&mut self, to: Option<&'static str>) -> Result<()> {
        for suffix in [TXN_INDEX_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, LOG_SUFFIX] {
            let from = segment_file(&self.dir, self.base_offset, suffix, self.state);
            let dest = segment_file(&self.dir, self.base_offset, suffix, to);
            match self.fs.rename(&from, &dest) {
                Ok(()) => {}
                Err(e) if suffix == TXN_INDEX_SUFFIX && e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StorageError::io("rename", &from)(e)),
            }
        }
        self.state = to;
        self.log_path = segment_file(&self.dir, self.base_offset, LOG_SUFFIX, to);
        self.offset_index.set_path(segment_file(&self.dir, self.base_offset, INDEX_SUFFIX, to));
        self.time_index.set_path(segment_file(&self.dir, self.base_offset, TIME_INDEX_SUFFIX, to));
        self.txn_index.set_path(segment_file(&self.dir, self.base_offset, TXN_INDEX_SUFFIX, to));
        Ok(())
    }

    fn relative(&self, offset: i64) -> u32 {
        u32::try_from(offset.saturating_sub(self.base_offset).max(0)).unwrap_or(u32::MAX)
    }

    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Largest batch max timestamp in the segment and the base offset of its batch.
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        self.max_timestamp
    }

    /// Timestamp segment.ms is measured from (first batch's max timestamp).
    pub fn first_batch_timestamp(&self) -> Option<i64> {
        self.first_batch_timestamp
    }

    /// Whether the offset index can take offsets up to `offset` (relative
    /// offsets are 32-bit).
    pub fn can_hold_offset(&self, offset: i64) -> bool {
        offset - self.base_offset <= i64::from(u32::MAX)
    }

    /// Records an aborted transaction whose marker was just appended to this
    /// segment. Returns whether the index file was created.
    pub fn append_aborted_txn(&mut self, txn: AbortedTxn) -> Result<bool> {
        self.txn_index.append(txn)
    }

    /// The aborted transactions of this segment's index overlapping
    /// `[fetch_offset, upper_bound_offset)` (Kafka's `LogSegment.collectAbortedTxns`).
    pub fn collect_aborted_txns(&self, fetch_offset: i64, upper_bound_offset: i64) -> Result<TxnIndexSearch> {
        self.txn_index.collect(fetch_offset, upper_bound_offset)
    }

    /// Every entry of the transaction index, in marker order.
    pub fn aborted_txns(&self) -> Result<Vec<AbortedTxn>> {
        self.txn_index.all()
    }

    /// The transaction index did not load cleanly, or was dropped by recovery:
    /// it is empty and must be rebuilt from the batches.
    pub fn txn_index_lost(&self) -> bool {
        self.txn_index_lost
    }

    /// The transaction index file if it has entries not yet fsynced; the
    /// caller fsyncs it.
    pub fn take_unsynced_txn_index(&mut self) -> Option<Handle> {
        self.txn_index.take_unsynced()
    }

    /// Empties the transaction index before it is rebuilt.
    pub fn reset_txn_index(&mut self) -> Result<()> {
        self.txn_index_lost = false;
        self.txn_index.reset()
    }

    /// The offset at byte `position`: the base offset of the batch starting
    /// there, or the next offset when `position` is the end of the segment.
    pub fn offset_at_position(&self, position: u64) -> Result<i64> {
        if position >= self.size {
            return Ok(self.next_offset);
        }
        Ok(self.read_header(position)?.map_or(self.next_offset, |h| h.base_offset))
    }

    /// Where every batch is, in order.
    pub fn batches(&self) -> Result<Vec<BatchPosition>> {
        let mut batches = Vec::new();
        let mut position = 0;
        let mut reader = self.headers_reader();
        while position < self.size {
            let Some(header) = reader.at(position)? else { break };
            batches.push(BatchPosition { position, header });
            position += header.size() as u64;
        }
        Ok(batches)
    }

    /// The headers of every batch, in order (producer state rebuilds from these).
    pub fn headers(&self) -> Result<Vec<BatchHeader>> {
        let mut headers = Vec::new();
        let mut position = 0;
        let mut reader = self.headers_reader();
        while position < self.size {
            let Some(header) = reader.at(position)? else { break };
            position += header.size() as u64;
            headers.push(header);
        }
        Ok(headers)
    }
}

/// Removes the files of segment `base_offset` in `state`, those that exist.
pub(crate) fn delete_segment_files(fs: &Fs, dir: &Path, base_offset: i64, state: Option<&str>) -> Result<()> {
    for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX] {
        let path = segment_file(dir, base_offset, suffix, state);
        fs::remove_if_exists(&**fs, &path).map_err(StorageError::io("delete", &path))?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
