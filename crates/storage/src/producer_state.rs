//! (Temporary stub matching the storage helper's API; replaced on merge.)
use crate::batch::BatchHeader;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SequenceCheck { Append, Duplicate { base_offset: i64, last_offset: i64 } }

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("producer state: {0}")]
pub struct ProducerStateError(pub String);
impl ProducerStateError { pub fn kafka_error_code(&self) -> i16 { 45 } }

#[derive(Debug, Default, Clone)]
pub struct ProducerStateManager;
impl ProducerStateManager {
    pub fn new() -> Self { Self }
    pub fn check(&self, _h: &BatchHeader) -> Result<SequenceCheck, ProducerStateError> { Ok(SequenceCheck::Append) }
    pub fn record(&mut self, _h: &BatchHeader, _append_time_ms: i64) {}
    pub fn truncate_to(&mut self, _leo: i64) {}
    pub fn snapshot(&self, _up_to: i64) -> Vec<u8> { Vec::new() }
    pub fn from_snapshot(_b: &[u8]) -> Result<(Self, i64), ProducerStateError> { Ok((Self, 0)) }
}
