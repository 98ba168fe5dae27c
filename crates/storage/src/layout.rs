//! Where partition data lives under the data directory, one place building and
//! parsing every name:
//!
//! ```text
//! <data>/<topic>-<partition>/
//!     00000000000000000000.log        record batches, as produced, offsets assigned
//!     00000000000000000000.index      sparse offset index of that segment
//!     00000000000000000000.timeindex  sparse time index of that segment
//!     00000000000000000000.txnindex   aborted transactions whose markers are in that segment
//!     00000000000000001234.snapshot   producer state as of offset 1234
//!     cleaner-offset-checkpoint       where the next compaction's dirty section starts
//!     recovery-point                  base offset of the active segment at its creation
//!     log-start-offset                the log start offset, when it moved inside a segment
//! ```
//!
//! Opening a log lists its directory once ([`PartitionFiles`]) and opens or
//! reads only the files the listing shows: with 10,000 partitions, every
//! system call per partition costs startup time.
//!
//! Compaction rewrites segments through three file states (Kafka's
//! `.cleaned`, `.swap`, `.deleted` suffixes, appended to the usual name):
//! `<base>.log.cleaned` while being written, `<base>.log.swap` once complete
//! and fsynced (the commit point: an open finishes the swap), and
//! `<old base>.log.deleted` for replaced files not yet removed.
//!
//! Offsets are zero-padded to 20 digits so `ls` sorts files in log order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The directory of one partition's log.
pub fn partition_dir(data_dir: &Path, topic: &str, partition: i32) -> PathBuf {
    data_dir.join(format!("{topic}-{partition}"))
}

/// Parses a partition directory name back into (topic, partition).
/// Topic names may contain '-', so the partition is after the last one.
pub fn parse_partition_dir(name: &str) -> Option<(&str, i32)> {
    let (topic, partition) = name.rsplit_once('-')?;
    if topic.is_empty() {
        return None;
    }
    let partition: i32 = partition.parse().ok()?;
    (partition >= 0).then_some((topic, partition))
}

/// Extension of segment log files.
pub const LOG_SUFFIX: &str = "log";
/// Extension of offset index files.
pub const INDEX_SUFFIX: &str = "index";
/// Extension of time index files.
pub const TIME_INDEX_SUFFIX: &str = "timeindex";
/// Extension of aborted transaction indexes (Kafka's `.txnindex`).
pub const TXN_INDEX_SUFFIX: &str = "txnindex";
/// Extension of producer state snapshots.
pub const SNAPSHOT_SUFFIX: &str = "snapshot";

/// A compacted segment being written; discarded if found at open.
pub const CLEANED_STATE: &str = "cleaned";
/// A compacted segment that is complete; an open finishes swapping it in.
pub const SWAP_STATE: &str = "swap";
/// A replaced segment file awaiting removal.
pub const DELETED_STATE: &str = "deleted";
/// Per-partition file holding the cleaner checkpoint (Kafka keeps one
/// cleaner-offset-checkpoint per data directory).
pub const CLEANER_CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";

/// File holding the log start offset when DeleteRecords or retention moved it
/// inside a segment (Kafka: log-start-offset-checkpoint).
pub const LOG_START_FILE: &str = "log-start-offset";
/// File holding the base offset of the active segment at its creation: every
/// segment before it was fsynced when it was rolled (Kafka: recovery point).
pub const RECOVERY_POINT_FILE: &str = "recovery-point";

/// Which files of one segment a directory listing holds besides its log file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentFiles {
    pub index: bool,
    pub time_index: bool,
    pub txn_index: bool,
}

impl SegmentFiles {
    /// Every file, as a segment just created has them (for callers without a listing).
    pub const ALL: Self = Self { index: true, time_index: true, txn_index: true };
}

/// One listing of a partition directory, parsed: what opening the log needs
/// to know without asking the file system again.
#[derive(Debug, Clone, Default)]
pub struct PartitionFiles {
    /// Live segments (those with a `.log` file) by base offset.
    pub segments: BTreeMap<i64, SegmentFiles>,
    /// Offsets of the producer state snapshots, ascending.
    pub snapshots: Vec<i64>,
    /// Every name listed (compaction leftovers, offset files).
    pub names: Vec<String>,
}

impl PartitionFiles {
    /// Parses the names of a directory listing.
    pub fn parse(names: Vec<String>) -> Self {
        let mut segments: BTreeMap<i64, SegmentFiles> = BTreeMap::new();
        let mut indexes: Vec<(i64, &str)> = Vec::new();
        let mut snapshots = Vec::new();
        for name in &names {
            if let Some(base) = parse_offset_file(name, LOG_SUFFIX) {
                segments.entry(base).or_default();
            } else if let Some(offset) = parse_offset_file(name, SNAPSHOT_SUFFIX) {
                snapshots.push(offset);
            } else if let Some((_, suffix)) = name.split_once('.') {
                if let Some(base) = parse_offset_file(name, suffix) {
                    indexes.push((base, suffix));
                }
            }
        }
        for (base, suffix) in indexes {
            // Index files of a base with no log file belong to no segment.
            let Some(files) = segments.get_mut(&base) else { continue };
            match suffix {
                INDEX_SUFFIX => files.index = true,
                TIME_INDEX_SUFFIX => files.time_index = true,
                TXN_INDEX_SUFFIX => files.txn_index = true,
                _ => {}
            }
        }
        snapshots.sort_unstable();
        Self { segments, snapshots, names }
    }

