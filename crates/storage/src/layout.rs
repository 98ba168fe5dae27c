//! Where partition data lives under the data directory: `<data>/<topic>-<partition>/`.
//! One place builds and parses these names.

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
        assert_eq!(parse_partition_dir("t--1"), None);
    }
}
