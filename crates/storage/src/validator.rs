//! (Temporary stub matching the storage helper's API; replaced on merge.)
use crate::batch::{set_base_offset_stub, BatchHeader};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType { CreateTime, LogAppendTime }

#[derive(Debug, Clone)]
pub struct ValidationConfig {
    pub max_message_bytes: usize,
    pub compacted: bool,
    pub timestamp_type: TimestampType,
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
}

#[derive(Debug, Clone)]
pub struct ValidatedBatch {
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub log_append_time: Option<i64>,
    pub record_count: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub is_transactional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid batch: {0}")]
pub struct ValidationError(pub String);

impl ValidationError {
    pub fn kafka_error_code(&self) -> i16 { 87 }
}

pub fn validate_and_assign(records: &mut [u8], next_offset: i64, _leader_epoch: i32, _now_ms: i64, _cfg: &ValidationConfig) -> Result<ValidatedBatch, ValidationError> {
    let h = BatchHeader::parse(records).map_err(|e| ValidationError(e.to_string()))?;
    set_base_offset_stub(records, next_offset);
    Ok(ValidatedBatch { base_offset: next_offset, last_offset: next_offset + h.last_offset_delta as i64, max_timestamp: h.max_timestamp, log_append_time: None, record_count: h.records_count, producer_id: h.producer_id, producer_epoch: h.producer_epoch, base_sequence: h.base_sequence, is_transactional: false })
}
