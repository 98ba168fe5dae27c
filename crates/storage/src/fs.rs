//! The storage crate's one door to the disk: a small file-system trait, after
//! tikv/raft-engine's `FileSystem` and franz-go kfake's persistence interface,
//! so tests can inject failures ([`faulty::FaultyFs`]) where the real disk
//! ([`OsFs`]) never fails on demand.
//!
//! The seam is thin on purpose: open, positional read and write, truncate,
//! fsync, rename, remove, list and create directories. Every higher-level
//! operation (write a small file atomically, read one whole) is built from
//! those in this module, so an injected failure reaches the storage logic
//! exactly where a real one would.
//!
//! Handles have no file cursor: callers write at the position they track
//! (a segment knows its size), which keeps one writer per file honest and
//! lets readers share a handle.

use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

pub mod faulty;

/// How [`FileSystem::open`] treats an existing or missing file. Every handle
/// can read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// The file must exist.
    Existing,
    /// The file must not exist yet.
    CreateNew,
    /// Created if missing, kept as it is otherwise.
    Create,
    /// Created if missing, emptied otherwise.
    Truncate,
}

/// One open file.
pub trait FileHandle: Send + Sync + Debug {
    /// Fills `buf` from `offset`; `UnexpectedEof` when the file ends first.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Reads exactly `len` bytes from `offset` into a new buffer;
    /// `UnexpectedEof` when the file ends first.
    fn read_vec_at(&self, len: usize, offset: u64) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.read_into_vec_at(&mut buf, len, offset)?;
        Ok(buf)
    }
    /// Replaces `buf`'s content with exactly `len` bytes from `offset`,
    /// keeping its allocation when large enough; `UnexpectedEof` when the file
    /// ends first. The real disk reads straight into the allocation, never
    /// zeroing it first (a fetch reads a MiB at a time).
    fn read_into_vec_at(&self, buf: &mut Vec<u8>, len: usize, offset: u64) -> io::Result<()> {
        buf.clear();
        buf.resize(len, 0);
        self.read_exact_at(buf, offset)
    }
    /// Writes all of `buf` at `offset`. On error any prefix may have been written.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Writes `head` then `body` at `offset`, as one write where the system
    /// allows (a batch's patched header and the producer's bytes, uncopied).
    fn write_all_vectored_at(&self, head: &[u8], body: &[u8], offset: u64) -> io::Result<()> {
        self.write_all_at(head, offset)?;
        self.write_all_at(body, offset + head.len() as u64)
    }
    fn set_len(&self, len: u64) -> io::Result<()>;
    fn size(&self) -> io::Result<u64>;
    /// fsyncs the file's data (and the metadata needed to read it back).
    fn sync_data(&self) -> io::Result<()>;
    /// The open file itself, for a caller that hands it to the kernel
    /// (sendfile(2) of a fetch's records); `None` where reads must go
    /// through this handle (an injected failure would be bypassed).
    fn as_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}

/// A shared open file.
pub type Handle = Arc<dyn FileHandle>;

/// The directory operations storage needs.
pub trait FileSystem: Send + Sync + Debug {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Handle>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Names of the entries of a directory, in no particular order.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// fsyncs a directory, making the entries created, renamed or removed in it durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    fn exists(&self, path: &Path) -> io::Result<bool>;
}

/// The file system the storage crate uses.
pub type Fs = Arc<dyn FileSystem>;

/// The real disk, through `std::fs`.
#[derive(Debug, Default)]
pub struct OsFs;

/// The process-wide [`OsFs`].
pub fn os() -> Fs {
    static OS: OnceLock<Fs> = OnceLock::new();
    Arc::clone(OS.get_or_init(|| Arc::new(OsFs)))
}

#[derive(Debug)]
struct OsFile(File);

