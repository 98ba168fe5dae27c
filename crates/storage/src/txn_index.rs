//! The aborted transaction index of a segment, after Kafka's `TransactionIndex` and
//! `AbortedTxn`, in Kafka's on-disk format.
//!
//! One 34-byte entry (big-endian) per transaction whose ABORT marker is in the
//! segment, in marker order:
//!
//! | field | size |
//! |---|---|
//! | version (0) | 2 |
//! | producer id | 8 |
//! | first offset of the transaction | 8 |
//! | last offset (the marker's) | 8 |
//! | last stable offset when it was aborted | 8 |
//!
//! A transaction may start in an earlier segment; its entry is in the segment of its
//! marker. The file is created with the first entry (most segments never have one).
//! It is not fsynced on every append: recovery rebuilds the index of every segment it
//! recovers from the batches, and a segment is fsynced with its index when it rolls.
//! Entries are read from the file on each query, as Kafka does, so memory does not
//! grow with the number of aborted transactions.

use std::path::{Path, PathBuf};

use crate::error::{Result, StorageError};
use crate::fs::{self, Fs, Handle, OpenMode};

/// Bytes of one entry.
pub const ENTRY_BYTES: usize = 34;
/// The only entry version (Kafka's `AbortedTxn.CURRENT_VERSION`).
pub const VERSION: i16 = 0;
/// Entries read per `pread` while searching: bounds the buffer of one query.
const ENTRIES_PER_READ: usize = 1024;

/// One aborted transaction (Kafka's `AbortedTxn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The offset of the ABORT marker.
    pub last_offset: i64,
    /// The last stable offset right after the abort: the first offset of the oldest
    /// transaction of another producer still open then, or `last_offset + 1`.
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    fn encode(&self) -> [u8; ENTRY_BYTES] {
        let mut out = [0u8; ENTRY_BYTES];
        out[0..2].copy_from_slice(&VERSION.to_be_bytes());
        out[2..10].copy_from_slice(&self.producer_id.to_be_bytes());
        out[10..18].copy_from_slice(&self.first_offset.to_be_bytes());
        out[18..26].copy_from_slice(&self.last_offset.to_be_bytes());
        out[26..34].copy_from_slice(&self.last_stable_offset.to_be_bytes());
        out
    }

    /// Decodes one entry; `None` for a version this code does not know.
    fn decode(bytes: &[u8]) -> Option<AbortedTxn> {
        let field = |at: usize| -> Option<i64> { Some(i64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?)) };
        let version = i16::from_be_bytes(bytes.get(0..2)?.try_into().ok()?);
        (version == VERSION).then_some(())?;
        Some(AbortedTxn { producer_id: field(2)?, first_offset: field(10)?, last_offset: field(18)?, last_stable_offset: field(26)? })
    }
}

/// What a search of one segment's index found (Kafka's `TxnIndexSearchResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnIndexSearch {
    pub aborted: Vec<AbortedTxn>,
    /// No later segment can hold a transaction overlapping the range.
    pub complete: bool,
}

pub struct TxnIndex {
    fs: Fs,
    path: PathBuf,
    /// `None` until the first entry is written. Shared so a flush can fsync
    /// it outside the log's locks.
    file: Option<Handle>,
    entries: u64,
    last_offset: Option<i64>,
    /// Entries were written since the last fsync.
    unsynced: bool,
}

impl TxnIndex {
    /// The file was renamed (compaction moves cleaned segments into place);
    /// an open handle keeps working, later opens use the new name.
    pub(crate) fn set_path(&mut self, path: PathBuf) {
        self.path = path;
    }

    /// An empty index; a file left at `path` (by an earlier segment) is removed.
    pub fn create(fs: &Fs, path: &Path) -> Result<Self> {
        fs::remove_if_exists(&**fs, path).map_err(StorageError::io("delete", path))?;
        Ok(Self::unloaded(fs, path))
    }

    /// An empty index that has not looked at the disk (a placeholder until [`Self::load`]).
    pub(crate) fn unloaded(fs: &Fs, path: &Path) -> Self {
        Self { fs: fs.clone(), path: path.to_path_buf(), file: None, entries: 0, last_offset: None, unsynced: false }
    }

    /// Opens the index of a segment holding offsets `[base_offset, next_offset)`.
    /// `None` when the file is torn or holds an entry that segment could not have
    /// written (then the caller rebuilds it from the log). A missing file is empty.
    pub fn load(fs: &Fs, path: &Path, base_offset: i64, next_offset: i64) -> Result<Option<Self>> {
        let Some((file, bytes)) = fs::open_and_read(&**fs, path).map_err(StorageError::io("read", path))? else {
            return Ok(Some(Self::unloaded(fs, path))); // nothing to remove: the file is missing
        };
        if bytes.len() % ENTRY_BYTES != 0 {
            return Ok(None);
        }
        let mut last_offset = None;
        for chunk in bytes.chunks_exact(ENTRY_BYTES) {
            let Some(txn) = AbortedTxn::decode(chunk) else { return Ok(None) };
            let plausible = txn.first_offset <= txn.last_offset
                && (base_offset..next_offset).contains(&txn.last_offset)
                && last_offset.is_none_or(|last| last < txn.last_offset)
                && txn.last_stable_offset <= txn.last_offset + 1;
            if !plausible {
                return Ok(None);
            }
            last_offset = Some(txn.last_offset);
        }
        let entries = (bytes.len() / ENTRY_BYTES) as u64;
        Ok(Some(Self { fs: fs.clone(), path: path.to_path_buf(), file: Some(file), entries, last_offset, unsynced: false }))
    }

