//! (Temporary minimal header parser so the lead's modules compile; the storage
//! helper's full version replaces this file.)

pub const HEADER_BYTES: usize = 61;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad batch: {0}")]
pub struct BatchError(pub String);

impl BatchHeader {
    pub fn parse(b: &[u8]) -> Result<Self, BatchError> {
        let b = b.get(..HEADER_BYTES).ok_or_else(|| BatchError("short".into()))?;
        let i64_at = |o: usize| i64::from_be_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
        let i32_at = |o: usize| i32::from_be_bytes(b[o..o + 4].try_into().unwrap_or([0; 4]));
        let i16_at = |o: usize| i16::from_be_bytes(b[o..o + 2].try_into().unwrap_or([0; 2]));
        let h = Self {
            base_offset: i64_at(0),
            batch_length: i32_at(8),
            partition_leader_epoch: i32_at(12),
            magic: b[16] as i8,
            crc: i32_at(17) as u32,
            attributes: i16_at(21),
            last_offset_delta: i32_at(23),
            base_timestamp: i64_at(27),
            max_timestamp: i64_at(35),
            producer_id: i64_at(43),
            producer_epoch: i16_at(51),
            base_sequence: i32_at(53),
            records_count: i32_at(57),
        };
        if h.magic != 2 || (h.batch_length as i64) < (HEADER_BYTES as i64 - 12) {
            return Err(BatchError("bad magic or length".into()));
        }
        Ok(h)
    }
    pub fn size(&self) -> usize {
        self.batch_length as usize + 12
    }
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }
}

pub fn crc_is_valid(batch: &[u8]) -> bool {
    batch.len() >= HEADER_BYTES
        && crc32c::crc32c(&batch[21..]) == u32::from_be_bytes([batch[17], batch[18], batch[19], batch[20]])
}

pub fn set_base_offset_stub(batch: &mut [u8], base_offset: i64) {
    if let Some(b) = batch.get_mut(..8) {
        b.copy_from_slice(&base_offset.to_be_bytes());
    }
}
