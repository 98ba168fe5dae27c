//! The key -> latest offset map of one cleaning pass, after Kafka's
//! `SkimpyOffsetMap`: keys are stored as 128-bit hashes (Kafka: MD5), so
//! memory per key is fixed whatever the key's size, and the map holds at most
//! a configured number of keys; a dirty section with more keys is cleaned in
//! several passes.
//!
//! The hash is SipHash keyed at random per map (two independent keys give 128
//! bits): a collision would make the cleaner drop a record, so it must be
//! neither likely nor something a producer can aim for.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// Most bytes one entry of a full map costs: 24 bytes of hash and offset and
/// one control byte per bucket, with buckets at most 8/7 times the capacity
/// rounded up to a power of two (so at most 2 x 8/7 x 25 = 57).
pub const BYTES_PER_ENTRY: usize = 57;

pub struct OffsetMap {
    entries: HashMap<u128, i64, BuildHasherDefault<PrehashedKey>>,
    max_entries: usize,
    hashers: (RandomState, RandomState),
    /// The last offset the map covers: every keyed record at or below it (from
    /// the pass's start) is in the map. -1 before anything was read.
    latest_offset: i64,
}

impl OffsetMap {
    /// A map holding at most `max_entries` keys (at least one, so that every
    /// pass makes progress), allocated once: it never grows, so its memory is
    /// known before the pass starts.
    pub fn new(max_entries: usize) -> Self {
        let max_entries = max_entries.max(1);
        Self {
            entries: HashMap::with_capacity_and_hasher(max_entries, BuildHasherDefault::default()),
            max_entries,
            hashers: (RandomState::new(), RandomState::new()),
            latest_offset: -1,
        }
    }

    /// Records `offset` as the latest for `key`. Returns false, changing
    /// nothing, when the key is new and the map is full.
    pub fn put(&mut self, key: &[u8], offset: i64) -> bool {
        let hash = self.hash(key);
        if self.entries.len() >= self.max_entries && !self.entries.contains_key(&hash) {
            return false;
        }
        self.entries.insert(hash, offset);
        self.latest_offset = self.latest_offset.max(offset);
        true
    }

    /// The latest offset of `key`, or -1 when the map does not know it.
    pub fn get(&self, key: &[u8]) -> i64 {
        self.entries.get(&self.hash(key)).copied().unwrap_or(-1)
    }

    /// Moves the covered range forward (a batch or segment read to its end).
    pub fn update_latest_offset(&mut self, offset: i64) {
        self.latest_offset = self.latest_offset.max(offset);
    }

    pub fn latest_offset(&self) -> i64 {
        self.latest_offset
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Share of the capacity in use (Kafka's buffer utilization).
    pub fn utilization(&self) -> f64 {
        self.entries.len() as f64 / self.max_entries as f64
    }

    fn hash(&self, key: &[u8]) -> u128 {
        let (a, b) = (self.hashers.0.hash_one(key), self.hashers.1.hash_one(key));
        (u128::from(a) << 64) | u128::from(b)
    }
}

/// The table's own hasher: keys already are uniform hashes, so their low
/// bits serve as is.
#[derive(Default)]
struct PrehashedKey(u64);

impl Hasher for PrehashedKey {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached through write_u128's default split; fold what comes.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_ne_bytes(word);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_offset_per_key_up_to_its_capacity() {
        let mut map = OffsetMap::new(2);
        assert_eq!((map.get(b"a"), map.latest_offset()), (-1, -1));
        assert!(map.put(b"a", 1));
        assert!(map.put(b"b", 2));
        assert!(map.put(b"a", 3), "a known key is updated when full");
        assert!(!map.put(b"c", 4), "a new key is refused when full");
        assert_eq!((map.get(b"a"), map.get(b"b"), map.get(b"c")), (3, 2, -1));
        assert_eq!(map.latest_offset(), 3);
        map.update_latest_offset(9);
        assert_eq!((map.latest_offset(), map.len()), (9, 2));
        assert!((map.utilization() - 1.0).abs() < f64::EPSILON);
        assert!(OffsetMap::new(0).put(b"x", 0), "capacity is at least one");
    }

    #[test]
    fn many_keys_do_not_collide() {
        let mut map = OffsetMap::new(100_000);
        for i in 0..100_000i64 {
            assert!(map.put(format!("key-{i}").as_bytes(), i));
        }
        assert_eq!(map.len(), 100_000);
        assert!((0..100_000i64).all(|i| map.get(format!("key-{i}").as_bytes()) == i));
    }
}
