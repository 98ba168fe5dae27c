//! One partition's log, after Kafka's `UnifiedLog`/`LocalLog`: an ordered set
//! of segments, the last one active. Owns offset assignment (through the
//! validator), rolling, reads, flushing with group commit, retention, log start
//! offset, and recovery at open. Transactions (markers, the last stable offset,
//! aborted transactions for read_committed fetches) are in `log/txn.rs`, the
//! rebuild of producer state and transaction indexes at open in `log/load.rs`.
//!
//! Concurrency: appends take the write lock (one writer per partition, never
//! across partitions); reads take the read lock only to locate file ranges and
//! read the data after releasing it. fsync happens outside both, so producers
//! keep appending while an earlier flush runs, and every producer waiting for
//! durability is covered by the next fsync (group commit).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::batch::BatchHeader;
use crate::config::LogConfig;
use crate::error::{Result, StorageError};
use crate::fs::{self, Fs};
use crate::layout::{PartitionFiles, CLEANER_CHECKPOINT_FILE, LOG_START_FILE, RECOVERY_POINT_FILE};
use crate::producer_state::ProducerStateManager;
use crate::segment::{FileSlice, Segment};
use crate::txn_index::AbortedTxn;

mod append;
mod compact;
mod load;
mod txn;
pub use append::{AppendError, AppendInfo};
pub use txn::TxnMarker;

/// The result of reading a partition.
#[derive(Debug, Clone)]
pub struct ReadResult {
    /// Whole batches, or `None` when there is nothing to return yet.
    pub data: Option<FileSlice>,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    /// The last stable offset when the data was read.
    pub last_stable_offset: i64,
    /// read_committed reads only: the aborted transactions overlapping the data.
    pub aborted_transactions: Option<Vec<AbortedTxn>>,
}

/// A batch found by timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    pub timestamp: i64,
    pub offset: i64,
}

pub struct PartitionLog {
    fs: Fs,
    dir: PathBuf,
    inner: RwLock<Inner>,
    /// Held by the one thread doing an fsync; others wait and usually find
    /// their data covered when they get it.
    flush_lock: Mutex<()>,
    /// Every offset below this is durable.
    flushed_offset: AtomicI64,
    /// Held by the one compaction pass running on this log.
    clean_lock: Mutex<()>,
    /// Where the next compaction's dirty section starts; -1 before the first.
    cleaner_checkpoint: AtomicI64,
}

struct Inner {
    config: LogConfig,
    /// By base offset; never empty; the last is the active segment.
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    /// Messages appended since the last flush, for `flush.messages`.
    unflushed_messages: u64,
    /// When the oldest unflushed append happened, for `flush.ms`.
    first_unflushed_ms: Option<i64>,
    /// Idempotent producers' recent sequences.
    producers: ProducerStateManager,
    /// The log end offset at which the producer state on disk is `producers`:
    /// a snapshot was written or loaded there (or the state loaded with no
    /// batch to replay). A clean shutdown at that offset needs no new
    /// snapshot: the state only changes with appends, which move the log end
    /// offset (Kafka's `takeSnapshot` skips when `lastMapOffset` is not past
    /// `lastSnapOffset`).
    producers_on_disk_at: Option<i64>,
    /// A segment file was created since the last flush: its directory entry
    /// (and the partition directory's) must be fsynced with the next flush.
    dir_dirty: bool,
    /// Base offsets of the segments rolled since the last flush. A roll does
    /// not fsync (Kafka's `roll` schedules a "flush-log" task instead): that
    /// would hold the append lock for as long as the disk takes to write up
    /// to a segment's worth of dirty pages. The next flush, on a housekeeping
    /// thread within a second or by a producer waiting for durability,
    /// fsyncs them, then moves the recovery point past them.
    rolled_unsynced: Vec<i64>,
    /// The producer snapshot written at the last roll, fsynced with those
    /// segments (an unclean start ignores a torn one and replays more).
    unsynced_snapshot: Option<(fs::Handle, PathBuf)>,
    /// The recovery point on disk: an unclean start checks every segment
    /// from here on, and replays producer state from a snapshot at or below.
    recovery_point: i64,
    /// Why the log went offline (see [`PartitionLog::offline`]), if it did.
    offline: Option<String>,
}

