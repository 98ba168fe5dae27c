//! Placeholder: batches of __consumer_offsets (builder and reader from storage).
#![allow(dead_code, unused_variables)]
use strom_storage::log::PartitionLog;
pub fn encode(records: &[(Vec<u8>, Option<Vec<u8>>)], now_ms: i64) -> Vec<u8> { Vec::new() }
pub fn replay(log: &PartitionLog, apply: impl FnMut(&[u8], Option<&[u8]>)) -> Result<(), String> { Ok(()) }
