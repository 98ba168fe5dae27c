//! Sparse indexes of a segment, after Kafka's `OffsetIndex` and `TimeIndex`.
//!
//! - offset index entry: relative offset (u32 BE) | file position (u32 BE), 8 bytes;
//! - time index entry: max timestamp so far (i64 BE) | relative offset (u32 BE), 12 bytes.
//!
//! An entry is added at most every `index.interval.bytes` of log. Entries are
//! kept in memory for lookups; an append only adds one there. The files are
//! written when the segment stops being active (a roll), at a clean shutdown
//! and after a rebuild ([`OffsetIndex::persist`]): an unclean start recovers
//! the active segment from its log anyway, rebuilding its indexes, as it
//! does for any file that is missing, torn or inconsistent. (Kafka writes
//! into a memory-mapped file instead; either way an append costs no
//! syscall for its index entries.)
//!
//! No descriptor stays open for an index: a write, truncation or fsync opens
//! the file and closes it again. With 10,000 partitions written at once,
//! that is 10,000 descriptors (their active log files) instead of 30,000.

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

/// An index entry as its file holds it (big-endian fields, fixed size).
trait Entry {
    const BYTES: usize;
    fn encode(&self, out: &mut Vec<u8>);
}

impl Entry for (u32, u32) {
    const BYTES: usize = OFFSET_ENTRY_BYTES;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes());
        out.extend_from_slice(&self.1.to_be_bytes());
    }
}

impl Entry for (i64, u32) {
    const BYTES: usize = TIME_ENTRY_BYTES;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes());
        out.extend_from_slice(&self.1.to_be_bytes());
    }
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
        Ok(Some(Self { file: IndexFile::existing(fs, path, entries.len()), entries }))
    }

    /// Creates an empty index file, replacing any existing one.
    pub fn create(fs: &Fs, path: &Path) -> Result<Self> {
        Ok(Self { file: IndexFile::create(fs, path)?, entries: Vec::new() })
    }

    /// Adds an entry in memory (see [`Self::persist`]).
    pub fn append(&mut self, relative_offset: u32, position: u32) {
        if self.entries.last().is_some_and(|&(o, p)| relative_offset <= o || position <= p) {
            return; // never out of order; a skipped entry only makes lookups scan a little more
        }
        self.entries.push((relative_offset, position));
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
        self.file.truncate_to(&self.entries)
    }

    /// Writes the entries added since the last persist to the file.
    pub fn persist(&mut self) -> Result<()> {
        self.file.persist(&self.entries)
    }

    /// fsyncs what was written since the last sync.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync()
    }

    /// See [`IndexFile::handle_to_sync`].
    pub fn handle_to_sync(&self) -> Result<Option<(Handle, PathBuf)>> {
        self.file.handle_to_sync()
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
        Ok(Some(Self { file: IndexFile::existing(fs, path, entries.len()), entries }))
    }

    pub fn create(fs: &Fs, path: &Path) -> Result<Self> {
        Ok(Self { file: IndexFile::create(fs, path)?, entries: Vec::new() })
    }

    /// The file was renamed (compaction swap); later opens and errors use the new path.
    pub(crate) fn set_path(&mut self, path: PathBuf) {
        self.file.path = path;
    }

    /// Records that the log reached `timestamp` at the batch holding `relative_offset`,
    /// in memory (see [`Self::persist`]). Only increasing timestamps are kept,
    /// so lookups can binary-search.
    pub fn append(&mut self, timestamp: i64, relative_offset: u32) {
        if self.entries.last().is_some_and(|&(t, o)| timestamp <= t || relative_offset <= o) {
            return;
        }
        self.entries.push((timestamp, relative_offset));
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
        self.file.truncate_to(&self.entries)
    }

    /// Writes the entries added since the last persist to the file.
    pub fn persist(&mut self) -> Result<()> {
        self.file.persist(&self.entries)
    }

    /// fsyncs what was written since the last sync.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync()
    }

    /// See [`IndexFile::handle_to_sync`].
    pub fn handle_to_sync(&self) -> Result<Option<(Handle, PathBuf)>> {
        self.file.handle_to_sync()
    }

    /// Entries in memory not yet in the file.
    #[cfg(test)]
    fn unpersisted(&self) -> usize {
        self.entries.len().saturating_sub(self.file.written)
    }
}

/// The file of an index: how many of the entries in memory it holds, and
/// whether it needs an fsync. Opened for each write, truncation or fsync.
struct IndexFile {
    fs: Fs,
    path: PathBuf,
    /// Entries the file holds (the first `written` of those in memory).
    written: usize,
    /// Created, written or truncated since the last fsync.
    unsynced: bool,
    /// A write failed since the file was last truncated: it may have left
    /// bytes past the `written` entries.
    torn: bool,
}

impl IndexFile {
    /// An existing file holding `written` entries.
    fn existing(fs: &Fs, path: &Path, written: usize) -> Self {
        Self { fs: fs.clone(), path: path.to_path_buf(), written, unsynced: false, torn: false }
    }

    /// Creates the file empty (replacing any), and closes it again.
    fn create(fs: &Fs, path: &Path) -> Result<Self> {
        drop(fs.open(path, OpenMode::Truncate).map_err(StorageError::io("create", path))?);
        Ok(Self { unsynced: true, ..Self::existing(fs, path, 0) })
    }