impl FileHandle for OsFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.0.read_exact_at(buf, offset)
    }

    /// The bytes `buf` already holds (a pooled buffer's, see
    /// `crate::buffer_pool`) are read over in place; the rest with pread(2)
    /// into spare capacity (rustix's safe `spare_capacity` sets the length to
    /// what was read), never zeroed first. Short reads are retried.
    fn read_into_vec_at(&self, buf: &mut Vec<u8>, len: usize, offset: u64) -> io::Result<()> {
        let held = buf.len().min(len);
        buf.truncate(held);
        self.0.read_exact_at(buf, offset)?;
        buf.reserve_exact(len - held);
        while buf.len() < len {
            let at = offset + buf.len() as u64;
            match rustix::io::pread(&self.0, rustix::buffer::spare_capacity(&mut *buf), at) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {}
                Err(e) if e == rustix::io::Errno::INTR => continue,
                Err(e) => return Err(e.into()),
            }
        }
        // The allocation may be larger than asked: bytes past `len` belong to
        // no one (they may be a batch still being appended).
        buf.truncate(len);
        Ok(())
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.0.write_all_at(buf, offset)
    }

    /// pwritev(2), retrying short writes.
    fn write_all_vectored_at(&self, mut head: &[u8], mut body: &[u8], mut offset: u64) -> io::Result<()> {
        while !head.is_empty() || !body.is_empty() {
            let slices = [io::IoSlice::new(head), io::IoSlice::new(body)];
            let written = match rustix::io::pwritev(&self.0, &slices, offset) {
                Ok(n) => n,
                Err(e) if e == rustix::io::Errno::INTR => continue,
                Err(e) => return Err(e.into()),
            };
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            offset += written as u64;
            let from_head = written.min(head.len());
            head = &head[from_head..];
            body = &body[(written - from_head).min(body.len())..];
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn as_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.0.as_fd())
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
}