impl PartitionLog {
    /// Opens (creating if needed) the log in `dir`. After an unclean shutdown
    /// (`clean == false`) every segment from the recovery point on is
    /// CRC-checked and truncated after its last valid batch.
    pub fn open(dir: &Path, config: LogConfig, clean: bool) -> Result<Self> {
        Self::open_in(&fs::os(), dir, config, clean)
    }

    /// [`Self::open`] on the file system `fs`.
    ///
    /// The directory is listed once (again only when an interrupted
    /// compaction had to be finished), and only the files the listing shows
    /// are opened: a file that is not there behaves as a missing one always did.
    pub fn open_in(fs: &Fs, dir: &Path, config: LogConfig, clean: bool) -> Result<Self> {
        let mut files = list_partition_dir(fs, dir)?;
        let swaps = crate::cleaner::recovery::finish_interrupted_swaps(fs, dir, &files.names)?;
        if swaps.changed {
            files = list_partition_dir(fs, dir)?;
        }
        let offset_in = |name: &str| if files.has(name) { read_offset_file(fs, &dir.join(name)) } else { Ok(None) };
        let recovery_point_on_disk = offset_in(RECOVERY_POINT_FILE)?.unwrap_or(0);
        let recovery_point = if clean { i64::MAX } else { recovery_point_on_disk };
        let started = std::time::Instant::now();
        let mut segments = BTreeMap::new();
        let (mut recovered, mut truncated_bytes) = (Vec::new(), 0u64);
        let mut truncated_at: Option<i64> = None;
        for (&base, &segment_files) in &files.segments {
            if truncated_at.is_some() {
                // A segment after a truncated one would leave a gap: drop it.
                let (segment, _) = Segment::open(fs, dir, base, config.index_interval_bytes, false, segment_files)?;
                tracing::warn!(dir = %dir.display(), base_offset = base, "deleting a segment that follows a truncated one");
                segment.delete()?;
                continue;
            }
            let recover = (!clean && base >= recovery_point) || swaps.swapped.contains(&base);
            let (segment, truncated) = Segment::open(fs, dir, base, config.index_interval_bytes, recover, segment_files)?;
            if recover {
                recovered.push(base);
            }
            truncated_bytes += truncated;
            if truncated > 0 {
                truncated_at = Some(segment.next_offset());
            }
            segments.insert(base, segment);
        }
        let log_start_checkpoint = offset_in(LOG_START_FILE)?.unwrap_or(0);
        if segments.is_empty() {
            let segment = Segment::create(fs, dir, log_start_checkpoint, config.index_interval_bytes)?;
            segments.insert(log_start_checkpoint, segment);
        }
        let first_base = segments.keys().next().copied().unwrap_or(0);
        let log_end_offset = segments.values().next_back().map_or(0, Segment::next_offset);
        let log_start_offset = log_start_checkpoint.max(first_base).min(log_end_offset);
        let active_base = segments.keys().next_back().copied();
        let mut inner = Inner {
            config,
            segments,
            log_start_offset,
            unflushed_messages: 0,
            first_unflushed_ms: None,
            producers: ProducerStateManager::new(),
            producers_on_disk_at: None,
            dir_dirty: true,
            // Recovered segments (and their rebuilt indexes) may be in the
            // page cache only, after a process crash: the recovery point
            // passes them once they are fsynced, as for rolled ones.
            rolled_unsynced: recovered.iter().copied().filter(|&base| Some(base) != active_base).collect(),
            unsynced_snapshot: None,
            recovery_point: recovery_point_on_disk,
            offline: None,
        };
        load::load_state(fs, dir, &mut inner, &files.snapshots)?;
        if !recovered.is_empty() {
            tracing::info!(
                dir = %dir.display(),
                segments_checked = recovered.len(),
                truncated_bytes,
                log_end_offset,
                ms = started.elapsed().as_millis() as u64,
                "recovered partition log"
            );
        }
        Ok(Self {
            fs: fs.clone(),
            dir: dir.to_path_buf(),
            inner: RwLock::new(inner),
            flush_lock: Mutex::new(()),
            flushed_offset: AtomicI64::new(log_end_offset),
            clean_lock: Mutex::new(()),
            cleaner_checkpoint: AtomicI64::new(offset_in(CLEANER_CHECKPOINT_FILE)?.unwrap_or(-1)),
        })
    }

