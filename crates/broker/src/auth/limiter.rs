//! Failed-authentication rate limiting per client address. Kafka only delays
//! the answer to a failed login (`connection.failed.authentication.delay.ms`);
//! Strom does that too, and on top refuses, without checking the password,
//! further logins from an address that failed too often in the last minute,
//! so a password cannot be guessed quickly from one address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at once; beyond it, expired entries are dropped and new
/// addresses go untracked, so the table cannot grow without bound.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

pub struct FailedLogins {
    max_per_window: u32,
    addresses: Mutex<HashMap<IpAddr, Window>>,
}

struct Window {
    started: Instant,
    failures: u32,
}

impl FailedLogins {
    /// `max_per_window` 0 turns the limit off.
    pub fn new(max_per_window: u32) -> Self {
        Self { max_per_window, addresses: Mutex::new(HashMap::new()) }
    }

    /// Whether logins from `ip` are refused right now.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> bool {
        if self.max_per_window == 0 {
            return false;
        }
        let addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
        addresses.get(&ip).is_some_and(|w| now.duration_since(w.started) < WINDOW && w.failures >= self.max_per_window)
    }

    /// Counts a failure; true when this one reached the limit (log it once).
    pub fn record_failure(&self, ip: IpAddr, now: Instant) -> bool {
        if self.max_per_window == 0 {
            return false;
        }
        let mut addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
        if addresses.len() >= MAX_TRACKED_ADDRESSES && !addresses.contains_key(&ip) {
            addresses.retain(|_, w| now.duration_since(w.started) < WINDOW);
            if addresses.len() >= MAX_TRACKED_ADDRESSES {
                return false;
            }
        }
        let window = addresses.entry(ip).or_insert(Window { started: now, failures: 0 });
        if now.duration_since(window.started) >= WINDOW {
            *window = Window { started: now, failures: 0 };
        }
        window.failures = window.failures.saturating_add(1);
        window.failures == self.max_per_window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_the_limit_until_the_window_ends() {
        let limiter = FailedLogins::new(3);
        let (ip, other): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        let t0 = Instant::now();
        assert!(!limiter.record_failure(ip, t0));
        assert!(!limiter.record_failure(ip, t0));
        assert!(!limiter.blocked(ip, t0));
        assert!(limiter.record_failure(ip, t0), "the third failure reaches the limit");
        assert!(limiter.blocked(ip, t0));
        assert!(!limiter.blocked(other, t0));
        assert!(!limiter.record_failure(ip, t0), "reported once per window");
        assert!(!limiter.blocked(ip, t0 + WINDOW));
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = FailedLogins::new(0);
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..10 {
            limiter.record_failure(ip, Instant::now());
        }
        assert!(!limiter.blocked(ip, Instant::now()));
    }
}
