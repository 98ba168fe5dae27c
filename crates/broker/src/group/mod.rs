//! Consumer groups: Kafka's classic group protocol (JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup), committed offsets, and group admin.
//!
//! - [`classic`]: one group and its members (Kafka's `ClassicGroup`).
//! - [`timer`]: keyed deadlines.
//! - [`coordinator`]: the pure state machine of every group this broker
//!   coordinates. No I/O, no clock: time comes in as `now_ms`, deferred
//!   answers go out as [`coordinator::Output`]s, so every transition is unit
//!   tested with a controllable clock.
//! - `txn_offsets` (inside `coordinator`): offsets committed inside
//!   transactions, pending until the transaction's marker (TxnOffsetCommit).
//! - [`snapshot`]: what is persisted of a group and its offsets.
//! - [`records`]: those snapshots as records of `__consumer_offsets`, in
//!   Kafka's own key/value formats.
//! - [`service`]: the async side: one lock around the coordinator, timers,
//!   writes to `__consumer_offsets`, reload at startup.

mod classic;
pub mod coordinator;
pub(crate) mod offsets_log;
pub mod records;
pub mod service;
pub mod snapshot;
pub(crate) mod timer;
