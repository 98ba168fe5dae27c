//! A full disk, for real: strom's data directory on a 16 MiB tmpfs (a loop-
//! mounted ext4 image where tmpfs cannot be mounted). With the disk filled,
//! produces fail with KAFKA_STORAGE_ERROR and "No space left on device" while
//! the broker keeps answering; once space returns the producer's retries land;
//! after a kill -9 every acknowledged record is there, once, in order, and
//! nothing else. Needs root (mount); skipped with the reason otherwise.

// A failed expectation is how a test fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use strom_tests::records::{self, KAFKA_STORAGE_ERROR};
use strom_tests::StromProcess;

const TOPIC: &str = "full-disk";
const FS_MIB: u64 = 16;

/// A small mounted file system, unmounted on drop.
struct SmallFs {
    mount_point: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mount_point = dir.path().join("mnt");
        std::fs::create_dir(&mount_point).map_err(|e| e.to_string())?;
        let tmpfs = run(Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={FS_MIB}m"), "tmpfs"]).arg(&mount_point));
        if let Err(tmpfs_error) = tmpfs {
            let image = dir.path().join("disk.img");
            let loop_image = run(Command::new("truncate").args(["-s", &format!("{FS_MIB}M")]).arg(&image))
                .and_then(|()| run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image)))
                .and_then(|()| run(Command::new("mount").args(["-o", "loop"]).arg(&image).arg(&mount_point)));
            if let Err(loop_error) = loop_image {
                return Err(format!("cannot mount tmpfs ({tmpfs_error}) nor a loop image ({loop_error})"));
            }
        }
        Ok(Self { mount_point, _dir: dir })
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount_point).status();
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    match command.output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!("{:?}: {}", command, String::from_utf8_lossy(&out.stderr).trim())),
        Err(e) => Err(format!("{command:?}: {e}")),
    }
}

/// Fills the file system with a ballast file until writes fail.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("ballast");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    for _ in 0..(FS_MIB * 16 + 16) {
        if file.write_all(&chunk).is_err() {
            break;
        }
    }
    let _ = file.sync_all();
    path
}

fn value(n: usize) -> Vec<u8> {
    format!("record-{n:06}-{}", "x".repeat(2000)).into_bytes()
}

#[test]
fn a_full_disk_refuses_produces_and_resumes_when_space_returns() {
    let small = match SmallFs::mount() {
        Ok(fs) => fs,
        Err(reason) => {
            eprintln!("SKIPPED a_full_disk_refuses_produces_and_resumes_when_space_returns: {reason}");
            return;
        }
    };
    let data_dir = small.mount_point.join("data");
    std::fs::create_dir(&data_dir).unwrap();
    let broker = StromProcess::start_in(&data_dir).expect("start strom");
    let mut conn = broker.connect().unwrap();
    records::create_topic(&mut conn, TOPIC, 1, &[("flush.messages", "1")]).unwrap();
    let producer = records::init_producer_id(&mut conn).unwrap();
    let mut acked = Vec::new();
    let produce = |conn: &mut strom_tests::KafkaConnection, n: usize| {
        let batch = records::batch(producer, n as i32 * 2, &[value(n), value(n + 1_000_000)]).unwrap();
        records::produce(conn, TOPIC, 0, -1, batch).unwrap()
    };
    for n in 0..50 {
        assert_eq!(produce(&mut conn, n).error_code, 0);
        acked.push(n);
    }

    let ballast = fill(&small.mount_point);
    let mut refused = 0;
    let mut next = 50;
    // The last bytes of free space may still take a batch or two.
    for _ in 0..20 {
        let result = produce(&mut conn, next);
        if result.error_code == 0 {
            acked.push(next);
            next += 1;
            continue;
        }
        assert_eq!(result.error_code, KAFKA_STORAGE_ERROR, "{result:?}");
        let message = result.error_message.unwrap_or_default();
        assert!(message.contains("No space left on device"), "a clear error: {message}");
        refused += 1;
    }
    assert!(refused >= 15, "the full disk refused produces ({refused} of 20)");
    conn.metadata_all(12).expect("the broker keeps answering with a full disk");
    assert!(broker.log().contains("No space left on device"), "the broker logs it:\n{}", broker.log_tail(10));

    std::fs::remove_file(&ballast).unwrap();
    for _ in 0..20 {
        assert_eq!(produce(&mut conn, next).error_code, 0, "space is back: the retry lands");
        acked.push(next);
        next += 1;
    }

    let broker = broker.kill_and_restart().expect("restart after kill -9");
    let mut conn = broker.connect().unwrap();
    let fetched = records::fetch_all(&mut conn, TOPIC, 0, 0).unwrap();
    let expected: Vec<Vec<u8>> = acked.iter().flat_map(|&n| [value(n), value(n + 1_000_000)]).collect();
    let values: Vec<Vec<u8>> = fetched.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(values.len(), expected.len(), "every acknowledged record, nothing else");
    assert!(values == expected, "in order, once");
    assert!(fetched.iter().enumerate().all(|(i, (o, _))| *o == i as i64), "offsets are dense");
    eprintln!("full disk: {refused} of 20 produces refused, {} batches acknowledged and found after kill -9", acked.len());
    drop(broker);
}
