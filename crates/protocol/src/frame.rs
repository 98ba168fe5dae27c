//! Length-prefixed framing: every Kafka request and response is a 4-byte
//! big-endian size followed by that many bytes.

use bytes::{Buf, BytesMut};

/// Kafka's `socket.request.max.bytes` default: 100 MiB.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 100 * 1024 * 1024;

/// Bytes of the size prefix.
pub const SIZE_PREFIX_BYTES: usize = 4;

/// A size prefix the broker will not read a frame for. The connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("negative frame size {0}")]
    NegativeSize(i32),
    #[error("frame of {actual} bytes is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize, actual: usize },
}

/// If `buf` starts with a whole frame, splits it off and returns its body
/// (without the size prefix); `Ok(None)` means more bytes are needed.
/// Nothing is allocated from the size read: the caller's buffer only ever
/// holds bytes that really arrived.
pub fn split_frame(buf: &mut BytesMut, max_frame_bytes: usize) -> Result<Option<BytesMut>, FrameError> {
    let Some(prefix) = buf.get(..SIZE_PREFIX_BYTES) else {
        return Ok(None);
    };
    let size = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    let size = usize::try_from(size).map_err(|_| FrameError::NegativeSize(size))?;
    if size > max_frame_bytes {
        return Err(FrameError::TooLarge { limit: max_frame_bytes, actual: size });
    }
    if buf.len() < SIZE_PREFIX_BYTES + size {
        return Ok(None);
    }
    buf.advance(SIZE_PREFIX_BYTES);
    Ok(Some(buf.split_to(size)))
}