    fn open(&self) -> Result<Handle> {
        self.fs.open(&self.path, OpenMode::Create).map_err(StorageError::io("open", &self.path))
    }

    /// Writes the entries of `entries` past the first `written` in one write.
    fn persist<E: Entry>(&mut self, entries: &[E]) -> Result<()> {
        let new = entries.get(self.written..).unwrap_or_default();
        if new.is_empty() && !self.torn {
            return Ok(());
        }
        let file = self.open()?;
        self.unsynced = true;
        let at = (self.written * E::BYTES) as u64;
        if self.torn {
            file.set_len(at).map_err(StorageError::io("truncate", &self.path))?;
            self.torn = false;
        }
        let mut bytes = Vec::with_capacity(new.len() * E::BYTES);
        new.iter().for_each(|entry| entry.encode(&mut bytes));
        // A torn write is cut before the next one, or makes the file's length refuse it at the next load.
        let written = file.write_all_at(&bytes, at);
        self.torn = written.is_err();
        written.map_err(StorageError::io("write", &self.path))?;
        self.written = entries.len();
        Ok(())
    }

    /// The file keeps at most the entries of `entries` (memory was cut to those).
    fn truncate_to<E: Entry>(&mut self, entries: &[E]) -> Result<()> {
        if entries.len() >= self.written && !self.torn {
            return Ok(()); // nothing in the file to cut, and no descriptor needed to see that
        }
        let keep = entries.len().min(self.written);
        self.unsynced = true;
        self.open()?.set_len((keep * E::BYTES) as u64).map_err(StorageError::io("truncate", &self.path))?;
        self.written = keep;
        self.torn = false;
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        if self.unsynced {
            self.open()?.sync_data().map_err(StorageError::io("fsync", &self.path))?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// A descriptor to fsync the file with outside the log's locks, with its
    /// path; `None` when nothing was written since the last sync. For a
    /// rolled segment, whose index is no longer written: the flag stays,
    /// which costs at most an fsync of a clean file should the segment ever
    /// be flushed again.
    fn handle_to_sync(&self) -> Result<Option<(Handle, PathBuf)>> {
        if !self.unsynced {
            return Ok(None);
        }
        Ok(Some((self.open()?, self.path.clone())))
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
        index.append(10, 4000);
        index.append(20, 8000);
        index.append(15, 9000); // out of order: ignored
        assert_eq!((index.lookup(0), index.lookup(9), index.lookup(10), index.lookup(19), index.lookup(99)), (0, 0, 4000, 4000, 8000));
        index.persist().unwrap();
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
    fn appends_stay_in_memory_until_persisted_and_each_persist_writes_only_the_new_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let mut index = OffsetIndex::create(&fs::os(), &path).unwrap();
        index.append(1, 10);
        index.append(2, 20);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "nothing written on append");
        index.persist().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 16);
        index.append(3, 30);
        index.persist().unwrap();
        index.persist().unwrap(); // nothing new: no write
        assert_eq!(OffsetIndex::load(&fs::os(), &path, 100).unwrap().unwrap().entries, vec![(1, 10), (2, 20), (3, 30)]);
        // Truncation cuts the file only where it holds entries that are gone.
        index.append(4, 40);
        index.truncate_to_position(35).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 24, "the unpersisted entry was only in memory");
        index.truncate_to_position(15).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 8);
        index.append(5, 50);
        index.persist().unwrap();
        assert_eq!(OffsetIndex::load(&fs::os(), &path, 100).unwrap().unwrap().entries, vec![(1, 10), (5, 50)]);
        index.sync().unwrap();
        assert!(!index.file.unsynced);
        assert!(index.handle_to_sync().unwrap().is_none());
    }

    #[test]
    fn a_failed_persist_is_cut_and_written_again_by_the_next() {
        use crate::fs::faulty::{Fault, FaultyFs, Op};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.timeindex");
        let faulty = FaultyFs::new(fs::os());
        let mut index = TimeIndex::create(&faulty.fs(), &path).unwrap();
        index.append(100, 0);
        index.persist().unwrap();
        index.append(200, 10);
        index.append(300, 20);
        faulty.inject(Fault::new(Op::Write).once().partial(5).enospc());
        assert!(index.persist().is_err());
        assert_eq!(index.unpersisted(), 2);
        assert!(TimeIndex::load(&fs::os(), &path).unwrap().is_none(), "torn: a load refuses it");
        index.persist().unwrap();
        assert_eq!(index.unpersisted(), 0);
        assert_eq!(TimeIndex::load(&fs::os(), &path).unwrap().unwrap().entries, vec![(100, 0), (200, 10), (300, 20)]);
    }

    #[test]
    fn time_index_finds_where_to_start_scanning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.timeindex");
        let mut index = TimeIndex::create(&fs::os(), &path).unwrap();
        index.append(100, 0);
        index.append(200, 10);
        index.append(150, 20); // not increasing: ignored
        index.append(300, 30);
        assert_eq!((index.lookup(50), index.lookup(100), index.lookup(150), index.lookup(250), index.lookup(999)), (0, 0, 0, 10, 30));
        assert_eq!(index.max_timestamp(), Some(300));
        index.persist().unwrap();
        index.truncate_to_offset(30).unwrap();
        assert_eq!(TimeIndex::load(&fs::os(), &path).unwrap().unwrap().entries, vec![(100, 0), (200, 10)]);
    }
}
