//! The metadata log file: an append-only sequence of entries, each
//!
//! ```text
//! length: u32 BE (bytes of payload) | crc32c: u32 BE (of payload) | payload (a JSON RecordBatch)
//! ```
//!
//! Every append is fsynced before the change is applied, so an acknowledged
//! topic operation survives a crash. On open, entries are read back until the
//! first torn or corrupt one; the file is truncated there (a crash mid-append
//! leaves at most one such tail), so a half-written change is never applied.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::records::RecordBatch;
use super::store::MetadataError;

/// Directory of the metadata log under the data directory (Kafka's KRaft name).
pub const METADATA_DIR: &str = "__cluster_metadata-0";
/// File name of the metadata log in [`METADATA_DIR`].
pub const LOG_FILE: &str = "metadata.log";
/// Bytes of an entry's header (length + crc).
const ENTRY_HEADER_BYTES: usize = 8;
/// Largest entry accepted when reading back: far above any real change
/// (10,000 partitions encode to about 1.5 MB) and a bound on a corrupt length.
const MAX_ENTRY_BYTES: usize = 64 * 1024 * 1024;

/// An open metadata log, positioned for appends.
pub struct MetadataLog {
    path: PathBuf,
    file: File,
}

impl MetadataLog {
    /// Opens or creates the log under `data_dir`, returning it with every
    /// complete batch it holds, in order. A torn or corrupt tail is cut off.
    pub fn open(data_dir: &Path) -> Result<(Self, Vec<RecordBatch>), MetadataError> {
        let dir = data_dir.join(METADATA_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        let path = dir.join(LOG_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| io_error(&path, e))?;
        let (batches, valid_len) = read_entries(&bytes);
        if valid_len < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                valid_bytes = valid_len,
                dropped_bytes = bytes.len() - valid_len,
                "metadata log has a torn or corrupt tail; truncating it"
            );
            file.set_len(valid_len as u64).map_err(|e| io_error(&path, e))?;
            file.sync_all().map_err(|e| io_error(&path, e))?;
        }
        file.seek(SeekFrom::End(0)).map_err(|e| io_error(&path, e))?;
        sync_dir(&dir)?;
        Ok((Self { path, file }, batches))
    }

    /// Appends one batch and fsyncs it.
    pub fn append(&mut self, batch: &RecordBatch) -> Result<(), MetadataError> {
        let entry = encode_entry(batch).map_err(|e| MetadataError::Corrupt {
            path: self.path.display().to_string(),
            offset: 0,
            reason: format!("cannot encode batch: {e}"),
        })?;
        self.file.write_all(&entry).map_err(|e| io_error(&self.path, e))?;
        self.file.sync_data().map_err(|e| io_error(&self.path, e))
    }
}

fn encode_entry(batch: &RecordBatch) -> Result<Vec<u8>, serde_json::Error> {
    let payload = serde_json::to_vec(batch)?;
    let mut entry = Vec::with_capacity(ENTRY_HEADER_BYTES + payload.len());
    entry.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    entry.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
    entry.extend_from_slice(&payload);
    Ok(entry)
}

/// Decodes entries from the start of `bytes`; returns the batches and the
/// length of the valid prefix.
fn read_entries(bytes: &[u8]) -> (Vec<RecordBatch>, usize) {
    let mut batches = Vec::new();
    let mut pos = 0;
    while let Some(header) = bytes.get(pos..pos + ENTRY_HEADER_BYTES) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        if len > MAX_ENTRY_BYTES {
            break;
        }
        let start = pos + ENTRY_HEADER_BYTES;
        let Some(payload) = bytes.get(start..start + len) else { break };
        if crc32c::crc32c(payload) != crc {
            break;
        }
        let Ok(batch) = serde_json::from_slice::<RecordBatch>(payload) else { break };
        batches.push(batch);
        pos = start + len;
    }
    (batches, pos)
}

/// Makes a newly created file's directory entry durable.
fn sync_dir(dir: &Path) -> Result<(), MetadataError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(dir, e))
}

fn io_error(path: &Path, source: std::io::Error) -> MetadataError {
    MetadataError::Io { path: path.display().to_string(), source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::records::MetadataRecord;

    fn batch(n: i32) -> RecordBatch {
        RecordBatch::new(vec![MetadataRecord::Controller { node_id: n }])
    }

    #[test]
    fn appended_batches_are_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut log, existing) = MetadataLog::open(dir.path()).unwrap();
            assert!(existing.is_empty());
            for n in 0..5 {
                log.append(&batch(n)).unwrap();
            }
        }
        let (_, batches) = MetadataLog::open(dir.path()).unwrap();
        assert_eq!(batches, (0..5).map(batch).collect::<Vec<_>>());
    }

    #[test]
    fn a_torn_or_corrupt_tail_is_cut_at_every_point() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut log, _) = MetadataLog::open(dir.path()).unwrap();
            log.append(&batch(1)).unwrap();
            log.append(&batch(2)).unwrap();
        }
        let path = dir.path().join(METADATA_DIR).join(LOG_FILE);
        let full = std::fs::read(&path).unwrap();
        let first_len = encode_entry(&batch(1)).unwrap().len();
        for cut in 0..full.len() {
            std::fs::write(&path, &full[..cut]).unwrap();
            let (_, batches) = MetadataLog::open(dir.path()).unwrap();
            let expected = if cut >= first_len { vec![batch(1)] } else { vec![] };
            assert_eq!(batches, expected, "cut at {cut}");
            assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, expected.len() * first_len);
        }
        for flip in first_len..full.len() {
            let mut damaged = full.clone();
            damaged[flip] ^= 0x40;
            std::fs::write(&path, &damaged).unwrap();
            let (_, batches) = MetadataLog::open(dir.path()).unwrap();
            assert_eq!(batches, vec![batch(1)], "flip at {flip}");
        }
    }

    #[test]
    fn appends_after_truncation_continue_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(METADATA_DIR).join(LOG_FILE);
        {
            let (mut log, _) = MetadataLog::open(dir.path()).unwrap();
            log.append(&batch(1)).unwrap();
        }
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[0, 0, 0, 9, 1, 2]);
        std::fs::write(&path, &bytes).unwrap();
        {
            let (mut log, batches) = MetadataLog::open(dir.path()).unwrap();
            assert_eq!(batches, vec![batch(1)]);
            log.append(&batch(2)).unwrap();
        }
        let (_, batches) = MetadataLog::open(dir.path()).unwrap();
        assert_eq!(batches, vec![batch(1), batch(2)]);
    }
}
