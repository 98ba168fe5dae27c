//! A [`FileSystem`] that fails on demand, for tests: it wraps another one
//! (usually [`super::os`] over a temporary directory) and turns chosen calls
//! into the errors a failing disk gives (`EIO`, `ENOSPC`), optionally after
//! writing part of the buffer, as a real short write does.
//!
//! ```ignore
//! let fs = FaultyFs::new(strom_storage::fs::os());
//! fs.inject(Fault::new(Op::Sync).on(".log").eio());   // every fsync of a segment fails
//! fs.inject(Fault::new(Op::Write).after(3).once().partial(10).enospc());
//! fs.clear();                                          // the disk is healthy again
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{FileHandle, FileSystem, Fs, Handle, OpenMode};

/// Linux `EIO`: the device failed.
pub const EIO: i32 = 5;
/// Linux `ENOSPC`: no space left on device.
pub const ENOSPC: i32 = 28;

/// The calls a fault can hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Open,
    Read,
    Write,
    SetLen,
    Sync,
    Rename,
    Remove,
    CreateDir,
    List,
    SyncDir,
}

/// One injected failure rule.
#[derive(Debug, Clone)]
pub struct Fault {
    op: Op,
    /// Only paths whose text contains this.
    path_contains: Option<String>,
    /// Matching calls let through before the fault fires.
    skip: u64,
    /// Matching calls that fail once it fires.
    times: u64,
    os_error: i32,
    /// For writes: bytes written before the error.
    partial: usize,
}

impl Fault {
    /// Fails every `op` call with `EIO`, until refined.
    pub fn new(op: Op) -> Self {
        Self { op, path_contains: None, skip: 0, times: u64::MAX, os_error: EIO, partial: 0 }
    }

    /// Only calls on paths containing `text` (e.g. ".log", "t-0/").
    pub fn on(mut self, text: &str) -> Self {
        self.path_contains = Some(text.to_string());
        self
    }

    /// Lets `calls` matching calls succeed first.
    pub fn after(mut self, calls: u64) -> Self {
        self.skip = calls;
        self
    }

    /// Fails one call, then lets the rest through.
    pub fn once(mut self) -> Self {
        self.times = 1;
        self
    }

    pub fn eio(mut self) -> Self {
        self.os_error = EIO;
        self
    }

    pub fn enospc(mut self) -> Self {
        self.os_error = ENOSPC;
        self
    }

    /// A failing write first writes `bytes` of its buffer (a short write).
    pub fn partial(mut self, bytes: usize) -> Self {
        self.partial = bytes;
        self
    }

    fn matches(&self, op: Op, path: &Path) -> bool {
        self.op == op && self.path_contains.as_ref().is_none_or(|t| path.to_string_lossy().contains(t.as_str()))
    }
}

#[derive(Debug, Default)]
struct State {
    faults: Vec<Fault>,
    /// Faults that fired, for tests to check they hit something.
    fired: u64,
}

#[derive(Debug, Default)]
struct Faults(Mutex<State>);

impl Faults {
    /// The fault hitting this call, if any (consuming its counts).
    fn check(&self, op: Op, path: &Path) -> Option<Fault> {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let fault = state.faults.iter_mut().find(|f| f.matches(op, path) && f.times > 0)?;
        if fault.skip > 0 {
            fault.skip -= 1;
            return None;
        }
        fault.times -= 1;
        let fired = fault.clone();
        state.fired += 1;
        Some(fired)
    }

    fn fail(&self, op: Op, path: &Path) -> io::Result<()> {
        match self.check(op, path) {
            Some(fault) => Err(io::Error::from_raw_os_error(fault.os_error)),
            None => Ok(()),
        }
    }
}

/// A file system whose calls fail as told. Cheap to clone; clones share faults.
#[derive(Debug, Clone)]
pub struct FaultyFs {
    inner: Fs,
    faults: Arc<Faults>,
}

impl FaultyFs {
    pub fn new(inner: Fs) -> Self {
        Self { inner, faults: Arc::new(Faults::default()) }
    }

