//! Buffers that Fetch reads go into, kept for the next read once their
//! response is written.
//!
//! A fetch reads up to a MiB per partition into a fresh allocation. glibc
//! serves allocations that size with mmap (or trims them off its heaps when
//! freed), so every fetch paid for page faults and the kernel zeroing new
//! pages: a quarter of the broker's CPU when serving consumers, and half its
//! throughput (docs/benchmarks.md, optimisation 8). A small pool of those
//! buffers, reused in place, makes the read a plain copy into memory already
//! mapped. Since fetched records go to plain-TCP sockets with sendfile(2)
//! (the broker's connection/transport.rs), the pool serves TLS listeners.

use std::sync::Mutex;

use bytes::Bytes;

/// Larger buffers are not kept (a client asking for huge partition fetches
/// gets them allocated each time, as before).
pub const MAX_POOLED_BUFFER_BYTES: usize = 8 * 1024 * 1024;
/// What the pool holds at most, across every buffer: memory kept after a
/// burst of fetches.
pub const MAX_POOLED_BYTES: usize = 32 * 1024 * 1024;
/// Smaller reads gain nothing from the pool: the allocator keeps small
/// blocks itself.
pub const MIN_POOLED_BUFFER_BYTES: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct BufferPool {
    free: Mutex<Free>,
}

#[derive(Debug, Default)]
struct Free {
    buffers: Vec<Vec<u8>>,
    /// Sum of the capacities in `buffers`.
    bytes: usize,
}

impl BufferPool {
    pub fn new() -> Self {
        Self::default()
    }

    /// A buffer for a read of `len` bytes: the most recently returned one
    /// (its memory is the likeliest to be in cache), or a new one. Its content
    /// is whatever it last held; `FileHandle::read_into_vec_at` reads over it.
    pub fn take(&self, len: usize) -> Vec<u8> {
        if len >= MIN_POOLED_BUFFER_BYTES {
            let mut free = self.lock();
            if let Some(buf) = free.buffers.pop() {
                free.bytes -= buf.capacity();
                return buf;
            }
        }
        Vec::new()
    }

    /// Keeps `buf` for a later [`Self::take`] if it is worth keeping and
    /// there is room; drops it otherwise.
    pub fn give(&self, buf: Vec<u8>) {
        let capacity = buf.capacity();
        if !(MIN_POOLED_BUFFER_BYTES..=MAX_POOLED_BUFFER_BYTES).contains(&capacity) {
            return;
        }
        let mut free = self.lock();
        if free.bytes + capacity <= MAX_POOLED_BYTES {
            free.bytes += capacity;
            free.buffers.push(buf);
        }
    }

    /// Gives the buffers of `parts` that nothing else holds back (records
    /// read by `FileSlice::read_pooled`, once written).
    pub fn recycle(&self, parts: impl IntoIterator<Item = Bytes>) {
        for part in parts {
            if part.len() < MIN_POOLED_BUFFER_BYTES {
                continue;
            }
            // Unique: the allocation itself comes back, uncopied.
            if let Ok(unique) = part.try_into_mut() {
                self.give(Vec::from(unique));
            }
        }
    }

    /// Buffers held now, and their bytes.
    pub fn held(&self) -> (usize, usize) {
        let free = self.lock();
        (free.buffers.len(), free.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Free> {
        self.free.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_is_handed_out_again() {
        let pool = BufferPool::new();
        let buf = vec![7u8; 100_000];
        let ptr = buf.as_ptr();
        pool.give(buf);
        assert_eq!(pool.held(), (1, 100_000));
        let again = pool.take(200_000);
        assert_eq!(again.as_ptr(), ptr);
        assert_eq!(pool.held(), (0, 0));
    }

    #[test]
    fn small_reads_and_small_or_huge_buffers_bypass_the_pool() {
        let pool = BufferPool::new();
        pool.give(vec![0; MIN_POOLED_BUFFER_BYTES - 1]);
        pool.give(Vec::with_capacity(MAX_POOLED_BUFFER_BYTES + 1));
        assert_eq!(pool.held(), (0, 0));
        pool.give(vec![0; MIN_POOLED_BUFFER_BYTES]);
        assert_eq!(pool.take(100).capacity(), 0, "a small read allocates its own");
        assert_eq!(pool.held().0, 1);
    }

    #[test]
    fn a_written_response_gives_its_unshared_read_buffers_back() {
        let pool = BufferPool::new();
        let read = vec![1u8; 300_000];
        let ptr = read.as_ptr();
        let shared = Bytes::from(vec![2u8; 300_000]);
        let kept = shared.clone();
        pool.recycle(vec![Bytes::from_static(b"header"), Bytes::from(read), shared]);
        assert_eq!(pool.held(), (1, 300_000), "only the buffer nothing else holds");
        let again = pool.take(300_000);
        assert_eq!(again.as_ptr(), ptr, "the same allocation");
        assert_eq!(again.len(), 300_000);
        drop(kept);
    }

    #[test]
    fn the_pool_holds_at_most_its_bound() {
        let pool = BufferPool::new();
        for _ in 0..100 {
            pool.give(Vec::with_capacity(1024 * 1024));
        }
        assert_eq!(pool.held(), (MAX_POOLED_BYTES / (1024 * 1024), MAX_POOLED_BYTES));
    }
}
