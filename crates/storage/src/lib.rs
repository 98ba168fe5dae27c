//! Strom's storage: partitioned, segmented, durable logs on local disk.
//!
//! This crate knows nothing about networking or Kafka requests. For now it
//! owns the partition directory layout; segments, indexes, recovery and
//! retention arrive with the storage issue.

pub mod layout;
