//! Compaction of one partition log: plan under the read lock, map and rewrite
//! without any lock (appends and fetches go on), swap each rewritten group in
//! under the write lock, held for its renames and two directory fsyncs (a few
//! milliseconds, as Kafka's `replaceSegments` holds the log's lock). See
//! [`crate::cleaner`] for the algorithm and [`crate::cleaner::recovery`] for
//! the file protocol.
//!
//! Readers stay safe: only segments before the active one are rewritten, and
//! those files are never written again; a rewrite goes to new files. A reader
//! holding a [`FileSlice`](crate::segment::FileSlice) of a replaced segment
//! keeps its open handle, which goes on reading the old, whole batches after
//! the file is renamed and unlinked. A reader locating batches holds the read
//! lock, so it sees the old segments or the new one, never a mix.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::batch::{self, BatchHeader, HEADER_BYTES};
use crate::cleaner::filter::{filter_batch, map_batch, FilterContext, Filtered};
use crate::cleaner::offset_map::OffsetMap;
use crate::txn_index::AbortedTxn;
use crate::cleaner::plan::{group_by_size, log_to_clean, LogFacts, LogToClean, SegmentInfo};
use crate::cleaner::{CleanStats, CleanerConfig};
use crate::config::LogConfig;
use crate::error::{Result, StorageError};
use crate::fs::{Fs, Handle};
use crate::layout::{CLEANED_STATE, CLEANER_CHECKPOINT_FILE, DELETED_STATE, SWAP_STATE};
use crate::segment::{delete_segment_files, Segment};

use super::{sync_dir, write_offset_file, Inner, PartitionLog};

/// An inactive segment as the cleaner reads it, outside the log's locks.
#[derive(Clone)]
struct SegmentView {
    info: SegmentInfo,
    file: Handle,
    /// The segment's aborted transaction index. Cleaning keeps every
    /// transactional batch and marker, so the cleaned segment carries these
    /// entries over unchanged (Kafka's cleaner re-appends each aborted
    /// transaction whose marker it retains).
    aborted: Vec<AbortedTxn>,
}

/// What a pass works from, taken under the read lock.
struct Snapshot {
    plan: LogToClean,
    /// Every inactive segment, in order.
    segments: Vec<SegmentView>,
    config: LogConfig,
    last_data_offsets: HashMap<i64, i64>,
}

impl PartitionLog {
    /// How dirty the log is, if it is compacted and has data (Kafka's `LogToClean`).
    pub fn cleanable(&self, now_ms: i64) -> Option<LogToClean> {
        let inner = self.read_lock();
        if !inner.config.cleanup_compact || inner.offline.is_some() {
            return None;
        }
        let plan = self.plan(&inner, now_ms);
        (plan.total_bytes() > 0).then_some(plan)
    }

    /// The cleaner checkpoint: offsets below it were compacted at least once.
    pub fn cleaner_checkpoint(&self) -> Option<i64> {
        let offset = self.cleaner_checkpoint.load(Ordering::Acquire);
        (offset >= 0).then_some(offset)
    }