impl FileSystem for OsFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Handle> {
        let mut options = OpenOptions::new();
        options.read(true).write(true);
        match mode {
            OpenMode::Existing => {}
            OpenMode::CreateNew => {
                options.create_new(true);
            }
            OpenMode::Create => {
                options.create(true).truncate(false);
            }
            OpenMode::Truncate => {
                options.create(true).truncate(true);
            }
        }
        Ok(Arc::new(OsFile(options.open(path)?)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir_all(path)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path)? {
            // Names that are not UTF-8 are none of storage's files.
            if let Ok(name) = entry?.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }
}

/// Reads a whole (small) file.
pub fn read(fs: &dyn FileSystem, path: &Path) -> io::Result<Vec<u8>> {
    let file = fs.open(path, OpenMode::Existing)?;
    read_handle(&*file)
}

/// Reads a whole (small) file and keeps it open: `None` when it does not
/// exist. One open where an index is read at load and appended to later.
pub fn open_and_read(fs: &dyn FileSystem, path: &Path) -> io::Result<Option<(Handle, Vec<u8>)>> {
    let file = match fs.open(path, OpenMode::Existing) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let bytes = read_handle(&*file)?;
    Ok(Some((file, bytes)))
}

/// The whole content of an open file (no read call for an empty one).
fn read_handle(file: &dyn FileHandle) -> io::Result<Vec<u8>> {
    let len = usize::try_from(file.size()?).map_err(|_| io::Error::other("file too large to read whole"))?;
    let mut bytes = vec![0u8; len];
    if len > 0 {
        file.read_exact_at(&mut bytes, 0)?;
    }
    Ok(bytes)
}

/// Reads a whole file, `None` when it does not exist.
pub fn read_if_exists(fs: &dyn FileSystem, path: &Path) -> io::Result<Option<Vec<u8>>> {
    match read(fs, path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces a file's content, without fsync.
pub fn write(fs: &dyn FileSystem, path: &Path, bytes: &[u8]) -> io::Result<()> {
    fs.open(path, OpenMode::Truncate)?.write_all_at(bytes, 0)
}

/// Replaces a file's content and fsyncs it (not its directory entry).
pub fn write_synced(fs: &dyn FileSystem, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file = fs.open(path, OpenMode::Truncate)?;
    file.write_all_at(bytes, 0)?;
    file.sync_data()
}

/// Removes a file; a missing one is not an error.
pub fn remove_if_exists(fs: &dyn FileSystem, path: &Path) -> io::Result<()> {
    match fs.remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_files_read_and_write_at_positions_in_every_mode() {
        let dir = tempfile::tempdir().unwrap();
        let fs = os();
        let path = dir.path().join("f");
        assert_eq!(fs.open(&path, OpenMode::Existing).unwrap_err().kind(), io::ErrorKind::NotFound);
        let file = fs.open(&path, OpenMode::CreateNew).unwrap();
        assert_eq!(fs.open(&path, OpenMode::CreateNew).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        file.write_all_at(b"hello", 0).unwrap();
        file.write_all_at(b" world", 5).unwrap();
        let mut buf = [0u8; 5];
        file.read_exact_at(&mut buf, 6).unwrap();
        assert_eq!(&buf, b"world");
        assert_eq!(file.read_exact_at(&mut buf, 8).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        file.set_len(5).unwrap();
        file.sync_data().unwrap();
        assert_eq!(read(&*fs, &path).unwrap(), b"hello");
        drop(fs.open(&path, OpenMode::Create).unwrap());
        assert_eq!(read(&*fs, &path).unwrap(), b"hello", "Create keeps the content");
        drop(fs.open(&path, OpenMode::Truncate).unwrap());
        assert_eq!(read(&*fs, &path).unwrap(), b"", "Truncate empties");
    }

    /// A new file holding 300,000 bytes of a pattern repeating every `period`, and those bytes.
    fn patterned_file(dir: &Path, period: u32) -> (Handle, Vec<u8>) {
        let file = os().open(&dir.join("f"), OpenMode::CreateNew).unwrap();
        let content: Vec<u8> = (0..300_000u32).map(|i| (i % period) as u8).collect();
        file.write_all_at(&content, 0).unwrap();
        (file, content)
    }

    #[test]
    fn read_vec_at_reads_exactly_the_range_or_fails_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let (file, content) = patterned_file(dir.path(), 253);
        for (len, at) in [(0, 0), (1, 0), (5, 7), (200_000, 99_999), (300_000, 0), (1, 299_999)] {
            let got = file.read_vec_at(len, at as u64).unwrap();
            assert_eq!(got, &content[at..at + len], "{len} at {at}");
        }
        assert_eq!(file.read_vec_at(2, 299_999).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(file.read_vec_at(10, 400_000).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn read_into_vec_at_reuses_a_buffer_of_any_length() {
        let dir = tempfile::tempdir().unwrap();
        let (file, content) = patterned_file(dir.path(), 251);
        let mut buf = Vec::new();
        // Longer, shorter, and longer again than what the buffer holds.
        for (len, at) in [(100_000, 5), (10, 200_000), (0, 0), (250_000, 50_000), (250_000, 1), (7, 299_993)] {
            file.read_into_vec_at(&mut buf, len, at as u64).unwrap();
            assert_eq!(buf, &content[at..at + len], "{len} at {at}");
        }
        let kept = buf.as_ptr();
        file.read_into_vec_at(&mut buf, 200_000, 0).unwrap();
        assert_eq!(buf.as_ptr(), kept, "a buffer large enough is not reallocated");
        assert_eq!(file.read_into_vec_at(&mut buf, 2, 299_999).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn os_directories_list_rename_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let fs = os();
        let sub = dir.path().join("a/b");
        fs.create_dir_all(&sub).unwrap();
        write_synced(&*fs, &sub.join("x"), b"1").unwrap();
        fs.rename(&sub.join("x"), &sub.join("y")).unwrap();
        fs.sync_dir(&sub).unwrap();
        assert_eq!(fs.list_dir(&sub).unwrap(), vec!["y".to_string()]);
        assert!(fs.exists(&sub.join("y")).unwrap() && !fs.exists(&sub.join("x")).unwrap());
        assert_eq!(read_if_exists(&*fs, &sub.join("x")).unwrap(), None);
        remove_if_exists(&*fs, &sub.join("y")).unwrap();
        remove_if_exists(&*fs, &sub.join("y")).unwrap();
        fs.remove_dir_all(&dir.path().join("a")).unwrap();
        assert!(!fs.exists(&dir.path().join("a")).unwrap());
    }
}
