use super::*;

/// A structurally valid v2 batch with `count` records at `base_offset`; the
/// records area is filler (storage never looks inside records).
pub(crate) fn make_batch(base_offset: i64, count: i32, max_timestamp: i64, payload: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(HEADER_BYTES + payload);
    b.extend_from_slice(&base_offset.to_be_bytes());
    b.extend_from_slice(&((HEADER_BYTES - 12 + payload) as i32).to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend_from_slice(&[0; 4]); // crc, below
    b.extend_from_slice(&0i16.to_be_bytes()); // attributes
    b.extend_from_slice(&(count - 1).to_be_bytes());
    b.extend_from_slice(&max_timestamp.to_be_bytes()); // base timestamp
    b.extend_from_slice(&max_timestamp.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&count.to_be_bytes());
    b.extend((0..payload).map(|i| (i % 251) as u8));
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn append(segment: &mut Segment, base: i64, count: i32, ts: i64, payload: usize) -> Vec<u8> {
    let batch = make_batch(base, count, ts, payload);
    let header = BatchHeader::parse(&batch).unwrap();
    segment.append(&batch, &header).unwrap();
    batch
}

#[test]
fn appended_batches_are_found_and_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut seg = Segment::create(&crate::fs::os(), dir.path(), 100, 200).unwrap();
    let mut all = Vec::new();
    for i in 0..20 {
        all.push(append(&mut seg, 100 + i * 3, 3, 1000 + i, 100));
    }
    assert_eq!(seg.next_offset(), 160);
    for offset in 100..160 {
        let found = seg.find_batch(offset).unwrap().unwrap();
        assert_eq!(found.header.base_offset, 100 + (offset - 100) / 3 * 3, "offset {offset}");
    }
    assert!(seg.find_batch(160).unwrap().is_none());
    // At least one whole batch even when it exceeds max_bytes.
    let one = seg.read(104, 1, i64::MAX).unwrap().unwrap();
    assert_eq!(one.read().unwrap().as_ref(), all[1].as_slice());
    let three = seg.read(104, 3 * all[0].len(), i64::MAX).unwrap().unwrap();
    assert_eq!(three.read().unwrap().as_ref(), all[1..4].concat().as_slice());
    // max_offset stops before batches at or beyond it.
    let capped = seg.read(100, usize::MAX, 106).unwrap().unwrap();
    assert_eq!(capped.read().unwrap().as_ref(), all[0..2].concat().as_slice());
    assert!(seg.read(106, usize::MAX, 106).unwrap().is_none());
}

#[test]
fn timestamps_find_the_first_batch_reaching_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut seg = Segment::create(&crate::fs::os(), dir.path(), 0, 0).unwrap();
    for (i, ts) in [10, 20, 15, 40, 50].into_iter().enumerate() {
        append(&mut seg, i as i64, 1, ts, 10);
    }
    let at = |ts| seg.find_by_timestamp(ts).unwrap().map(|b| b.header.base_offset);
    assert_eq!((at(0), at(10), at(11), at(20), at(21), at(50), at(51)), (Some(0), Some(0), Some(1), Some(1), Some(3), Some(4), None));
    assert_eq!(seg.max_timestamp(), Some((50, 4)));
}

#[test]
fn reopening_cleanly_or_with_recovery_gives_the_same_segment() {
    let dir = tempfile::tempdir().unwrap();
    let mut seg = Segment::create(&crate::fs::os(), dir.path(), 0, 150).unwrap();
    for i in 0..30 {
        append(&mut seg, i * 2, 2, 500 + i, 60);
    }
    seg.flush().unwrap();
    let (size, next) = (seg.size(), seg.next_offset());
    drop(seg);
    for recover in [false, true] {
        let (seg, truncated) = Segment::open(&crate::fs::os(), dir.path(), 0, 150, recover, SegmentFiles::ALL).unwrap();
        assert_eq!((seg.size(), seg.next_offset(), truncated), (size, next, 0));
        assert_eq!(seg.find_batch(33).unwrap().unwrap().header.base_offset, 32);
        assert_eq!(seg.max_timestamp(), Some((529, 58)));
    }
}

