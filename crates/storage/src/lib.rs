//! Strom's storage: partitioned, segmented, durable logs on local disk,
//! after Apache Kafka's storage internals.
//!
//! This crate knows nothing about networking or Kafka requests: callers hand
//! it record batches as bytes and get bytes back.
//!
//! - [`batch`]: the v2 record batch header, read and patched in place.
//! - [`validator`]: checks a produced batch and assigns its offsets (Kafka's `LogValidator`).
//! - [`producer_state`]: idempotent producer sequences and open transactions (Kafka's `ProducerStateManager`).
//! - [`control`]: transaction marker batches (Kafka's `EndTransactionMarker`).
//! - [`txn_index`]: aborted transactions per segment (Kafka's `TransactionIndex`).
//! - [`layout`]: file and directory names.
//! - [`index`]: sparse offset and time indexes (Kafka's `OffsetIndex`, `TimeIndex`).
//! - [`segment`]: one log file and its indexes (Kafka's `LogSegment`).
//! - [`log`]: one partition's segments: append, read, roll, flush, retention, recovery,
//!   transaction markers and the last stable offset.
//! - [`cleaner`]: log compaction (`cleanup.policy=compact`, Kafka's `LogCleaner`).
//! - [`manager`]: every partition log of a data directory, clean-shutdown marker.
//! - [`config`]: per-partition settings.
//! - [`fs`]: the file-system trait every file access goes through, with a fault-injecting one for tests.

pub mod batch;
pub mod buffer_pool;
pub mod cleaner;
pub mod config;
pub mod control;
pub mod error;
pub mod fs;
pub mod index;
pub mod layout;
pub mod log;
pub mod manager;
pub mod producer_state;
pub mod segment;
pub mod txn_index;
pub mod validator;
