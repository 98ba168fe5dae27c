//! Finishing or discarding a compaction interrupted by a crash, at open
//! (Kafka's `LogLoader` handling of `.cleaned`, `.swap` and `.deleted` files).
//!
//! A compaction writes `<base>.{log,index,timeindex}.cleaned`, fsyncs them,
//! renames the log file to `<base>.log.swap` (the commit point), renames the
//! replaced segments' files to `.deleted`, renames the swap files to their
//! live names and removes the `.deleted` files. So at open:
//! - `.cleaned` files are an unfinished rewrite: deleted, the old segments are intact;
//! - a `<base>.log.swap` is a finished rewrite: the live segments it replaces
//!   (those starting in `[base, its next offset)`) are deleted and it takes
//!   its live name; its indexes are rebuilt from it;
//! - `.deleted` files are deleted.
//!
//! A segment that took a swap's place is returned to the caller, which
//! recovers it like an unflushed one (Kafka's LogLoader does too): that
//! rebuilds its indexes, and its transaction index from the producer state
//! replayed over it.
//!
//! Live segments of the group that start past the swap's last batch (all
//! their records were compacted away) survive a crash at this point: they
//! hold only records a later one supersedes, so the log stays consistent, and
//! the next compaction removes them.

use std::path::Path;

use crate::batch::{BatchHeader, HEADER_BYTES};
use crate::error::{Result, StorageError};
use crate::fs::{self, Fs, OpenMode};
use crate::layout::{parse_segment_file_in_state, segment_file, CLEANED_STATE, DELETED_STATE, LOG_SUFFIX, SWAP_STATE};
use crate::segment::delete_segment_files;

/// What [`finish_interrupted_swaps`] did.
#[derive(Debug, Default)]
pub struct SwapsFinished {
    /// Base offsets of the segments a finished swap put in place.
    pub swapped: Vec<i64>,
    /// Files were removed or renamed: an earlier listing is out of date.
    pub changed: bool,
}

/// Brings the partition directory `dir`, whose entries are `names`, to a
/// state with no compaction files.
pub fn finish_interrupted_swaps(fs: &Fs, dir: &Path, names: &[String]) -> Result<SwapsFinished> {
    let mut changed = false;
    let mut swapped_logs = Vec::new();
    for name in names {
        let path = dir.join(name);
        let discard = parse_segment_file_in_state(name, CLEANED_STATE).is_some()
            || parse_segment_file_in_state(name, DELETED_STATE).is_some()
            || parse_segment_file_in_state(name, SWAP_STATE).is_some_and(|(_, suffix)| suffix != LOG_SUFFIX);
        if let Some((base, LOG_SUFFIX)) = parse_segment_file_in_state(name, SWAP_STATE) {
            swapped_logs.push(base);
        } else if discard {
            tracing::info!(file = %path.display(), "removing a file left by an interrupted compaction");
            fs::remove_if_exists(&**fs, &path).map_err(StorageError::io("delete", &path))?;
            changed = true;
        }
    }
    swapped_logs.sort_unstable();
    for &base in &swapped_logs {
        let swap = segment_file(dir, base, LOG_SUFFIX, Some(SWAP_STATE));
        let end = next_offset(fs, &swap, base)?.max(base + 1);
        for name in names {
            if let Some(old) = crate::layout::parse_offset_file(name, LOG_SUFFIX).filter(|&o| o >= base && o < end) {
                delete_segment_files(fs, dir, old, None)?;
            }
        }
        // Whatever index files the base has belong to a replaced segment: rebuilt at open.
        delete_segment_files(fs, dir, base, None)?;
        let live = segment_file(dir, base, LOG_SUFFIX, None);
        fs.rename(&swap, &live).map_err(StorageError::io("rename", &swap))?;
        tracing::info!(segment = %live.display(), replaced_until = end, "finished a compaction interrupted by a crash");
        changed = true;
    }
    if changed {
        fs.sync_dir(dir).map_err(StorageError::io("fsync", dir))?;
    }
    Ok(SwapsFinished { swapped: swapped_logs, changed })
}

/// The offset after the last whole batch of the log file at `path`.
fn next_offset(fs: &Fs, path: &Path, base: i64) -> Result<i64> {
    let file = fs.open(path, OpenMode::Existing).map_err(StorageError::io("open", path))?;
    let len = file.size().map_err(StorageError::io("stat", path))?;
    let (mut position, mut next) = (0u64, base);
    let mut head = [0u8; HEADER_BYTES];
    while position + HEADER_BYTES as u64 <= len {
        file.read_exact_at(&mut head, position).map_err(StorageError::io("read", path))?;
        let Ok(header) = BatchHeader::parse(&head) else { break };
        if position + header.size() as u64 > len {
            break;
        }
        next = header.next_offset();
        position += header.size() as u64;
    }
    Ok(next)
}