#[test]
fn recovery_truncates_at_the_first_torn_or_corrupt_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut seg = Segment::create(&crate::fs::os(), dir.path(), 0, 100).unwrap();
    let batches: Vec<Vec<u8>> = (0..5).map(|i| append(&mut seg, i, 1, i, 40)).collect();
    drop(seg);
    let path = offset_file(dir.path(), 0, LOG_SUFFIX);
    let full = std::fs::read(&path).unwrap();
    let boundaries: Vec<usize> = batches.iter().scan(0, |end, b| { *end += b.len(); Some(*end) }).collect();
    for cut in 0..=full.len() {
        std::fs::write(&path, &full[..cut]).unwrap();
        let (seg, _) = Segment::open(&crate::fs::os(), dir.path(), 0, 100, true, SegmentFiles::ALL).unwrap();
        let whole = boundaries.iter().filter(|&&e| e <= cut).count();
        assert_eq!(seg.next_offset(), whole as i64, "cut at {cut}");
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, boundaries.get(whole.wrapping_sub(1)).copied().unwrap_or(0));
    }
    for flip in 0..full.len() {
        let mut damaged = full.clone();
        damaged[flip] ^= 0x10;
        std::fs::write(&path, &damaged).unwrap();
        let (seg, _) = Segment::open(&crate::fs::os(), dir.path(), 0, 100, true, SegmentFiles::ALL).unwrap();
        let broken = boundaries.iter().position(|&e| flip < e).unwrap();
        // Base offset and leader epoch sit outside the CRC by design (Kafka's
        // format rewrites them in place), so flips there cannot be detected.
        let start = if broken == 0 { 0 } else { boundaries[broken - 1] };
        let outside_crc = flip < start + 8 || (start + 12..start + 16).contains(&flip);
        if !outside_crc {
            assert!(seg.next_offset() <= broken as i64 + 1, "flip at {flip}");
            // Whatever survived is readable and CRC-valid.
            if let Some(slice) = seg.read(0, usize::MAX, i64::MAX).unwrap() {
                let bytes = slice.read().unwrap();
                let mut pos = 0;
                while pos < bytes.len() {
                    let h = BatchHeader::parse(&bytes[pos..]).unwrap();
                    assert!(batch::crc_is_valid(&bytes[pos..pos + h.size()]), "flip at {flip}");
                    pos += h.size();
                }
            }
        }
    }
}

#[test]
fn missing_or_damaged_indexes_are_rebuilt_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut seg = Segment::create(&crate::fs::os(), dir.path(), 0, 50).unwrap();
    for i in 0..10 {
        append(&mut seg, i, 1, i, 60);
    }
    drop(seg);
    std::fs::remove_file(offset_file(dir.path(), 0, INDEX_SUFFIX)).unwrap();
    std::fs::write(offset_file(dir.path(), 0, TIME_INDEX_SUFFIX), [7u8; 5]).unwrap();
    let (seg, _) = Segment::open(&crate::fs::os(), dir.path(), 0, 50, false, SegmentFiles::ALL).unwrap();
    assert_eq!(seg.next_offset(), 10);
    assert_eq!(seg.find_batch(7).unwrap().unwrap().header.base_offset, 7);
    assert_eq!(seg.find_by_timestamp(7).unwrap().unwrap().header.base_offset, 7);
    assert!(std::fs::metadata(offset_file(dir.path(), 0, INDEX_SUFFIX)).unwrap().len() > 0);
}

#[test]
fn truncate_to_drops_later_batches() {
    let dir = tempfile::tempdir().unwrap();
    let mut seg = Segment::create(&crate::fs::os(), dir.path(), 0, 0).unwrap();
    for i in 0..10 {
        append(&mut seg, i * 2, 2, 100 + i, 20);
    }
    seg.truncate_to(10).unwrap();
    assert_eq!(seg.next_offset(), 10);
    assert!(seg.find_batch(10).unwrap().is_none());
    assert_eq!(seg.max_timestamp(), Some((104, 8)));
    append(&mut seg, 10, 1, 200, 20);
    assert_eq!(seg.find_batch(10).unwrap().unwrap().header.base_offset, 10);
}

/// What [`Segment::read`] must return, from the list of appended batches:
/// (position, length) of the slice, as the one-header-at-a-time walk did.
fn expected_read(batches: &[(u64, BatchHeader)], offset: i64, max_bytes: usize, max_offset: i64) -> Option<(u64, usize)> {
    let first = batches.iter().position(|(_, h)| h.last_offset() >= offset)?;
    let (start, header) = batches[first];
    if header.base_offset >= max_offset {
        return None;
    }
    let mut end = start + header.size() as u64;
    for (position, h) in &batches[first + 1..] {
        let next_end = position + h.size() as u64;
        if h.base_offset >= max_offset || (next_end - start) as usize > max_bytes {
            break;
        }
        end = next_end;
    }
    Some((start, (end - start) as usize))
}