    /// This file system as storage takes it.
    pub fn fs(&self) -> Fs {
        Arc::new(self.clone())
    }

    /// Adds a fault; the first matching fault with calls left decides a call.
    pub fn inject(&self, fault: Fault) {
        self.state().faults.push(fault);
    }

    /// Removes every fault: the disk works again.
    pub fn clear(&self) {
        self.state().faults.clear();
    }

    /// How many calls failed so far.
    pub fn fired(&self) -> u64 {
        self.state().fired
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.faults.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug)]
struct FaultyFile {
    inner: Handle,
    path: PathBuf,
    faults: Arc<Faults>,
}

impl FileHandle for FaultyFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.faults.fail(Op::Read, &self.path)?;
        self.inner.read_exact_at(buf, offset)
    }

    fn read_into_vec_at(&self, buf: &mut Vec<u8>, len: usize, offset: u64) -> io::Result<()> {
        self.faults.fail(Op::Read, &self.path)?;
        self.inner.read_into_vec_at(buf, len, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        if let Some(fault) = self.faults.check(Op::Write, &self.path) {
            let written = fault.partial.min(buf.len());
            self.inner.write_all_at(&buf[..written], offset)?;
            return Err(io::Error::from_raw_os_error(fault.os_error));
        }
        self.inner.write_all_at(buf, offset)
    }

    fn write_all_vectored_at(&self, head: &[u8], body: &[u8], offset: u64) -> io::Result<()> {
        if let Some(fault) = self.faults.check(Op::Write, &self.path) {
            let from_head = fault.partial.min(head.len());
            let from_body = (fault.partial - from_head).min(body.len());
            self.inner.write_all_vectored_at(&head[..from_head], &body[..from_body], offset)?;
            return Err(io::Error::from_raw_os_error(fault.os_error));
        }
        self.inner.write_all_vectored_at(head, body, offset)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.faults.fail(Op::SetLen, &self.path)?;
        self.inner.set_len(len)
    }

    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }

    fn sync_data(&self) -> io::Result<()> {
        self.faults.fail(Op::Sync, &self.path)?;
        self.inner.sync_data()
    }
}

impl FileSystem for FaultyFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Handle> {
        self.faults.fail(Op::Open, path)?;
        let inner = self.inner.open(path, mode)?;
        Ok(Arc::new(FaultyFile { inner, path: path.to_path_buf(), faults: Arc::clone(&self.faults) }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.faults.fail(Op::Rename, from)?;
        self.inner.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.faults.fail(Op::Remove, path)?;
        self.inner.remove_file(path)
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.faults.fail(Op::Remove, path)?;
        self.inner.remove_dir_all(path)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.faults.fail(Op::CreateDir, path)?;
        self.inner.create_dir_all(path)
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.faults.fail(Op::List, path)?;
        self.inner.list_dir(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.faults.fail(Op::SyncDir, path)?;
        self.inner.sync_dir(path)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_fire_after_their_skips_for_their_count_on_their_paths() {
        let dir = tempfile::tempdir().unwrap();
        let faulty = FaultyFs::new(super::super::os());
        let fs = faulty.fs();
        let log = fs.open(&dir.path().join("0.log"), OpenMode::Create).unwrap();
        let index = fs.open(&dir.path().join("0.index"), OpenMode::Create).unwrap();
        faulty.inject(Fault::new(Op::Write).on(".log").after(1).once().partial(2).enospc());
        log.write_all_at(b"abc", 0).unwrap();
        index.write_all_at(b"abc", 0).unwrap();
        let error = log.write_all_at(b"defg", 3).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(ENOSPC));
        assert_eq!(super::super::read(&*fs, &dir.path().join("0.log")).unwrap(), b"abcde", "a short write");
        log.write_all_at(b"X", 5).unwrap();
        faulty.inject(Fault::new(Op::Sync).eio());
        assert_eq!(log.sync_data().unwrap_err().raw_os_error(), Some(EIO));
        assert!(index.sync_data().is_err());
        assert_eq!(faulty.fired(), 3);
        faulty.clear();
        log.sync_data().unwrap();
    }
}
