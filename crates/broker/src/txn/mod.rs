//! Transactions (KIP-98, transaction protocol v1): the transaction coordinator.
//!
//! - [`metadata`]: one transactional id's state and its two-phase transitions
//!   (Kafka's `TransactionMetadata`).
//! - [`records`]: that state as records of `__transaction_state`, in Kafka's
//!   own key/value formats.
//! - [`coordinator`]: the pure state machine of every transactional id. No
//!   I/O, no clock: time comes in as `now_ms`, log writes go through an
//!   `Effects` trait, markers to write go out as `MarkerJob`s, so every
//!   transition, timeout and restart is unit tested with a controllable clock.
//! - [`service`]: the async side: one lock, `__transaction_state` writes,
//!   markers written into the partition logs, timers, reload at startup.
//!
//! The partition-side half (markers, the last stable offset, aborted
//! transaction indexes, read_committed) is in `strom_storage`; transactional
//! offset commits in `crate::group`.

pub mod coordinator;
pub mod metadata;
pub mod records;
pub mod service;