/// Small and large batches (headers straddling chunk boundaries, batches
/// larger than a chunk), under every index density: every read matches the
/// model, and bytes in the file past the segment's size (a torn or
/// unfinished append) are never part of a slice.
#[test]
fn reads_match_a_batch_by_batch_walk_for_every_index_density() {
    let sizes = [10usize, 300, 17_000, 40, 5_000, 8_100, 1, 9_000, 64, 20_000, 700, 3];
    for index_interval in [0u64, 100, 4096, 1 << 30] {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(&crate::fs::os(), dir.path(), 1000, index_interval).unwrap();
        let mut batches = Vec::new();
        let mut next = 1000i64;
        for round in 0..4 {
            for (i, payload) in sizes.iter().enumerate() {
                let count = 1 + ((i + round) % 4) as i32;
                let position = seg.size();
                let bytes = append(&mut seg, next, count, next, *payload);
                batches.push((position, BatchHeader::parse(&bytes).unwrap()));
                next += i64::from(count);
            }
        }
        // An unfinished append: a whole batch and a torn one past the valid size.
        let pending = make_batch(next, 1, next, 50);
        seg.file.write_all_at(&pending, seg.size()).unwrap();
        seg.file.write_all_at(&make_batch(next + 1, 1, next, 5000)[..100], seg.size() + pending.len() as u64).unwrap();
        let bounds = [0usize, 1, 70, 4096, 8192, 16_384, 30_000, 1 << 20, usize::MAX];
        let ends = [1000i64, 1001, 1010, 1040, 1050, next - 3, next - 1, next, next + 1, i64::MAX];
        for offset in (990..=next + 1).step_by(1) {
            for &max_bytes in &bounds {
                for &max_offset in &ends {
                    let got = seg.read(offset, max_bytes, max_offset).unwrap().map(|s| (s.position, s.len));
                    let want = expected_read(&batches, offset, max_bytes, max_offset);
                    assert_eq!(got, want, "interval {index_interval}, offset {offset}, max_bytes {max_bytes}, max_offset {max_offset}");
                }
            }
        }
        // The bytes are the appended batches, and nothing past the valid size.
        let all = seg.read(1000, usize::MAX, i64::MAX).unwrap().unwrap();
        assert_eq!(all.len as u64, seg.size());
        assert!(seg.read(next, usize::MAX, i64::MAX).unwrap().is_none(), "the unfinished batch is not served");
        let bytes = all.read().unwrap();
        let mut pos = 0;
        while pos < bytes.len() {
            let h = BatchHeader::parse(&bytes[pos..]).unwrap();
            assert!(batch::crc_is_valid(&bytes[pos..pos + h.size()]));
            pos += h.size();
        }
        // The other walks agree with the appended batches too.
        assert_eq!(seg.batches().unwrap().iter().map(|b| b.position).collect::<Vec<_>>(), batches.iter().map(|b| b.0).collect::<Vec<_>>());
        assert_eq!(seg.headers().unwrap().len(), batches.len());
    }
}

#[test]
fn a_read_always_returns_at_least_the_first_batch_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut seg = Segment::create(&crate::fs::os(), dir.path(), 0, 4096).unwrap();
    let big = append(&mut seg, 0, 5, 0, 100_000);
    let small = append(&mut seg, 5, 1, 0, 10);
    for offset in 0..5 {
        let slice = seg.read(offset, 0, i64::MAX).unwrap().unwrap();
        assert_eq!(slice.read().unwrap().as_ref(), big.as_slice(), "offset {offset}");
    }
    let both = seg.read(2, big.len() + small.len(), i64::MAX).unwrap().unwrap();
    assert_eq!(both.read().unwrap().as_ref(), [big.as_slice(), small.as_slice()].concat().as_slice());
    assert!(seg.read(0, usize::MAX, 0).unwrap().is_none(), "max_offset at the first batch: nothing");
}

#[test]
fn recovery_scans_a_segment_of_many_small_batches_and_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let mut seg = Segment::create(&crate::fs::os(), dir.path(), 0, 4096).unwrap();
    for i in 0..2000 {
        append(&mut seg, i, 1, i, (i % 37) as usize);
    }
    let size = seg.size();
    let torn = make_batch(2000, 1, 2000, 3000);
    seg.file.write_all_at(&torn[..torn.len() - 1], size).unwrap();
    drop(seg);
    for recover in [true, false] {
        let (seg, truncated) = Segment::open(&crate::fs::os(), dir.path(), 0, 4096, recover, SegmentFiles::ALL).unwrap();
        assert_eq!((seg.size(), seg.next_offset()), (size, 2000), "recover {recover}");
        assert_eq!(truncated, if recover { torn.len() as u64 - 1 } else { 0 });
        assert_eq!(seg.find_batch(1234).unwrap().unwrap().header.base_offset, 1234);
    }
}

/// What a segment tracks about its batches, to compare opens with.
fn tracked(seg: &Segment) -> (u64, i64, Option<(i64, i64)>, Option<i64>) {
    (seg.size(), seg.next_offset(), seg.max_timestamp(), seg.first_batch_timestamp())
}

