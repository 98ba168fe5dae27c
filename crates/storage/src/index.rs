//! Sparse indexes of a segment, after Kafka's `OffsetIndex` and `TimeIndex`.
//!
//! - offset index entry: relative offset (u32 BE) | file position (u32 BE), 8 bytes;
//! - time index entry: max timestamp so far (i64 BE) | relative offset (u32 BE), 12 bytes.
//!
//! An entry is added at most every `index.interval.bytes` of log. Entries are
//! kept in memory for lookups and appended to their file; the files are not
//! fsynced on every append because they can always be rebuilt from the log
//! (recovery does so when a file is missing, torn or inconsistent).
//!
//! A file is open only while it is written ([`IndexFile`]): lookups use the
//! entries in memory, so a segment that is only read holds no descriptor for
//! its indexes. With 10,000 partitions that is 10,000 descriptors instead of
//! 30,000 (a common `ulimit -n` is 20,000 or less).

use std::path::{Path, PathBuf};

use crate::error::{Result, StorageError};
use crate::fs::{self, Fs, Handle, OpenMode};

/// Bytes of one offset index entry.
pub const OFFSET_ENTRY_BYTES: usize = 8;
/// Bytes of one time index entry.
pub const TIME_ENTRY_BYTES: usize = 12;

/// Offset index: relative offset -> byte position of the batch holding it.
pub struct OffsetIndex {
    file: IndexFile,
    entries: Vec<(u32, u32)>,
}

/// Time index: timestamp -> relative offset of the first batch whose max timestamp reaches it.
pub struct TimeIndex {
    file: IndexFile,
    entries: Vec<(i64, u32)>,
}

impl OffsetIndex {
    /// Loads an index file's entries. `None` when the file is missing or not
    /// a consistent index (then the caller rebuilds it).
    pub fn load(fs: &Fs, path: &Path, log_size: u64) -> Result<Option<Self>> {
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
        Ok(Some(Self { file: IndexFile::existing(fs, path), entries }))
    }

    /// Creates an empty index file, replacing any existing one.
    pub fn create(fs: &Fs, path: &Path) -> Result<Self> {
        Ok(Self { file: IndexFile::create(fs, path)?, entries: Vec::new() })
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
        self.file.write_at(&entry, at)?;
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
        if keep == self.entries.len() && self.file.holds_just_the_entries() {
            return Ok(()); // nothing to cut, and no descriptor needed to see that
        }
        self.entries.truncate(keep);
        self.file.set_len((keep * OFFSET_ENTRY_BYTES) as u64)
    }

