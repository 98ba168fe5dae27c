//! Sparse indexes of a segment, after Kafka's `OffsetIndex` and `TimeIndex`.
//!
//! - offset index entry: relative offset (u32 BE) | file position (u32 BE), 8 bytes;
//! - time index entry: max timestamp so far (i64 BE) | relative offset (u32 BE), 12 bytes.
//!
//! An entry is added at most every `index.interval.bytes` of log. Entries are
//! kept in memory for lookups and appended to their file; the files are not
//! fsynced on every append because they can always be rebuilt from the log
//! (recovery does so when a file is missing, torn or inconsistent).

use std::path::{Path, PathBuf};

use crate::error::{Result, StorageError};
use crate::fs::{self, FileSystem, Handle, OpenMode};

/// Bytes of one offset index entry.
pub const OFFSET_ENTRY_BYTES: usize = 8;
/// Bytes of one time index entry.
pub const TIME_ENTRY_BYTES: usize = 12;

/// Offset index: relative offset -> byte position of the batch holding it.
pub struct OffsetIndex {
    path: PathBuf,
    file: Handle,
    entries: Vec<(u32, u32)>,
}

/// Time index: timestamp -> relative offset of the first batch whose max timestamp reaches it.
pub struct TimeIndex {
    path: PathBuf,
    file: Handle,
    entries: Vec<(i64, u32)>,
}

impl OffsetIndex {
    /// Opens an index file, loading its entries. `None` when the file is
    /// missing or not a consistent index (then the caller rebuilds it).
    pub fn load(fs: &dyn FileSystem, path: &Path, log_size: u64) -> Result<Option<Self>> {
        let Some(bytes) = read_if_exists(fs, path)? else { return Ok(None) };
        if bytes.len() % OFFSET_ENTRY_BYTES != 0 {
            return Ok(None);
        }
        let entries: Vec<(u32, u32)> = bytes
            .chunks_exact(OFFSET_ENTRY_BYTES)
            .map(|e| (be_u32(&e[0..4]), be_u32(&e[4..8])))
            .collect();
        let ordered = entries.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1);
        let in_file = entries.last().is_none_or(|&(_, pos)| u64::from(pos) < log_size);
        if !ordered || !in_file {
            return Ok(None);
        }
        Ok(Some(Self { file: open_existing(fs, path)?, path: path.to_path_buf(), entries }))
    }

    /// Creates an empty index file, replacing any existing one.
    pub fn create(fs: &dyn FileSystem, path: &Path) -> Result<Self> {
        Ok(Self { file: create_truncated(fs, path)?, path: path.to_path_buf(), entries: Vec::new() })
    }

    pub fn append(&mut self, relative_offset: u32, position: u32) -> Result<()> {
        if self.entries.last().is_some_and(|&(o, p)| relative_offset <= o || position <= p) {
            return Ok(()); // never out of order; a skipped entry only makes lookups scan a little more
        }
        let mut entry = [0u8; OFFSET_ENTRY_BYTES];
        entry[..4].copy_from_slice(&relative_offset.to_be_bytes());
        entry[4..].copy_from_slice(&position.to_be_bytes());
        // A torn entry a failed write leaves is overwritten by the next
        // append, or makes the file's length refuse it at the next load.
        let at = (self.entries.len() * OFFSET_ENTRY_BYTES) as u64;
        self.file.write_all_at(&entry, at).map_err(StorageError::io("append to", &self.path))?;
        self.entries.push((relative_offset, position));
        Ok(())
    }

    /// The position of the last indexed batch starting at or before `relative_offset`
    /// (0 when none is): scanning from there finds the batch holding the offset.
    pub fn lookup(&self, relative_offset: u32) -> u32 {
        let i = self.entries.partition_point(|&(o, _)| o <= relative_offset);
        if i == 0 { 0 } else { self.entries[i - 1].1 }
    }

    /// The last entry (relative offset, position) for which `keep` holds,
    /// when `keep` holds for every entry before it and none after (entries
    /// grow in both offset and position, so bounds on either are such).
    pub fn last_entry_where(&self, keep: impl Fn(u32, u32) -> bool) -> Option<(u32, u32)> {
        let i = self.entries.partition_point(|&(o, p)| keep(o, p));
        i.checked_sub(1).and_then(|i| self.entries.get(i).copied())
    }

    /// Drops entries at or after `position` (after the log was truncated there).
    pub fn truncate_to_position(&mut self, position: u32) -> Result<()> {
        let keep = self.entries.partition_point(|&(_, p)| p < position);
        self.entries.truncate(keep);
        self.file
            .set_len((keep * OFFSET_ENTRY_BYTES) as u64)
            .map_err(StorageError::io("truncate", &self.path))
    }

    pub fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(StorageError::io("fsync", &self.path))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The file was renamed (compaction swap); errors name the new path.
    pub(crate) fn set_path(&mut self, path: PathBuf) {
        self.path = path;
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl TimeIndex {
    /// Opens an index file, loading its entries; `None` when missing or inconsistent.
    pub fn load(fs: &dyn FileSystem, path: &Path) -> Result<Option<Self>> {
        let Some(bytes) = read_if_exists(fs, path)? else { return Ok(None) };
        if bytes.len() % TIME_ENTRY_BYTES != 0 {
            return Ok(None);
        }
        let entries: Vec<(i64, u32)> = bytes
            .chunks_exact(TIME_ENTRY_BYTES)
            .map(|e| (be_i64(&e[0..8]), be_u32(&e[8..12])))
            .collect();
        if !entries.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1) {
            return Ok(None);
        }
        Ok(Some(Self { file: open_existing(fs, path)?, path: path.to_path_buf(), entries }))
    }

    pub fn create(fs: &dyn FileSystem, path: &Path) -> Result<Self> {
        Ok(Self { file: create_truncated(fs, path)?, path: path.to_path_buf(), entries: Vec::new() })
    }

    /// The file was renamed (compaction swap); errors name the new path.
    pub(crate) fn set_path(&mut self, path: PathBuf) {
        self.path = path;
    }

    /// Records that the log reached `timestamp` at the batch holding `relative_offset`.
    /// Only increasing timestamps are kept, so lookups can binary-search.
    pub fn append(&mut self, timestamp: i64, relative_offset: u32) -> Result<()> {
        if self.entries.last().is_some_and(|&(t, o)| timestamp <= t || relative_offset <= o) {
            return Ok(());
        }
        let mut entry = [0u8; TIME_ENTRY_BYTES];
        entry[..8].copy_from_slice(&timestamp.to_be_bytes());
        entry[8..].copy_from_slice(&relative_offset.to_be_bytes());
        let at = (self.entries.len() * TIME_ENTRY_BYTES) as u64;
        self.file.write_all_at(&entry, at).map_err(StorageError::io("append to", &self.path))?;
        self.entries.push((timestamp, relative_offset));
        Ok(())
    }

    /// The relative offset to start scanning from for the first batch with a
    /// timestamp >= `timestamp`: the entry just before the first one reaching it.
    pub fn lookup(&self, timestamp: i64) -> u32 {
        let i = self.entries.partition_point(|&(t, _)| t < timestamp);
        if i == 0 { 0 } else { self.entries[i - 1].1 }
    }

    /// The largest timestamp indexed, if any.
    pub fn max_timestamp(&self) -> Option<i64> {
        self.entries.last().map(|&(t, _)| t)
    }

    /// Drops entries at or after `relative_offset`.
    pub fn truncate_to_offset(&mut self, relative_offset: u32) -> Result<()> {
        let keep = self.entries.partition_point(|&(_, o)| o < relative_offset);
        self.entries.truncate(keep);
        self.file
            .set_len((keep * TIME_ENTRY_BYTES) as u64)
            .map_err(StorageError::io("truncate", &self.path))
    }

    pub fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(StorageError::io("fsync", &self.path))
    }
}