    /// One compaction pass (see [`crate::cleaner`]). `None` when the log is
    /// not compacted, has nothing dirty, or another pass is running. `stop`
    /// aborts the pass, leaving the log as it was before the current group.
    pub fn clean(&self, now_ms: i64, cleaner: &CleanerConfig, stop: &AtomicBool) -> Result<Option<CleanStats>> {
        let Ok(_one_pass) = self.clean_lock.try_lock() else { return Ok(None) };
        let started = Instant::now();
        let Some(snapshot) = self.snapshot(now_ms)? else { return Ok(None) };
        let plan = snapshot.plan;
        if plan.reset_checkpoint {
            self.set_cleaner_checkpoint(plan.first_dirty_offset)?;
        }
        if plan.first_uncleanable_offset <= plan.first_dirty_offset {
            return Ok(None);
        }
        let mut stats = CleanStats {
            first_dirty_offset: plan.first_dirty_offset,
            first_uncleanable_offset: plan.first_uncleanable_offset,
            ..CleanStats::default()
        };
        let map = self.build_offset_map(&snapshot, cleaner, stop)?;
        let end_offset = map.latest_offset() + 1;
        if end_offset <= plan.first_dirty_offset {
            return Ok(None);
        }
        stats.end_offset = end_offset;
        stats.map_keys = map.len();
        stats.map_utilization = map.utilization();
        let to_clean: Vec<&SegmentView> = snapshot.segments.iter().filter(|s| s.info.base_offset < end_offset).collect();
        let infos: Vec<SegmentInfo> = to_clean.iter().map(|s| s.info).collect();
        let ctx = FilterContext {
            map: &map,
            now_ms,
            delete_retention_ms: snapshot.config.delete_retention_ms,
            last_data_offsets: &snapshot.last_data_offsets,
            upper_bound_offset: plan.first_uncleanable_offset,
            max_decompressed_bytes: snapshot.config.max_decompressed_bytes,
        };
        for group in group_by_size(&infos, snapshot.config.segment_bytes, plan.first_uncleanable_offset) {
            let group = &to_clean[group];
            let cleaned = self.clean_group(group, &ctx, &snapshot.config, &mut stats, stop)?;
            if !self.swap_in(cleaned, group)? {
                // Retention or DeleteRecords changed these segments meanwhile: plan anew next time.
                tracing::debug!(dir = %self.dir.display(), "segments changed during compaction; pass abandoned");
                stats.elapsed = started.elapsed();
                return Ok(Some(stats));
            }
            stats.segments_read += group.len();
            stats.segments_written += 1;
        }
        self.set_cleaner_checkpoint(end_offset)?;
        stats.elapsed = started.elapsed();
        Ok(Some(stats))
    }

    fn plan(&self, inner: &Inner, now_ms: i64) -> LogToClean {
        let infos: Vec<SegmentInfo> = inner.segments.values().map(info).collect();
        let facts = LogFacts {
            segments: &infos,
            log_start_offset: inner.log_start_offset,
            log_end_offset: inner.log_end_offset(),
            checkpoint: self.cleaner_checkpoint(),
            first_unstable_offset: inner.producers.first_unstable_offset(),
            min_compaction_lag_ms: inner.config.min_compaction_lag_ms,
            max_compaction_lag_ms: inner.config.max_compaction_lag_ms,
        };
        log_to_clean(&facts, now_ms)
    }

