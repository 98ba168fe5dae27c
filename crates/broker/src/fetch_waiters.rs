//! Long-polling fetches waiting for data, by partition: Kafka's DelayedFetch
//! purgatory keyed by `TopicPartitionOperationKey`. A fetch registers one
//! waiter on every partition it reads, *before* it reads them; whatever moves
//! a partition's log end offset (or takes it away) wakes only that
//! partition's waiters. So an append wakes the fetches that asked for its
//! partition, not every idle consumer of the broker.
//!
//! No lost wakeups: a wake stores a permit in the waiter's `Notify`
//! (`notify_one`), so a wake that lands between the fetch's read and its
//! wait makes the wait return at once. Bounded: a partition has an entry only
//! while some fetch waits on it; the last waiter to leave removes it (also
//! when its future is dropped, e.g. a connection closing). At shutdown
//! [`FetchWaiters::close`] wakes every waiter, and later waits return at once,
//! so connections finish their long polls promptly.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// Waiters of one partition, by registration id.
type Waiters = HashMap<u64, Arc<Notify>>;

#[derive(Default)]
pub struct FetchWaiters {
    inner: Mutex<Inner>,
    closed: AtomicBool,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    /// topic -> partition -> waiters; empty maps are removed.
    topics: HashMap<String, HashMap<i32, Waiters>>,
}

/// One fetch's place in the registry; leaves it when dropped.
pub struct Registration<'a> {
    registry: &'a FetchWaiters,
    id: u64,
    notify: Arc<Notify>,
    partitions: Vec<(String, i32)>,
}

/// Why [`Registration::wait_until`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// A partition waited on changed (or a spurious permit): read again.
    Changed,
    /// The deadline passed.
    Deadline,
    /// The broker is shutting down: answer now.
    Closing,
}

impl FetchWaiters {
    /// Registers a waiter on `partitions` (duplicates are fine). Register
    /// before reading the partitions, then read, then wait.
    pub fn register(&self, partitions: impl IntoIterator<Item = (String, i32)>) -> Registration<'_> {
        let mut partitions: Vec<(String, i32)> = partitions.into_iter().collect();
        partitions.sort_unstable();
        partitions.dedup();
        let notify = Arc::new(Notify::new());
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id = id.wrapping_add(1);
        for (topic, partition) in &partitions {
            let waiters = match inner.topics.get_mut(topic.as_str()) {
                Some(by_partition) => by_partition.entry(*partition).or_default(),
                None => inner.topics.entry(topic.clone()).or_default().entry(*partition).or_default(),
            };
            waiters.insert(id, Arc::clone(&notify));
        }
        drop(inner);
        Registration { registry: self, id, notify, partitions }
    }

    /// Wakes the fetches waiting on `topic`-`partition` (its log end offset
    /// moved, or it went away or offline).
    pub fn wake(&self, topic: &str, partition: i32) {
        self.wake_all([(topic, partition)]);
    }

    /// [`Self::wake`] for several partitions, under one lock.
    pub fn wake_all<'t>(&self, partitions: impl IntoIterator<Item = (&'t str, i32)>) {
        let inner = self.lock();
        if inner.topics.is_empty() {
            return;
        }
        for (topic, partition) in partitions {
            let waiters = inner.topics.get(topic).and_then(|by_partition| by_partition.get(&partition));
            for notify in waiters.into_iter().flat_map(|w| w.values()) {
                notify.notify_one();
            }
        }
    }

    /// Shutdown: wakes every waiter; waits from now on return [`Woken::Closing`] at once.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let inner = self.lock();
        for notify in inner.topics.values().flat_map(|p| p.values()).flat_map(|w| w.values()) {
            notify.notify_one();
        }
    }

    /// Partitions with at least one waiter (what the registry holds).
    #[cfg(test)]
    pub fn partitions_waited_on(&self) -> usize {
        self.lock().topics.values().map(HashMap::len).sum()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Never held across an await or a panic-prone call; a poisoned lock
        // still holds consistent maps (every update is a single insert/remove).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Registration<'_> {
    /// Waits until a partition of this registration is woken, `deadline`
    /// passes, or the broker shuts down. A wake since the last wait (even one
    /// before it started) returns at once.
    pub async fn wait_until(&self, deadline: tokio::time::Instant) -> Woken {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        // Take the permit of a wake that came before the closed check (close
        // sets the flag first, then wakes).
        notified.as_mut().enable();
        if self.registry.closed.load(Ordering::SeqCst) {
            return Woken::Closing;
        }
        match tokio::time::timeout_at(deadline, notified).await {
            Ok(()) if self.registry.closed.load(Ordering::SeqCst) => Woken::Closing,
            Ok(()) => Woken::Changed,
            Err(_) => Woken::Deadline,
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut inner = self.registry.lock();
        for (topic, partition) in &self.partitions {
            let Some(by_partition) = inner.topics.get_mut(topic.as_str()) else { continue };
            if let Some(waiters) = by_partition.get_mut(partition) {
                waiters.remove(&self.id);
                if waiters.is_empty() {
                    by_partition.remove(partition);
                }
            }
            if by_partition.is_empty() {
                inner.topics.remove(topic.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests;