    /// Appends an entry; marker offsets only grow. Returns whether the file was
    /// created (its directory entry then needs an fsync).
    pub fn append(&mut self, txn: AbortedTxn) -> Result<bool> {
        if self.last_offset.is_some_and(|last| last >= txn.last_offset) {
            return Err(StorageError::Corrupt {
                path: self.path.clone(),
                reason: format!("aborted transaction at {} after one at {:?}", txn.last_offset, self.last_offset),
            });
        }
        let created = self.file.is_none();
        if created {
            self.file = Some(open_rw(&self.fs, &self.path)?);
        }
        let file = self.file.as_ref().ok_or_else(|| StorageError::Corrupt { path: self.path.clone(), reason: "no file".into() })?;
        file.write_all_at(&txn.encode(), self.entries * ENTRY_BYTES as u64)
            .map_err(StorageError::io("append to", &self.path))?;
        self.entries += 1;
        self.last_offset = Some(txn.last_offset);
        self.unsynced = true;
        Ok(created)
    }

    /// The aborted transactions overlapping `[fetch_offset, upper_bound_offset)`
    /// (Kafka's `collectAbortedTxns`): last offset at or after the fetch offset and
    /// first offset before the bound. The search is complete at the first entry whose
    /// last stable offset reaches the bound: no transaction aborted later can start
    /// before it.
    pub fn collect(&self, fetch_offset: i64, upper_bound_offset: i64) -> Result<TxnIndexSearch> {
        let mut aborted = Vec::new();
        let mut complete = false;
        self.scan(|txn| {
            if txn.last_offset >= fetch_offset && txn.first_offset < upper_bound_offset {
                aborted.push(txn);
            }
            complete = txn.last_stable_offset >= upper_bound_offset;
            !complete
        })?;
        Ok(TxnIndexSearch { aborted, complete })
    }

    /// Every entry, in order.
    pub fn all(&self) -> Result<Vec<AbortedTxn>> {
        let mut all = Vec::new();
        self.scan(|txn| {
            all.push(txn);
            true
        })?;
        Ok(all)
    }

    /// Drops the entries of markers at or after `offset` (the log was truncated there).
    pub fn truncate_to(&mut self, offset: i64) -> Result<()> {
        let mut keep = 0u64;
        let mut last_offset = None;
        self.scan(|txn| {
            if txn.last_offset >= offset {
                return false;
            }
            keep += 1;
            last_offset = Some(txn.last_offset);
            true
        })?;
        self.set_entries(keep, last_offset)
    }

    /// Removes every entry (before a rebuild).
    pub fn reset(&mut self) -> Result<()> {
        self.set_entries(0, None)
    }

    /// fsyncs entries written since the last call.
    pub fn sync(&mut self) -> Result<()> {
        match self.take_unsynced() {
            Some(file) => file.sync_data().map_err(StorageError::io("fsync", &self.path)),
            None => Ok(()),
        }
    }

    /// The file, if entries were written since the last sync, for the caller to
    /// fsync (outside its locks); from now on they count as synced.
    pub fn take_unsynced(&mut self) -> Option<Handle> {
        if !std::mem::take(&mut self.unsynced) {
            return None;
        }
        self.file.clone()
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    fn set_entries(&mut self, entries: u64, last_offset: Option<i64>) -> Result<()> {
        if let Some(file) = &self.file {
            if entries != self.entries {
                file.set_len(entries * ENTRY_BYTES as u64).map_err(StorageError::io("truncate", &self.path))?;
                self.unsynced = true;
            }
        }
        self.entries = entries;
        self.last_offset = last_offset;
        Ok(())
    }

    /// Feeds entries in order to `visit` until it returns false.
    fn scan(&self, mut visit: impl FnMut(AbortedTxn) -> bool) -> Result<()> {
        let Some(file) = &self.file else { return Ok(()) };
        let mut buf = vec![0u8; ENTRIES_PER_READ.min(self.entries as usize) * ENTRY_BYTES];
        let mut next = 0u64;
        while next < self.entries {
            let count = (self.entries - next).min(ENTRIES_PER_READ as u64) as usize;
            let chunk = &mut buf[..count * ENTRY_BYTES];
            file.read_exact_at(chunk, next * ENTRY_BYTES as u64).map_err(StorageError::io("read", &self.path))?;
            for bytes in chunk.chunks_exact(ENTRY_BYTES) {
                let txn = AbortedTxn::decode(bytes).ok_or_else(|| StorageError::Corrupt {
                    path: self.path.clone(),
                    reason: format!("unknown aborted transaction version at entry {next}"),
                })?;
                if !visit(txn) {
                    return Ok(());
                }
                next += 1;
            }
        }
        Ok(())
    }
}

fn open_rw(fs: &Fs, path: &Path) -> Result<Handle> {
    fs.open(path, OpenMode::Create).map_err(StorageError::io("open", path))
}

#[cfg(test)]
mod tests;
