//! The storage crate's error type.

use std::path::PathBuf;

/// A storage operation failed. Messages name the file involved.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("offset {offset} is out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange { offset: i64, log_start_offset: i64, log_end_offset: i64 },
    #[error("{path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("invalid log config: {0}")]
    InvalidConfig(String),
    #[error("log cleaning stopped: the log manager is closing")]
    CleaningStopped,
    /// The log hit an error it cannot recover from while running (see
    /// `PartitionLog::offline`); a restart recovers it.
    #[error("{path} is offline until restart: {reason}")]
    Offline { path: PathBuf, reason: String },
}

impl StorageError {
    /// Wraps an I/O error with what was being done and to which file.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }

    /// A failed fsync: what was written since the last good one may be lost.
    pub fn is_fsync(&self) -> bool {
        matches!(self, Self::Io { op: "fsync", .. })
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;