    fn snapshot(&self, now_ms: i64) -> Result<Option<Snapshot>> {
        let inner = self.read_lock();
        if !inner.config.cleanup_compact || inner.offline.is_some() {
            return Ok(None);
        }
        let inactive = inner.segments.len().saturating_sub(1);
        let segments = inner
            .segments
            .values()
            .take(inactive)
            .map(|s| Ok(SegmentView { info: info(s), file: s.slice_file(), aborted: s.aborted_txns()? }))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Snapshot {
            plan: self.plan(&inner, now_ms),
            segments,
            config: inner.config.clone(),
            last_data_offsets: inner.producers.last_data_offsets(),
        }))
    }

    /// Maps the dirty section's keys to their latest offsets, as far as the map holds.
    fn build_offset_map(&self, snapshot: &Snapshot, cleaner: &CleanerConfig, stop: &AtomicBool) -> Result<OffsetMap> {
        let (start, end) = (snapshot.plan.first_dirty_offset, snapshot.plan.first_uncleanable_offset);
        let dirty: Vec<&SegmentView> =
            snapshot.segments.iter().filter(|s| s.info.next_offset > start && s.info.base_offset < end).collect();
        // The map is sized once, for the dirty section's records if fewer than it holds.
        let mut records = 0u64;
        for segment in &dirty {
            self.for_each_header(segment, |header| {
                if header.base_offset >= end {
                    return false;
                }
                if !header.is_control() && !header.is_transactional() && header.next_offset() > start {
                    records += u64::try_from(header.records_count).unwrap_or(0);
                }
                true
            })?;
        }
        let mut map = OffsetMap::new(cleaner.max_map_entries().min(usize::try_from(records).unwrap_or(usize::MAX)));
        for (i, segment) in dirty.iter().enumerate() {
            let mut full = false;
            self.for_each_batch(segment, stop, |batch, header| {
                if header.base_offset >= end {
                    return Ok(false);
                }
                if header.next_offset() > start {
                    let limit = snapshot.config.max_decompressed_bytes;
                    full = !map_batch(batch, header, &mut map, (start, end), limit).map_err(|reason| self.corrupt(segment, header, reason))?;
                }
                Ok(!full)
            })?;
            if full {
                break;
            }
            // Offsets missing between segments (compacted away) belong to the pass too.
            let next_base = dirty.get(i + 1).map_or(end, |s| s.info.base_offset);
            map.update_latest_offset(next_base - 1);
        }
        Ok(map)
    }

    /// Rewrites one group of segments into a new `.cleaned` segment, fsynced.
    fn clean_group(
        &self,
        group: &[&SegmentView],
        ctx: &FilterContext<'_>,
        config: &LogConfig,
        stats: &mut CleanStats,
        stop: &AtomicBool,
    ) -> Result<Segment> {
        let base = group.first().map_or(0, |s| s.info.base_offset);
        delete_segment_files(&self.fs, &self.dir, base, Some(CLEANED_STATE))?; // left by an abandoned pass
        let mut cleaned = Segment::create_in_state(&self.fs, &self.dir, base, config.index_interval_bytes, Some(CLEANED_STATE))?;
        let written = (|| {
            for segment in group {
                self.for_each_batch(segment, stop, |bytes, header| {
                    let (fate, counts) = filter_batch(bytes, header, ctx).map_err(|reason| self.corrupt(segment, header, reason))?;
                    stats.bytes_read += bytes.len() as u64;
                    stats.records_read += counts.read;
                    stats.records_retained += counts.retained;
                    match fate {
                        Filtered::Keep => {
                            cleaned.append(bytes, header)?;
                            stats.bytes_written += bytes.len() as u64;
                        }
                        Filtered::Rewrite(rebuilt) => {
                            let new_header = BatchHeader::parse(&rebuilt).map_err(|e| self.corrupt(segment, header, e.to_string()))?;
                            cleaned.append(&rebuilt, &new_header)?;
                            stats.bytes_written += rebuilt.len() as u64;
                        }
                        Filtered::Drop => {}
                    }
                    Ok(true)
                })?;
                for txn in &segment.aborted {
                    cleaned.append_aborted_txn(*txn)?;
                }
            }
            cleaned.flush()
        })();
        match written {
            Ok(()) => Ok(cleaned),
            Err(error) => {
                cleaned.delete()?;
                Err(error)
            }
        }
    }

    /// Replaces `group` by `cleaned` if the group is still what was planned.
    /// Returns false (and deletes `cleaned`) when it is not.
    fn swap_in(&self, mut cleaned: Segment, group: &[&SegmentView]) -> Result<bool> {
        let mut inner = self.write();
        let unchanged = group.iter().all(|v| {
            inner.segments.get(&v.info.base_offset).is_some_and(|s| Arc::ptr_eq(&s.slice_file(), &v.file) && s.size() == v.info.size)
        });
        if !unchanged {
            drop(inner);
            cleaned.delete()?;
            return Ok(false);
        }
        if let Err(error) = cleaned.rename_state(Some(SWAP_STATE)) {
            drop(inner);
            cleaned.delete()?;
            return Err(error);
        }
        // Committed: from here an open finishes the swap, so memory follows
        // even if a rename below fails (the next open repairs the files).
        let finished = (|| {
            sync_dir(&self.fs, &self.dir)?;
            for v in group {
                rename_segment_files(&self.fs, &self.dir, v.info.base_offset, None, Some(DELETED_STATE))?;
            }
            cleaned.rename_state(None)?;
            sync_dir(&self.fs, &self.dir)
        })();
        for v in group {
            inner.segments.remove(&v.info.base_offset);
        }
        inner.segments.insert(cleaned.base_offset(), cleaned);
        drop(inner);
        finished?;
        for v in group {
            delete_segment_files(&self.fs, &self.dir, v.info.base_offset, Some(DELETED_STATE))?;
        }
        Ok(true)
    }

    /// Calls `f` with every whole batch of an inactive segment, CRC-checked,
    /// until it returns false.
    fn for_each_batch(
        &self,
        segment: &SegmentView,
        stop: &AtomicBool,
        mut f: impl FnMut(&[u8], &BatchHeader) -> Result<bool>,
    ) -> Result<()> {
        let mut position = 0u64;
        let mut buf = Vec::new();
        while position < segment.info.size {
            if stop.load(Ordering::Relaxed) {
                return Err(StorageError::CleaningStopped);
            }
            let mut head = [0u8; HEADER_BYTES];
            let read = |buf: &mut [u8], at: u64| segment.file.read_exact_at(buf, at).map_err(StorageError::io("read", self.dir.clone()));
            read(&mut head, position)?;
            let header = BatchHeader::parse(&head).map_err(|e| self.corrupt_at(segment, position, e.to_string()))?;
            if position + header.size() as u64 > segment.info.size {
                return Err(self.corrupt_at(segment, position, "batch runs past the segment's end".to_string()));
            }
            buf.resize(header.size(), 0);
            read(&mut buf, position)?;
            if !batch::crc_is_valid(&buf) {
                return Err(self.corrupt_at(segment, position, "CRC mismatch".to_string()));
            }
            if !f(&buf, &header)? {
                break;
            }
            position += header.size() as u64;
        }
        Ok(())
    }

    /// Calls `f` with the header of every batch of an inactive segment until
    /// it returns false, reading nothing else.
    fn for_each_header(&self, segment: &SegmentView, mut f: impl FnMut(&BatchHeader) -> bool) -> Result<()> {
        let mut position = 0u64;
        let mut head = [0u8; HEADER_BYTES];
        while position < segment.info.size {
            segment.file.read_exact_at(&mut head, position).map_err(StorageError::io("read", self.dir.clone()))?;
            let header = BatchHeader::parse(&head).map_err(|e| self.corrupt_at(segment, position, e.to_string()))?;
            if !f(&header) {
                break;
            }
            position += header.size() as u64;
        }
        Ok(())
    }

    fn corrupt(&self, segment: &SegmentView, header: &BatchHeader, reason: String) -> StorageError {
        StorageError::Corrupt {
            path: self.dir.clone(),
            reason: format!("compacting segment {}: batch at offset {}: {reason}", segment.info.base_offset, header.base_offset),
        }
    }

    fn corrupt_at(&self, segment: &SegmentView, position: u64, reason: String) -> StorageError {
        StorageError::Corrupt {
            path: self.dir.clone(),
            reason: format!("compacting segment {}: batch at byte {position}: {reason}", segment.info.base_offset),
        }
    }

    fn set_cleaner_checkpoint(&self, offset: i64) -> Result<()> {
        write_offset_file(&self.fs, &self.dir.join(CLEANER_CHECKPOINT_FILE), offset)?;
        self.cleaner_checkpoint.store(offset, Ordering::Release);
        Ok(())
    }
}

fn info(segment: &Segment) -> SegmentInfo {
    SegmentInfo {
        base_offset: segment.base_offset(),
        next_offset: segment.next_offset(),
        size: segment.size(),
        max_timestamp: segment.max_timestamp().map(|(t, _)| t),
        first_batch_timestamp: segment.first_batch_timestamp(),
    }
}

/// Renames a segment's files from one compaction state to another.
fn rename_segment_files(fs: &Fs, dir: &Path, base: i64, from: Option<&str>, to: Option<&str>) -> Result<()> {
    use crate::layout::{segment_file, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX};
    for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX] {
        let (source, dest) = (segment_file(dir, base, suffix, from), segment_file(dir, base, suffix, to));
        match fs.rename(&source, &dest) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && suffix != LOG_SUFFIX => {}
            Err(e) => return Err(StorageError::io("rename", &source)(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "compact_tests.rs"]
mod tests;
