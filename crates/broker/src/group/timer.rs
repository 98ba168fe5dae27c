//! Keyed deadlines for the group coordinator, after the timer Kafka's
//! coordinator runtime gives its shards: scheduling a key again replaces its
//! deadline, cancelling removes it, and due entries pop in deadline order.
//! Pure data: the caller passes the time in.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

pub struct Timer<K, A> {
    /// Deadline and sequence number of each key, with what to do then.
    entries: HashMap<K, ((i64, u64), A)>,
    /// Keys by (deadline, sequence): the sequence keeps equal deadlines in
    /// scheduling order.
    queue: BTreeMap<(i64, u64), K>,
    next_seq: u64,
}

impl<K: Clone + Eq + Hash, A> Timer<K, A> {
    pub fn new() -> Self {
        Self { entries: HashMap::new(), queue: BTreeMap::new(), next_seq: 0 }
    }

    /// Runs `action` for `key` at `deadline_ms`, replacing any earlier schedule of `key`.
    pub fn schedule(&mut self, key: K, deadline_ms: i64, action: A) {
        self.cancel(&key);
        let at = (deadline_ms, self.next_seq);
        self.next_seq += 1;
        self.queue.insert(at, key.clone());
        self.entries.insert(key, (at, action));
    }

    pub fn cancel(&mut self, key: &K) {
        if let Some((at, _)) = self.entries.remove(key) {
            self.queue.remove(&at);
        }
    }

    pub fn contains(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    /// The earliest deadline, if any.
    pub fn next_deadline(&self) -> Option<i64> {
        self.queue.keys().next().map(|&(deadline, _)| deadline)
    }

    /// Removes and returns the earliest entry due at `now_ms`.
    pub fn pop_due(&mut self, now_ms: i64) -> Option<(K, A)> {
        let (&at, _) = self.queue.iter().next().filter(|(&(deadline, _), _)| deadline <= now_ms)?;
        let key = self.queue.remove(&at)?;
        let (_, action) = self.entries.remove(&key)?;
        Some((key, action))
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_entries_pop_in_deadline_order_and_rescheduling_replaces() {
        let mut timer: Timer<&str, u8> = Timer::new();
        timer.schedule("a", 30, 1);
        timer.schedule("b", 10, 2);
        timer.schedule("c", 10, 3);
        timer.schedule("a", 5, 4); // replaces a@30
        assert_eq!(timer.len(), 3);
        assert_eq!(timer.next_deadline(), Some(5));
        assert_eq!(timer.pop_due(4), None);
        assert_eq!(timer.pop_due(10), Some(("a", 4)));
        assert_eq!(timer.pop_due(10), Some(("b", 2)));
        timer.cancel(&"c");
        assert_eq!(timer.pop_due(100), None);
        assert_eq!(timer.next_deadline(), None);
        assert!(!timer.contains(&"a"));
    }
}
