//! Helpers for integration tests that run a real `strom` process.
//!
//! - [`process`]: find the `strom` binary (never build it), start it on a free
//!   port with a fresh data directory, wait until it answers, kill it on drop.
//! - [`client`]: a tiny blocking Kafka client over `std::net::TcpStream`, using
//!   `kafka-protocol`'s client-side encoders and decoders.
//! - [`bodies`]: valid request bodies for any API key and version, the seeds
//!   of the fuzz test.
//! - [`mutate`]: turns a valid request into a hostile one.
//! - [`probe`]: sends hostile frames, classifies what the broker did, reconnects.
//! - [`records`]: topics, idempotent produces, fetching whole partitions, group offsets.
//! - [`fuzz_targets`]: the bodies of the `cargo fuzz` targets in `fuzz/`.
//!
//! The tests run against an already built binary: `cargo build --release -p strom`
//! first (or `make test`, which does), or point `STROM_BIN` at one.

pub mod bodies;
pub mod client;
pub mod mutate;
pub mod probe;
pub mod records;
pub mod fuzz_targets;
pub mod process;

pub use client::KafkaConnection;
pub use process::StromProcess;