    /// Appends one batch whose offsets are already assigned and that starts at
    /// the log end offset. Returns whether the flush policy now asks for an
    /// fsync (call [`Self::flush`] then, outside any lock of yours).
    pub fn append_assigned(&self, batch: &[u8], now_ms: i64) -> Result<bool> {
        let mut inner = self.write();
        let header = BatchHeader::parse(batch).map_err(|e| StorageError::Corrupt {
            path: self.dir.clone(),
            reason: format!("appending an unparsable batch: {e}"),
        })?;
        inner.append(&self.fs, &self.dir, batch, &header, now_ms)
    }

    /// Runs `f` with the log end offset under the append lock, then appends the
    /// batch it returns. Lets callers assign offsets and check producer state
    /// atomically with the append.
    pub fn append_with<T, E: From<StorageError>>(
        &self,
        now_ms: i64,
        f: impl FnOnce(i64, &LogConfig) -> std::result::Result<Option<(T, Vec<u8>, BatchHeader)>, E>,
    ) -> std::result::Result<(Option<T>, bool), E> {
        let mut inner = self.write();
        inner.check_online(&self.dir)?;
        let next_offset = inner.log_end_offset();
        let Some((value, batch, header)) = f(next_offset, &inner.config)? else { return Ok((None, false)) };
        let needs_flush = inner.append(&self.fs, &self.dir, &batch, &header, now_ms)?;
        Ok((Some(value), needs_flush))
    }

    /// Whole batches from the one holding `offset`, up to `max_bytes` (at least
    /// one batch), below `max_offset` (exclusive; e.g. the high watermark).
    pub fn read(&self, offset: i64, max_bytes: usize, max_offset: i64) -> Result<ReadResult> {
        self.read_lock().read(&self.dir, offset, max_bytes, max_offset).map(|(result, _)| result)
    }

    /// Makes everything appended so far durable. Concurrent callers share fsyncs.
    pub fn flush(&self) -> Result<()> {
        let target = self.log_end_offset();
        self.flush_until(target)?;
        // Rolled segments wait for the recovery point to move even when their
        // data is durable already (a roll whose append then failed).
        self.flush_rolled()
    }

    /// Makes every offset below `offset` durable, sharing an fsync with any
    /// other caller waiting at the same time (group commit).
    ///
    /// A failed fsync takes the log offline: after one, the kernel may have
    /// dropped the dirty pages it could not write while reads still see them
    /// (PostgreSQL's "fsyncgate"), so nothing written since the last good
    /// fsync can be trusted or served until a restart recovers the log.
    pub fn flush_until(&self, offset: i64) -> Result<()> {
        if self.flushed_offset.load(Ordering::Acquire) >= offset {
            return Ok(());
        }
        let _flushing = self.flush_lock.lock().unwrap_or_else(|p| p.into_inner());
        if self.flushed_offset.load(Ordering::Acquire) >= offset {
            return Ok(()); // the fsync we waited behind covered us
        }
        self.sync(true)
    }

    /// Makes the segments rolled since the last flush durable and moves the
    /// recovery point past them, leaving the active segment to `flush.ms` and
    /// `flush.messages` (Kafka's `flushUptoOffsetExclusive(newSegment.baseOffset)`).
    pub fn flush_rolled(&self) -> Result<()> {
        if self.read_lock().rolled_unsynced.is_empty() {
            return Ok(());
        }
        let _flushing = self.flush_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.sync(false)
    }

    /// The fsyncs of a flush, under `flush_lock`: the rolled segments, then the
    /// active one if `active`. Takes the log offline when an fsync fails.
    fn sync(&self, active: bool) -> Result<()> {
        let synced = self.sync_rolled().and_then(|rolled| {
            let target = if active { self.sync_active()? } else { rolled.unwrap_or(0) };
            self.sync_dir_if_dirty()?;
            if let Some(recovery_point) = rolled {
                write_offset_file(&self.fs, &self.dir.join(RECOVERY_POINT_FILE), recovery_point)?;
                self.write().recovery_point = recovery_point;
            }
            self.flushed_offset.fetch_max(target, Ordering::AcqRel);
            Ok(())
        });
        if let Err(error) = &synced {
            if error.is_fsync() {
                self.write().take_offline(&self.dir, error);
            }
        }
        synced
    }

