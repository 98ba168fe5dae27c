//! Limits on what clients can make the broker hold, each from the config:
//!
//! - connections per client IP (`max_connections_per_ip`, Kafka's
//!   `max.connections.per.ip`): one host cannot take every connection slot
//!   (`max_connections` bounds the total in `server.rs`);
//! - request bytes held at once across all connections
//!   (`queued_max_request_bytes`, Kafka's `queued.max.request.bytes`): a
//!   connection reserves its frame's size before reading the frame's body and
//!   waits when the budget is spent, so a flood of large produces is slowed
//!   (backpressure) instead of buffered without bound. Per connection, one
//!   request is read and handled at a time (Kafka mutes a channel the same
//!   way), so a connection holds at most one frame plus one read chunk,
//!   except that Produce requests whose responses wait for an fsync keep
//!   their reservations until those responses are written while the
//!   connection goes on (at most `MAX_OWED` of them, `connection/owed.rs`);
//! - idleness (`connections_max_idle_ms`, Kafka's `connections.max.idle.ms`):
//!   a connection with no complete read or write for that long is closed, so
//!   clients that went away, send one byte a minute, or never read their
//!   responses give their slot and buffers back.
//!
//! Request sizes per API (`max_frame_bytes` for Produce,
//! `max_non_produce_request_bytes` for the rest, `max_request_bytes_per_api`
//! over both) are checked in `connection.rs` with [`Limits::max_request_bytes`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Config;

pub struct Limits {
    max_per_ip: usize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    request_bytes: Arc<Semaphore>,
    request_bytes_total: usize,
    pub idle: Duration,
    max_frame_bytes: usize,
    max_non_produce_request_bytes: usize,
    per_api: Vec<(i16, usize)>,
}

const PRODUCE_API_KEY: i16 = 0;

/// A connection counted against its IP until dropped.
pub struct IpSlot {
    limits: Arc<Limits>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut per_ip = self.limits.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

impl Limits {
    pub fn new(config: &Config) -> Arc<Self> {
        Arc::new(Self {
            max_per_ip: config.max_connections_per_ip,
            per_ip: Mutex::new(HashMap::new()),
            request_bytes: Arc::new(Semaphore::new(config.queued_max_request_bytes)),
            request_bytes_total: config.queued_max_request_bytes,
            idle: Duration::from_millis(config.connections_max_idle_ms),
            max_frame_bytes: config.max_frame_bytes,
            max_non_produce_request_bytes: config.max_non_produce_request_bytes,
            per_api: config.max_request_bytes_per_api.clone(),
        })
    }

    /// Counts a new connection from `ip`; `None` when that IP has its maximum.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        let count = per_ip.entry(ip).or_insert(0);
        if *count >= self.max_per_ip {
            return None;
        }
        *count += 1;
        Some(IpSlot { limits: Arc::clone(self), ip })
    }

    /// Waits until `bytes` of request may be held (a frame larger than the
    /// whole budget takes all of it), and holds them until the permit drops.
    pub async fn reserve(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        let wanted = u32::try_from(bytes.clamp(1, self.request_bytes_total)).unwrap_or(u32::MAX);
        Arc::clone(&self.request_bytes).acquire_many_owned(wanted).await.ok()
    }

    /// The largest request of `api_key` (`None`: a frame too short to say).
    pub fn max_request_bytes(&self, api_key: Option<i16>) -> usize {
        match api_key.and_then(|key| self.per_api.iter().find(|(k, _)| *k == key)) {
            Some(&(_, bytes)) => bytes,
            None if api_key == Some(PRODUCE_API_KEY) => self.max_frame_bytes,
            None => self.max_non_produce_request_bytes,
        }
    }

    /// Request bytes that may still be reserved without waiting.
    #[cfg(test)]
    pub fn request_bytes_available(&self) -> usize {
        self.request_bytes.available_permits()
    }
}

/// The size of the frame `buf` starts with, once its 4-byte prefix is in
/// (including the prefix); `None` before, or for a size the frame check refuses.
pub fn frame_size(buf: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    usize::try_from(i32::from_be_bytes(prefix)).ok().map(|n| n + 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Layers, Overrides};

    fn limits(per_ip: usize, queued: usize) -> Arc<Limits> {
        let flags = Overrides { max_connections_per_ip: Some(per_ip), queued_max_request_bytes: Some(queued), ..Overrides::default() };
        Limits::new(&Config::resolve(Layers { file: None, env: Overrides::default(), flags }).unwrap())
    }

    #[test]
    fn request_sizes_are_limited_per_api() {
        let flags = Overrides {
            max_non_produce_request_bytes: Some(8 << 20),
            max_request_bytes_per_api: Some("SyncGroup=16777216,Metadata=4096".into()),
            ..Overrides::default()
        };
        let limits = Limits::new(&Config::resolve(Layers { file: None, env: Overrides::default(), flags }).unwrap());
        assert_eq!(limits.max_request_bytes(Some(0)), 100 << 20, "Produce: max_frame_bytes");
        assert_eq!(limits.max_request_bytes(Some(1)), 8 << 20, "Fetch: max_non_produce_request_bytes");
        assert_eq!(limits.max_request_bytes(Some(14)), 16 << 20, "SyncGroup: its own");
        assert_eq!(limits.max_request_bytes(Some(3)), 4096, "Metadata: its own");
        assert_eq!(limits.max_request_bytes(None), 8 << 20);
    }

    #[test]
    fn each_ip_gets_its_share_of_connections() {
        let limits = limits(2, 1 << 20);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = limits.admit(a).unwrap();
        let _second = limits.admit(a).unwrap();
        assert!(limits.admit(a).is_none(), "a third from the same IP is refused");
        assert!(limits.admit(b).is_some(), "another IP is not affected");
        drop(first);
        assert!(limits.admit(a).is_some(), "a closed connection frees its slot");
    }

    #[test]
    fn request_bytes_wait_for_the_budget() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        runtime.block_on(async {
            let limits = limits(10, 1 << 20);
            let held = limits.reserve(800 << 10).await.unwrap();
            let waiting = tokio::time::timeout(Duration::from_millis(50), limits.reserve(300 << 10)).await;
            assert!(waiting.is_err(), "over the budget: the second request waits");
            drop(held);
            let big = limits.reserve(5 << 20).await.unwrap();
            assert_eq!(limits.request_bytes_available(), 0, "a frame above the budget takes all of it, and no more");
            drop(big);
            assert_eq!(limits.request_bytes_available(), 1 << 20);
        });
    }
}