#[test]
fn a_clean_open_learns_from_the_indexes_what_appending_tracked() {
    // Timestamps rising, falling, repeating, with the largest early, late or
    // in the tail past the last index entry; every index density.
    let mut seed = 7u64;
    let mut next = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as i64
    };
    let patterns: Vec<Vec<i64>> = vec![
        vec![5],
        vec![9, 3],
        (0..40).collect(),
        (0..40).rev().collect(),
        vec![7; 25],
        (0..60).map(|_| next() % 50).collect(),
        (0..60).map(|i| if i == 57 { 1_000 } else { i % 10 }).collect(),
        (0..60).map(|i| if i == 1 { 1_000 } else { i }).collect(),
    ];
    for (p, timestamps) in patterns.iter().enumerate() {
        for interval in [0, 150, 1_000, 1 << 30] {
            let dir = tempfile::tempdir().unwrap();
            let fs = crate::fs::os();
            let mut seg = Segment::create(&fs, dir.path(), 1_000, interval).unwrap();
            let mut base = 1_000;
            for (i, &ts) in timestamps.iter().enumerate() {
                let count = 1 + (i % 3) as i32;
                append(&mut seg, base, count, ts, 20 + (i * 7) % 90);
                base += i64::from(count);
            }
            seg.flush().unwrap();
            let expected = tracked(&seg);
            drop(seg);
            for recover in [false, true] {
                let (seg, truncated) = Segment::open(&fs, dir.path(), 1_000, interval, recover, SegmentFiles::ALL).unwrap();
                assert_eq!((tracked(&seg), truncated), (expected, 0), "pattern {p}, interval {interval}, recover {recover}");
                let max = expected.2.unwrap();
                assert_eq!(seg.find_by_timestamp(max.0).unwrap().unwrap().header.base_offset, max.1);
            }
        }
    }
}

#[test]
fn a_clean_open_reads_only_the_batches_after_the_last_index_entry() {
    let dir = tempfile::tempdir().unwrap();
    let fs = crate::fs::os();
    let mut seg = Segment::create(&fs, dir.path(), 0, 150).unwrap();
    let mut positions = Vec::new();
    for i in 0..30 {
        positions.push(seg.size());
        append(&mut seg, i, 1, 100 + i, 60);
    }
    seg.flush().unwrap();
    let expected = tracked(&seg);
    drop(seg);
    // A batch in the middle, neither the first nor an indexed one, made
    // unreadable: a clean open never looks at it, recovery truncates there.
    let mut bytes = std::fs::read(offset_file(dir.path(), 0, LOG_SUFFIX)).unwrap();
    let middle = positions[11] as usize;
    bytes[middle + 16] = 99; // the magic byte
    std::fs::write(offset_file(dir.path(), 0, LOG_SUFFIX), &bytes).unwrap();
    let (seg, truncated) = Segment::open(&fs, dir.path(), 0, 150, false, SegmentFiles::ALL).unwrap();
    assert_eq!((tracked(&seg), truncated), (expected, 0));
    drop(seg);
    let (seg, truncated) = Segment::open(&fs, dir.path(), 0, 150, true, SegmentFiles::ALL).unwrap();
    assert_eq!((seg.size(), seg.next_offset(), truncated), (middle as u64, 11, (bytes.len() - middle) as u64));
}

#[test]
fn indexes_that_do_not_match_the_file_make_a_clean_open_scan_it() {
    let build = |dir: &Path| {
        let mut seg = Segment::create(&crate::fs::os(), dir, 0, 150).unwrap();
        for i in 0..30 {
            append(&mut seg, i, 1, 100 + i, 60);
        }
        seg.flush().unwrap();
        tracked(&seg)
    };
    // The last offset entry one byte off its batch; the time index claiming a
    // timestamp no batch has; a time index that is empty.
    let damage: [&dyn Fn(&Path); 3] = [
        &|dir| {
            let path = offset_file(dir, 0, INDEX_SUFFIX);
            let mut index = std::fs::read(&path).unwrap();
            let at = index.len() - 1;
            index[at] += 1;
            std::fs::write(&path, index).unwrap();
        },
        &|dir| {
            let path = offset_file(dir, 0, TIME_INDEX_SUFFIX);
            let mut index = std::fs::read(&path).unwrap();
            let at = index.len() - 12;
            index[at..at + 8].copy_from_slice(&5_000i64.to_be_bytes());
            std::fs::write(&path, index).unwrap();
        },
        &|dir| std::fs::write(offset_file(dir, 0, TIME_INDEX_SUFFIX), []).unwrap(),
    ];
    for (i, damage) in damage.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let expected = build(dir.path());
        damage(dir.path());
        let (seg, truncated) = Segment::open(&crate::fs::os(), dir.path(), 0, 150, false, SegmentFiles::ALL).unwrap();
        assert_eq!((tracked(&seg), truncated), (expected, 0), "damage {i}");
        assert_eq!(seg.find_batch(29).unwrap().unwrap().header.base_offset, 29);
    }
}