    /// fsyncs the segments rolled since the last flush, one at a time, and
    /// the snapshot written at the roll. Returns the recovery point they
    /// allow (the active segment's base when the last was taken), if any.
    fn sync_rolled(&self) -> Result<Option<i64>> {
        let mut recovery_point = None;
        loop {
            let (files, next) = {
                let mut inner = self.write();
                inner.check_online(&self.dir)?;
                let Some(&base) = inner.rolled_unsynced.first() else { break };
                // A segment deleted since it rolled (retention) needs nothing.
                let files = match inner.segments.get_mut(&base) {
                    Some(segment) => segment.take_files_to_sync()?,
                    None => Vec::new(),
                };
                inner.rolled_unsynced.remove(0);
                let snapshot = if inner.rolled_unsynced.is_empty() { inner.unsynced_snapshot.take() } else { None };
                (files.into_iter().chain(snapshot).collect::<Vec<_>>(), inner.active().base_offset())
            };
            for (file, path) in files {
                file.sync_data().map_err(StorageError::io("fsync", path))?;
            }
            recovery_point = Some(next);
        }
        Ok(recovery_point)
    }

    /// fsyncs the active segment's data (and new transaction index entries);
    /// returns the offset everything below which is now durable.
    fn sync_active(&self) -> Result<i64> {
        let (target, file, txn_index) = {
            let mut inner = self.write();
            inner.check_online(&self.dir)?;
            inner.unflushed_messages = 0;
            inner.first_unflushed_ms = None;
            let txn_index = inner.active_mut().take_unsynced_txn_index();
            (inner.log_end_offset(), inner.active().slice_file(), txn_index)
        };
        file.sync_data().map_err(StorageError::io("fsync", self.dir.clone()))?;
        if let Some(txn_index) = txn_index {
            // Recovery would rebuild it, but a clean shutdown trusts it.
            txn_index.sync_data().map_err(StorageError::io("fsync", self.dir.clone()))?;
        }
        Ok(target)
    }

    /// New files are durable only once their directory entries are.
    fn sync_dir_if_dirty(&self) -> Result<()> {
        if !std::mem::take(&mut self.write().dir_dirty) {
            return Ok(());
        }
        let synced = sync_dir(&self.fs, &self.dir).and_then(|()| self.dir.parent().map_or(Ok(()), |p| sync_dir(&self.fs, p)));
        if synced.is_err() {
            self.write().dir_dirty = true;
        }
        synced
    }

    /// Writes the active segment's index entries to its files and fsyncs
    /// them (see [`crate::index`]): at a clean shutdown, after which the next
    /// start trusts them.
    pub fn write_index_files(&self) -> Result<()> {
        let mut inner = self.write();
        inner.check_online(&self.dir)?;
        let active = inner.active_mut();
        active.persist_indexes()?;
        active.sync_indexes()
    }

    /// Flushes when `flush.ms` has passed since the oldest unflushed append,
    /// else flushes the segments rolled since the last flush, if any.
    pub fn flush_if_due(&self, now_ms: i64) -> Result<()> {
        let due = {
            let inner = self.read_lock();
            inner.first_unflushed_ms.is_some_and(|t| now_ms.saturating_sub(t) >= inner.config.flush_ms)
        };
        if due { self.flush() } else { self.flush_rolled() }
    }

    /// The first record whose timestamp is >= `timestamp`, as Kafka's
    /// ListOffsets by timestamp finds it: the time index leads to the batch,
    /// then the batch's records are walked (decompressing, bounded).
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<TimestampOffset>> {
        let inner = self.read_lock();
        for segment in inner.segments.values() {
            let Some(found) = segment.find_by_timestamp(timestamp)? else { continue };
            let batch = segment.read_batch(&found)?;
            // A batch whose records cannot be read answers to the batch, as before.
            let limit = inner.config.max_decompressed_bytes;
            let (offset, record_timestamp) = crate::validator::first_record_at_or_after(&batch, timestamp, limit)
                .ok()
                .flatten()
                .unwrap_or((found.header.base_offset, found.header.max_timestamp));
            return Ok(Some(TimestampOffset { timestamp: record_timestamp, offset: offset.max(inner.log_start_offset) }));
        }
        Ok(None)
    }