    /// fsyncs what was written since the last sync.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync()
    }

    /// See [`IndexFile::handle_to_sync`].
    pub fn handle_to_sync(&self) -> Result<Option<(Handle, PathBuf)>> {
        self.file.handle_to_sync()
    }

    /// Closes the file until the next write or sync.
    pub fn release(&mut self) {
        self.file.release();
    }

    /// The file is open (holds a descriptor).
    pub fn is_open(&self) -> bool {
        self.file.file.is_some()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The file was renamed (compaction swap); later opens and errors use the new path.
    pub(crate) fn set_path(&mut self, path: PathBuf) {
        self.file.path = path;
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl TimeIndex {
    /// Loads an index file's entries; `None` when missing or inconsistent.
    pub fn load(fs: &Fs, path: &Path) -> Result<Option<Self>> {
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
        Ok(Some(Self { file: IndexFile::existing(fs, path), entries }))
    }

    pub fn create(fs: &Fs, path: &Path) -> Result<Self> {
        Ok(Self { file: IndexFile::create(fs, path)?, entries: Vec::new() })
    }

    /// The file was renamed (compaction swap); later opens and errors use the new path.
    pub(crate) fn set_path(&mut self, path: PathBuf) {
        self.file.path = path;
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
        self.file.write_at(&entry, at)?;
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
        if keep == self.entries.len() && self.file.holds_just_the_entries() {
            return Ok(()); // nothing to cut, and no descriptor needed to see that
        }
        self.entries.truncate(keep);
        self.file.set_len((keep * TIME_ENTRY_BYTES) as u64)
    }

    /// fsyncs what was written since the last sync.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync()
    }

    /// See [`IndexFile::handle_to_sync`].
    pub fn handle_to_sync(&self) -> Result<Option<(Handle, PathBuf)>> {
        self.file.handle_to_sync()
    }

    /// Closes the file until the next write or sync.
    pub fn release(&mut self) {
        self.file.release();
    }

    /// The file is open (holds a descriptor).
    pub fn is_open(&self) -> bool {
        self.file.file.is_some()
    }
}

/// The file of an index, open only from its first write (or fsync) until
/// [`Self::release`]: reads never need it.
struct IndexFile {
    fs: Fs,
    path: PathBuf,
    file: Option<Handle>,
    /// Created, written or truncated since the last fsync.
    unsynced: bool,
    /// A write failed since the file was last truncated: it may have left
    /// bytes past the entries.
    torn: bool,
}

impl IndexFile {
    /// An existing file, not opened yet.
    fn existing(fs: &Fs, path: &Path) -> Self {
        Self { fs: fs.clone(), path: path.to_path_buf(), file: None, unsynced: false, torn: false }
    }

    /// Creates the file empty (replacing any), and closes it again.
    fn create(fs: &Fs, path: &Path) -> Result<Self> {
        drop(fs.open(path, OpenMode::Truncate).map_err(StorageError::io("create", path))?);
        Ok(Self { unsynced: true, ..Self::existing(fs, path) })
    }

    /// The file is closed and holds the entries in memory, no more: it was
    /// created empty or loaded whole, and since then every write succeeded
    /// (a failed one may leave a torn entry behind).
    fn holds_just_the_entries(&self) -> bool {
        self.file.is_none() && !self.torn
    }

    fn handle(&mut self) -> Result<&Handle> {
        let file = match self.file.take() {
            Some(file) => file,
            None => self.fs.open(&self.path, OpenMode::Create).map_err(StorageError::io("open", &self.path))?,
        };
        Ok(self.file.insert(file))
    }

    fn write_at(&mut self, bytes: &[u8], at: u64) -> Result<()> {
        self.unsynced = true;
        let written = self.handle()?.write_all_at(bytes, at);
        self.torn |= written.is_err();
        written.map_err(StorageError::io("append to", &self.path))
    }

    fn set_len(&mut self, len: u64) -> Result<()> {
        self.unsynced = true;
        self.handle()?.set_len(len).map_err(StorageError::io("truncate", &self.path))?;
        self.torn = false;
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        if self.unsynced {
            self.handle()?.sync_data().map_err(StorageError::io("fsync", &self.path))?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// A descriptor to fsync the file with outside the log's locks (the open
    /// one, else a new one that closes after the fsync), with its path; `None`
    /// when nothing was written since the last sync. For a rolled segment,
    /// whose index is no longer written: the flag stays, which costs at most
    /// an fsync of a clean file should the segment ever be flushed again.
    fn handle_to_sync(&self) -> Result<Option<(Handle, PathBuf)>> {
        if !self.unsynced {
            return Ok(None);
        }
        let handle = match &self.file {
            Some(file) => file.clone(),
            None => self.fs.open(&self.path, OpenMode::Create).map_err(StorageError::io("open", &self.path))?,
        };
        Ok(Some((handle, self.path.clone())))
    }

    /// Closes the file. Writes not yet fsynced still are by the next
    /// [`Self::sync`], through a new descriptor (an fsync covers the file's
    /// dirty pages, whichever descriptor wrote them).
    fn release(&mut self) {
        self.file = None;
    }
}

fn read_if_exists(fs: &Fs, path: &Path) -> Result<Option<Vec<u8>>> {
    fs::read_if_exists(&**fs, path).map_err(StorageError::io("read", path))
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
        let mut index = OffsetIndex::create(&fs::os(), &path).unwrap();
        assert_eq!(index.lookup(5), 0);
        index.append(10, 4000).unwrap();
        index.append(20, 8000).unwrap();
        index.append(15, 9000).unwrap(); // out of order: ignored
        assert_eq!((index.lookup(0), index.lookup(9), index.lookup(10), index.lookup(19), index.lookup(99)), (0, 0, 4000, 4000, 8000));
        let loaded = OffsetIndex::load(&fs::os(), &path, 9000).unwrap().unwrap();
        assert_eq!(loaded.entries, index.entries);
        assert!(OffsetIndex::load(&fs::os(), &path, 8000).unwrap().is_none(), "entry beyond the log");
        index.truncate_to_position(8000).unwrap();
        assert_eq!(OffsetIndex::load(&fs::os(), &path, 9000).unwrap().unwrap().entries, vec![(10, 4000)]);
    }

    #[test]
    fn damaged_index_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        assert!(OffsetIndex::load(&fs::os(), &path, 100).unwrap().is_none(), "missing");
        std::fs::write(&path, [0u8; 7]).unwrap();
        assert!(OffsetIndex::load(&fs::os(), &path, 100).unwrap().is_none(), "torn");
        std::fs::write(&path, [0, 0, 0, 5, 0, 0, 0, 9, 0, 0, 0, 4, 0, 0, 0, 10]).unwrap();
        assert!(OffsetIndex::load(&fs::os(), &path, 100).unwrap().is_none(), "unordered");
        let tpath = dir.path().join("0.timeindex");
        std::fs::write(&tpath, [1u8; 13]).unwrap();
        assert!(TimeIndex::load(&fs::os(), &tpath).unwrap().is_none());
    }

    #[test]
    fn index_files_are_open_only_while_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let mut index = OffsetIndex::create(&fs::os(), &path).unwrap();
        assert!(path.exists() && index.file.file.is_none(), "created, then closed");
        index.append(1, 10).unwrap();
        assert!(index.file.file.is_some());
        index.release();
        assert!(index.file.file.is_none());
        index.sync().unwrap(); // reopens to fsync the entry written before
        assert!(index.file.file.is_some() && !index.file.unsynced);
        index.release();
        index.sync().unwrap();
        assert!(index.file.file.is_none(), "nothing to fsync: not reopened");
        index.append(2, 20).unwrap(); // reopened where it left off
        let loaded = OffsetIndex::load(&fs::os(), &path, 100).unwrap().unwrap();
        assert_eq!(loaded.entries, vec![(1, 10), (2, 20)]);
        assert!(loaded.file.file.is_none(), "loading keeps no descriptor");
    }

    #[test]
    fn time_index_finds_where_to_start_scanning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.timeindex");
        let mut index = TimeIndex::create(&fs::os(), &path).unwrap();
        index.append(100, 0).unwrap();
        index.append(200, 10).unwrap();
        index.append(150, 20).unwrap(); // not increasing: ignored
        index.append(300, 30).unwrap();
        assert_eq!((index.lookup(50), index.lookup(100), index.lookup(150), index.lookup(250), index.lookup(999)), (0, 0, 0, 10, 30));
        assert_eq!(index.max_timestamp(), Some(300));
        index.truncate_to_offset(30).unwrap();
        assert_eq!(TimeIndex::load(&fs::os(), &path).unwrap().unwrap().entries, vec![(100, 0), (200, 10)]);
    }
}