fn read_if_exists(fs: &dyn FileSystem, path: &Path) -> Result<Option<Vec<u8>>> {
    fs::read_if_exists(fs, path).map_err(StorageError::io("read", path))
}

fn open_existing(fs: &dyn FileSystem, path: &Path) -> Result<Handle> {
    fs.open(path, OpenMode::Existing).map_err(StorageError::io("open", path))
}

fn create_truncated(fs: &dyn FileSystem, path: &Path) -> Result<Handle> {
    fs.open(path, OpenMode::Truncate).map_err(StorageError::io("create", path))
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be_i64(b: &[u8]) -> i64 {
    i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_lookups_find_the_floor_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let mut index = OffsetIndex::create(&*fs::os(), &path).unwrap();
        assert_eq!(index.lookup(5), 0);
        index.append(10, 4000).unwrap();
        index.append(20, 8000).unwrap();
        index.append(15, 9000).unwrap(); // out of order: ignored
        assert_eq!((index.lookup(0), index.lookup(9), index.lookup(10), index.lookup(19), index.lookup(99)), (0, 0, 4000, 4000, 8000));
        let loaded = OffsetIndex::load(&*fs::os(), &path, 9000).unwrap().unwrap();
        assert_eq!(loaded.entries, index.entries);
        assert!(OffsetIndex::load(&*fs::os(), &path, 8000).unwrap().is_none(), "entry beyond the log");
        index.truncate_to_position(8000).unwrap();
        assert_eq!(OffsetIndex::load(&*fs::os(), &path, 9000).unwrap().unwrap().entries, vec![(10, 4000)]);
    }

    #[test]
    fn damaged_index_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        assert!(OffsetIndex::load(&*fs::os(), &path, 100).unwrap().is_none(), "missing");
        std::fs::write(&path, [0u8; 7]).unwrap();
        assert!(OffsetIndex::load(&*fs::os(), &path, 100).unwrap().is_none(), "torn");
        std::fs::write(&path, [0, 0, 0, 5, 0, 0, 0, 9, 0, 0, 0, 4, 0, 0, 0, 10]).unwrap();
        assert!(OffsetIndex::load(&*fs::os(), &path, 100).unwrap().is_none(), "unordered");
        let tpath = dir.path().join("0.timeindex");
        std::fs::write(&tpath, [1u8; 13]).unwrap();
        assert!(TimeIndex::load(&*fs::os(), &tpath).unwrap().is_none());
    }

    #[test]
    fn time_index_finds_where_to_start_scanning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.timeindex");
        let mut index = TimeIndex::create(&*fs::os(), &path).unwrap();
        index.append(100, 0).unwrap();
        index.append(200, 10).unwrap();
        index.append(150, 20).unwrap(); // not increasing: ignored
        index.append(300, 30).unwrap();
        assert_eq!((index.lookup(50), index.lookup(100), index.lookup(150), index.lookup(250), index.lookup(999)), (0, 0, 0, 10, 30));
        assert_eq!(index.max_timestamp(), Some(300));
        index.truncate_to_offset(30).unwrap();
        assert_eq!(TimeIndex::load(&*fs::os(), &path).unwrap().unwrap().entries, vec![(100, 0), (200, 10)]);
    }
}