    /// The largest timestamp in the log and the offset of its batch (ListOffsets -3).
    pub fn max_timestamp(&self) -> Option<TimestampOffset> {
        let inner = self.read_lock();
        inner
            .segments
            .values()
            .filter_map(Segment::max_timestamp)
            .max_by_key(|&(t, _)| t)
            .map(|(timestamp, offset)| TimestampOffset { timestamp, offset })
    }

    /// Moves the log start offset forward to `offset` (DeleteRecords), deleting
    /// segments wholly below it. Returns the new log start offset.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64> {
        let mut inner = self.write();
        let log_end_offset = inner.log_end_offset();
        if offset < 0 || offset > log_end_offset {
            return Err(StorageError::OffsetOutOfRange { offset, log_start_offset: inner.log_start_offset, log_end_offset });
        }
        inner.check_online(&self.dir)?;
        if offset > inner.log_start_offset {
            write_offset_file(&self.fs, &self.dir.join(LOG_START_FILE), offset)?;
            inner.log_start_offset = offset;
            inner.delete_segments_below(&self.fs, &self.dir, offset)?;
        }
        Ok(inner.log_start_offset)
    }

    /// Applies `retention.ms` and `retention.bytes`: deletes whole old
    /// segments (never the active one) and moves the log start offset.
    /// Returns how many segments were deleted.
    pub fn apply_retention(&self, now_ms: i64) -> Result<usize> {
        let mut inner = self.write();
        if !inner.config.cleanup_delete || inner.offline.is_some() {
            return Ok(0);
        }
        let (retention_ms, retention_bytes) = (inner.config.retention_ms, inner.config.retention_bytes);
        let mut total: i64 = inner.segments.values().map(|s| s.size() as i64).sum();
        let mut new_start = None;
        let inactive: Vec<(i64, i64, u64)> = inner
            .segments
            .values()
            .rev()
            .skip(1)
            .rev()
            .map(|s| (s.next_offset(), s.max_timestamp().map_or(i64::MIN, |(t, _)| t), s.size()))
            .collect();
        for (next_offset, max_timestamp, size) in inactive {
            let expired = retention_ms >= 0 && now_ms.saturating_sub(max_timestamp) > retention_ms;
            let oversized = retention_bytes >= 0 && total - size as i64 >= retention_bytes;
            if !expired && !oversized {
                break;
            }
            total -= size as i64;
            new_start = Some(next_offset);
        }
        let Some(new_start) = new_start else { return Ok(0) };
        let before = inner.segments.len();
        inner.log_start_offset = inner.log_start_offset.max(new_start);
        inner.delete_segments_below(&self.fs, &self.dir, new_start)?;
        Ok(before - inner.segments.len())
    }

    /// Replaces the config (topic config changed). Takes effect for the next append.
    pub fn set_config(&self, config: LogConfig) {
        self.write().config = config;
    }

    pub fn config(&self) -> LogConfig {
        self.read_lock().config.clone()
    }

    pub fn log_start_offset(&self) -> i64 {
        self.read_lock().log_start_offset
    }

    pub fn log_end_offset(&self) -> i64 {
        self.read_lock().log_end_offset()
    }

    /// Bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.read_lock().segments.values().map(Segment::size).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.read_lock().segments.len()
    }

    /// Batch headers from `from_offset` on, in order (for rebuilding producer state).
    pub fn headers_from(&self, from_offset: i64) -> Result<Vec<BatchHeader>> {
        let inner = self.read_lock();
        let mut headers = Vec::new();
        for segment in inner.segments.values().filter(|s| s.next_offset() > from_offset) {
            headers.extend(segment.headers()?.into_iter().filter(|h| h.last_offset() >= from_offset));
        }
        Ok(headers)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Why the log is offline, if it is. A log goes offline when an fsync
    /// fails or a failed append cannot be undone (Kafka takes the whole log
    /// directory offline on any I/O error, and halts the broker when it was
    /// the last one); from then on appends, reads and flushes fail with
    /// [`StorageError::Offline`] (KAFKA_STORAGE_ERROR) until a restart
    /// recovers it. A failed write that could be undone (a full disk) leaves
    /// the log online: the next append may succeed once there is room.
    pub fn offline(&self) -> Option<String> {
        self.read_lock().offline.clone()
    }

    fn read_lock(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic in another thread cannot leave Inner half-updated in a way
        // reads care about: every field is updated after the I/O succeeded.
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    fn active(&self) -> &Segment {
        // Invariant: `segments` is never empty (open and roll keep one).
        self.segments.values().next_back().unwrap_or_else(|| unreachable!("a log always has an active segment"))
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments.values_mut().next_back().unwrap_or_else(|| unreachable!("a log always has an active segment"))
    }

    fn log_end_offset(&self) -> i64 {
        self.active().next_offset()
    }

    /// Whole batches from the one holding `offset` (see [`PartitionLog::read`]), and
    /// where the data ends: (base offset of its segment, end position in it).
    fn read(&self, dir: &Path, offset: i64, max_bytes: usize, max_offset: i64) -> Result<(ReadResult, Option<(i64, u64)>)> {
        self.check_online(dir)?;
        let log_end_offset = self.log_end_offset();
        let log_start_offset = self.log_start_offset;
        if offset < log_start_offset || offset > log_end_offset {
            return Err(StorageError::OffsetOutOfRange { offset, log_start_offset, log_end_offset });
        }
        let last_stable_offset = self.last_stable_offset();
        let mut result = ReadResult { data: None, log_start_offset, log_end_offset, last_stable_offset, aborted_transactions: None };
        let max_offset = max_offset.min(log_end_offset);
        // The segment holding `offset`, or later ones if it ends before it
        // (possible after compaction or when offset is at a segment's end).
        for (&base, segment) in self.segments.range(..=offset).next_back().into_iter().chain(self.segments.range(offset + 1..)) {
            if let Some(slice) = segment.read(offset, max_bytes, max_offset)? {
                let end = (base, slice.position + slice.len as u64);
                result.data = Some(slice);
                return Ok((result, Some(end)));
            }
        }
        Ok((result, None))
    }

    /// The log is online, else [`StorageError::Offline`].
    fn check_online(&self, dir: &Path) -> Result<()> {
        match &self.offline {
            None => Ok(()),
            Some(reason) => Err(StorageError::Offline { path: dir.to_path_buf(), reason: reason.clone() }),
        }
    }

    /// Takes the log offline after `error` (see [`PartitionLog::offline`]).
    fn take_offline(&mut self, dir: &Path, error: &StorageError) {
        if self.offline.is_none() && !matches!(error, StorageError::Offline { .. }) {
            tracing::error!(dir = %dir.display(), log_end_offset = self.log_end_offset(), %error, "partition log offline until restart");
            self.offline = Some(error.to_string());
        }
    }

    fn append(&mut self, fs: &Fs, dir: &Path, batch: &[u8], header: &BatchHeader, now_ms: i64) -> Result<bool> {
        let (head, body) = batch.split_at(crate::batch::HEADER_BYTES.min(batch.len()));
        self.append_parts(fs, dir, head, body, header, now_ms)
    }

    /// Appends the batch `head` + `body` (one batch in two slices, written together).
    fn append_parts(&mut self, fs: &Fs, dir: &Path, head: &[u8], body: &[u8], header: &BatchHeader, now_ms: i64) -> Result<bool> {
        self.check_online(dir)?;
        let appended = self.try_append(fs, dir, head, body, header, now_ms);
        if let Err(error) = &appended {
            // A write that was undone leaves the log as it was: it stays online.
            if error.is_fsync() || self.active().damaged() {
                self.take_offline(dir, error);
            }
        }
        appended
    }

    fn try_append(&mut self, fs: &Fs, dir: &Path, head: &[u8], body: &[u8], header: &BatchHeader, now_ms: i64) -> Result<bool> {
        if self.should_roll((head.len() + body.len()) as u64, header, now_ms) {
            self.roll(fs, dir)?;
        }
        self.active_mut().append_parts(head, body, header)?;
        self.unflushed_messages += u64::try_from(header.records_count).unwrap_or(0);
        self.first_unflushed_ms.get_or_insert(now_ms);
        Ok(self.unflushed_messages >= self.config.flush_messages)
    }

    fn should_roll(&self, batch_bytes: u64, header: &BatchHeader, now_ms: i64) -> bool {
        let active = self.active();
        if active.is_empty() {
            return false;
        }
        let full = active.size() + batch_bytes > self.config.segment_bytes;
        let old = active.first_batch_timestamp().is_some_and(|t| now_ms.saturating_sub(t) > self.config.segment_ms);
        full || old || !active.can_hold_offset(header.last_offset())
    }

    /// Starts a new active segment at the log end offset. Nothing is fsynced
    /// here: the old segment joins `rolled_unsynced` for the next flush, and
    /// until then an unclean start recovers it too.
    fn roll(&mut self, fs: &Fs, dir: &Path) -> Result<()> {
        let base = self.log_end_offset();
        let old = self.active().base_offset();
        // Its indexes are final now; written before the recovery point can pass it.
        self.active_mut().persist_indexes()?;
        let segment = Segment::create(fs, dir, base, self.config.index_interval_bytes)?;
        self.segments.insert(base, segment);
        self.dir_dirty = true;
        self.rolled_unsynced.push(old);
        // A snapshot per roll bounds how much of the log a restart replays.
        append::write_roll_snapshot(fs, dir, self)?;
        tracing::debug!(dir = %dir.display(), base_offset = base, "rolled a new segment");
        Ok(())
    }

    /// Deletes segments whose every offset is below `offset`; rolls first if
    /// that includes the active one, so a log always has a segment.
    fn delete_segments_below(&mut self, fs: &Fs, dir: &Path, offset: i64) -> Result<()> {
        if self.log_end_offset() <= offset && !self.active().is_empty() {
            self.roll(fs, dir)?;
        }
        let doomed: Vec<i64> = self
            .segments
            .iter()
            .rev()
            .skip(1)
            .filter(|(_, s)| s.next_offset() <= offset)
            .map(|(&base, _)| base)
            .collect();
        for base in doomed {
            if let Some(segment) = self.segments.remove(&base) {
                segment.delete()?;
            }
        }
        Ok(())
    }
}


/// The files of the partition directory `dir`, which is created when missing.
fn list_partition_dir(fs: &Fs, dir: &Path) -> Result<PartitionFiles> {
    match fs.list_dir(dir) {
        Ok(names) => Ok(PartitionFiles::parse(names)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs.create_dir_all(dir).map_err(StorageError::io("create", dir))?;
            Ok(PartitionFiles::default())
        }
        Err(e) => Err(StorageError::io("list", dir)(e)),
    }
}

/// Base offsets of the segments in `dir`, ascending.
#[cfg(test)]
fn segment_bases(fs: &Fs, dir: &Path) -> Result<Vec<i64>> {
    Ok(list_partition_dir(fs, dir)?.segments.into_keys().collect())
}

fn sync_dir(fs: &Fs, dir: &Path) -> Result<()> {
    fs.sync_dir(dir).map_err(StorageError::io("fsync", dir))
}

fn read_offset_file(fs: &Fs, path: &Path) -> Result<Option<i64>> {
    let bytes = fs::read_if_exists(&**fs, path).map_err(StorageError::io("read", path))?;
    Ok(bytes.and_then(|b| String::from_utf8_lossy(&b).trim().parse().ok()))
}

/// Writes a small file atomically (temp file, fsync, rename).
fn write_file_atomically(fs: &Fs, path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let file = fs.open(&tmp, fs::OpenMode::Truncate).map_err(StorageError::io("create", &tmp))?;
    file.write_all_at(bytes, 0).map_err(StorageError::io("write", &tmp))?;
    file.sync_data().map_err(StorageError::io("fsync", &tmp))?;
    fs.rename(&tmp, path).map_err(StorageError::io("rename", path))
}

/// [`write_file_atomically`] without the fsync, for a file a reader detects
/// when torn (a CRC): returns it for the caller to fsync later.
fn write_file_unsynced(fs: &Fs, path: &Path, bytes: &[u8]) -> Result<fs::Handle> {
    let tmp = path.with_extension("tmp");
    let file = fs.open(&tmp, fs::OpenMode::Truncate).map_err(StorageError::io("create", &tmp))?;
    file.write_all_at(bytes, 0).map_err(StorageError::io("write", &tmp))?;
    fs.rename(&tmp, path).map_err(StorageError::io("rename", path))?;
    Ok(file)
}

/// Writes a small offset file atomically.
fn write_offset_file(fs: &Fs, path: &Path, offset: i64) -> Result<()> {
    write_file_atomically(fs, path, format!("{offset}\n").as_bytes())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fault_tests;

#[cfg(test)]
mod open_tests;