    /// Whether the listing holds a file called `name`.
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
}

/// `<dir>/<offset:020>.<suffix>`, or `<dir>/<offset:020>.<suffix>.<state>`
/// for a segment file in one of compaction's states.
pub fn segment_file(dir: &Path, offset: i64, suffix: &str, state: Option<&str>) -> PathBuf {
    match state {
        None => offset_file(dir, offset, suffix),
        Some(state) => dir.join(format!("{offset:020}.{suffix}.{state}")),
    }
}

/// Parses `<offset:020>.<suffix>.<state>` into (offset, suffix), for the given state.
pub fn parse_segment_file_in_state<'a>(name: &'a str, state: &str) -> Option<(i64, &'a str)> {
    let rest = name.strip_suffix(state)?.strip_suffix('.')?;
    let (stem, suffix) = rest.split_once('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem.parse().ok()?, suffix))
}

/// `<dir>/<offset:020>.<suffix>`.
pub fn offset_file(dir: &Path, offset: i64, suffix: &str) -> PathBuf {
    dir.join(format!("{offset:020}.{suffix}"))
}

/// Parses `<offset:020>.<suffix>` back into the offset, for the given suffix.
pub fn parse_offset_file(name: &str, suffix: &str) -> Option<i64> {
    let stem = name.strip_suffix(suffix)?.strip_suffix('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let dir = partition_dir(Path::new("/data"), "my-topic", 7);
        assert_eq!(dir, PathBuf::from("/data/my-topic-7"));
        let name = dir.file_name().and_then(|n| n.to_str());
        assert_eq!(name.and_then(parse_partition_dir), Some(("my-topic", 7)));
        assert_eq!(parse_partition_dir("nodash"), None);
        assert_eq!(parse_partition_dir("-3"), None);
        assert_eq!(parse_partition_dir("t--1"), Some(("t-", 1)));
        assert_eq!(parse_partition_dir("t-x"), None);
    }

    #[test]
    fn offset_files_round_trip() {
        let path = offset_file(Path::new("/d"), 1234, LOG_SUFFIX);
        assert_eq!(path, PathBuf::from("/d/00000000000000001234.log"));
        let name = path.file_name().and_then(|n| n.to_str()).unwrap();
        assert_eq!(parse_offset_file(name, LOG_SUFFIX), Some(1234));
        assert_eq!(parse_offset_file(name, INDEX_SUFFIX), None);
        assert_eq!(parse_offset_file("1234.log", LOG_SUFFIX), None);
        assert_eq!(parse_offset_file("0000000000000000123x.log", LOG_SUFFIX), None);
    }

    #[test]
    fn a_listing_tells_segments_their_files_and_snapshots() {
        let names = [
            "00000000000000000000.log",
            "00000000000000000000.index",
            "00000000000000000000.timeindex",
            "00000000000000000100.log",
            "00000000000000000100.txnindex",
            "00000000000000000200.index",
            "00000000000000000100.snapshot",
            "00000000000000000050.snapshot",
            "00000000000000000100.log.swap",
            "recovery-point",
            "partition.metadata",
        ];
        let files = PartitionFiles::parse(names.iter().map(|n| n.to_string()).collect());
        let expected = BTreeMap::from([
            (0, SegmentFiles { index: true, time_index: true, txn_index: false }),
            (100, SegmentFiles { index: false, time_index: false, txn_index: true }),
        ]);
        assert_eq!(files.segments, expected, "no segment at 200: it has no log file");
        assert_eq!(files.snapshots, vec![50, 100]);
        assert!(files.has(RECOVERY_POINT_FILE) && !files.has(LOG_START_FILE) && !files.has(CLEANER_CHECKPOINT_FILE));
    }

    #[test]
    fn compaction_states_round_trip() {
        let path = segment_file(Path::new("/d"), 7, INDEX_SUFFIX, Some(SWAP_STATE));
        assert_eq!(path, PathBuf::from("/d/00000000000000000007.index.swap"));
        assert_eq!(segment_file(Path::new("/d"), 7, LOG_SUFFIX, None), offset_file(Path::new("/d"), 7, LOG_SUFFIX));
        let name = path.file_name().and_then(|n| n.to_str()).unwrap();
        assert_eq!(parse_segment_file_in_state(name, SWAP_STATE), Some((7, INDEX_SUFFIX)));
        assert_eq!(parse_segment_file_in_state(name, CLEANED_STATE), None);
        assert_eq!(parse_offset_file(name, INDEX_SUFFIX), None, "a swap file is not a segment file");
        assert_eq!(parse_segment_file_in_state("7.log.swap", SWAP_STATE), None);
    }
}
