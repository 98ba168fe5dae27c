//! Log compaction (`cleanup.policy=compact`), after Apache Kafka's
//! `LogCleaner`, `Cleaner`, `LogCleanerManager` and `SkimpyOffsetMap`.
//!
//! One pass over a partition log ([`crate::log::PartitionLog::clean`]):
//! 1. The dirty section runs from the cleaner checkpoint to the first
//!    uncleanable offset: the active segment's base, the first unstable offset
//!    (oldest open transaction), or the first segment with a record younger
//!    than `min.compaction.lag.ms`, whichever comes first ([`plan`]).
//! 2. A key -> latest offset map ([`offset_map`]) is built over the dirty
//!    section, up to its capacity; the pass ends where the map filled up, and
//!    the rest waits for the next pass.
//! 3. Every segment from the log start to the pass's end is rewritten,
//!    consecutive small segments grouped into one ([`plan::group_by_size`]),
//!    each batch filtered as Kafka's `MemoryRecords.filterTo` does
//!    ([`filter`]): a record stays if it is the latest of its key, or past the
//!    map's end; a tombstone stays until its batch's delete horizon
//!    (`delete.retention.ms` after the compaction that first kept it, KIP-534).
//! 4. Each group is written to `.cleaned` files without holding the log's
//!    locks, fsynced, and swapped in under the write lock (see [`recovery`]
//!    for the file protocol and what an open does after a crash).
//! 5. The checkpoint moves to the pass's end.
//!
//! Simplified against Kafka, on purpose:
//! - Transactions (being built elsewhere): transactional and control batches
//!   are never filtered, dropped or used to shadow older records, so aborted
//!   data stays and markers are never removed; nothing at or past the first
//!   unstable offset is cleaned. Kafka removes aborted records and, after the
//!   delete horizon, markers of emptied transactions.
//! - Only v2 batches exist, so only the delete-horizon rule for tombstones
//!   applies (Kafka's legacy rule by segment modification time is for v0/v1).
//! - The checkpoint is one file per partition (Kafka: one per data
//!   directory), the map a hash table of 128-bit keyed SipHash hashes (Kafka:
//!   MD5 in a fixed array), allocated per pass for at most the dirty
//!   section's record count (Kafka keeps the whole buffer), and one pass cleans one log at a time on the
//!   caller's thread (Kafka: `log.cleaner.threads` threads). No I/O throttle
//!   (`log.cleaner.io.max.bytes.per.second`), no `segment.index.bytes` limit
//!   on groups (indexes here are sparse and small), and a cleaned segment's
//!   modification time is not carried over (only the legacy rule used it).
//! - The map stops at the dirty section's end even inside a segment (Kafka
//!   reads the whole last segment).

pub mod codec;
pub mod filter;
pub mod offset_map;
pub mod plan;
pub mod recovery;

use std::time::Duration;

/// Broker-wide cleaner settings (Kafka's `log.cleaner.*`).
#[derive(Debug, Clone)]
pub struct CleanerConfig {
    /// `log.cleaner.dedupe.buffer.size`: memory for one pass's offset map.
    pub dedupe_buffer_bytes: usize,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        Self { dedupe_buffer_bytes: 128 * 1024 * 1024 }
    }
}

impl CleanerConfig {
    /// Keys one pass can map within the buffer (Kafka: its slots times
    /// `log.cleaner.io.buffer.load.factor`; here the hash table's load is
    /// counted in [`offset_map::BYTES_PER_ENTRY`]).
    pub fn max_map_entries(&self) -> usize {
        self.dedupe_buffer_bytes / offset_map::BYTES_PER_ENTRY
    }
}

/// What one pass over one log did, for its log line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanStats {
    /// The dirty section this pass started from, and the offset it cleaned up to.
    pub first_dirty_offset: i64,
    pub end_offset: i64,
    /// Where the dirty section ended: below it, the next pass goes on.
    pub first_uncleanable_offset: i64,
    pub segments_read: usize,
    pub segments_written: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub records_retained: u64,
    /// Keys in the offset map, and its share of the capacity.
    pub map_keys: usize,
    pub map_utilization: f64,
    pub elapsed: Duration,
}

#[cfg(test)]
pub(crate) mod tests;
