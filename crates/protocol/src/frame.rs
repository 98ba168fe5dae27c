//! Length-prefixed framing: every Kafka request and response is a 4-byte
//! big-endian size followed by that many bytes.
//!
//! Same rules as Kafka's `NetworkReceive.readFrom`: a negative size or one
//! above `socket.request.max.bytes` is refused (`InvalidReceiveException`, the
//! connection is closed); a size equal to the limit is fine; a zero size is a
//! frame too (its header then fails to parse).

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use bytes::BufMut;

    use super::*;

    fn framed(bodies: &[&[u8]]) -> BytesMut {
        let mut buf = BytesMut::new();
        for body in bodies {
            buf.put_i32(body.len() as i32);
            buf.put_slice(body);
        }
        buf
    }

    #[test]
    fn partial_prefix_needs_more() {
        for len in 0..SIZE_PREFIX_BYTES {
            let mut buf = BytesMut::from(&[0u8, 0, 0, 5][..len]);
            assert_eq!(split_frame(&mut buf, 100), Ok(None));
            assert_eq!(buf.len(), len, "nothing consumed");
        }
    }

    #[test]
    fn partial_body_needs_more_and_consumes_nothing() {
        let whole = framed(&[b"hello"]);
        for len in SIZE_PREFIX_BYTES..whole.len() {
            let mut buf = BytesMut::from(&whole[..len]);
            assert_eq!(split_frame(&mut buf, 100), Ok(None), "{len} bytes");
            assert_eq!(&buf[..], &whole[..len]);
        }
    }

    #[test]
    fn exact_frame_is_split_off() {
        let mut buf = framed(&[b"hello"]);
        assert_eq!(split_frame(&mut buf, 100).unwrap().as_deref(), Some(&b"hello"[..]));
        assert!(buf.is_empty());
        assert_eq!(split_frame(&mut buf, 100), Ok(None));
    }

    #[test]
    fn several_frames_in_one_buffer_come_out_in_order() {
        let mut buf = framed(&[b"one", b"", b"three"]);
        buf.put_slice(&[0, 0]); // start of a fourth prefix
        assert_eq!(split_frame(&mut buf, 100).unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(split_frame(&mut buf, 100).unwrap().as_deref(), Some(&b""[..]));
        assert_eq!(split_frame(&mut buf, 100).unwrap().as_deref(), Some(&b"three"[..]));
        assert_eq!(split_frame(&mut buf, 100), Ok(None));
        assert_eq!(&buf[..], &[0, 0]);
    }

    #[test]
    fn zero_size_frame_is_an_empty_body() {
        let mut buf = framed(&[b""]);
        assert_eq!(split_frame(&mut buf, 100).unwrap().as_deref(), Some(&b""[..]));
        assert!(buf.is_empty());
    }

    #[test]
    fn negative_size_is_refused() {
        for size in [-1, i32::MIN] {
            let mut buf = BytesMut::from(&size.to_be_bytes()[..]);
            assert_eq!(split_frame(&mut buf, 100), Err(FrameError::NegativeSize(size)));
        }
    }

    #[test]
    fn size_over_the_limit_is_refused_before_the_body_arrives() {
        let mut buf = BytesMut::from(&101i32.to_be_bytes()[..]);
        assert_eq!(split_frame(&mut buf, 100), Err(FrameError::TooLarge { limit: 100, actual: 101 }));
        let mut buf = BytesMut::from(&i32::MAX.to_be_bytes()[..]);
        let err = split_frame(&mut buf, DEFAULT_MAX_FRAME_BYTES).unwrap_err();
        assert_eq!(err, FrameError::TooLarge { limit: DEFAULT_MAX_FRAME_BYTES, actual: i32::MAX as usize });
    }

    #[test]
    fn size_exactly_the_limit_is_accepted() {
        let body = vec![7u8; 100];
        let mut buf = framed(&[&body]);
        assert_eq!(split_frame(&mut buf, 100).unwrap().as_deref(), Some(&body[..]));
        let mut buf = framed(&[&body]);
        buf.truncate(50);
        assert_eq!(split_frame(&mut buf, 100), Ok(None), "limit-sized frame still arriving");
    }

    #[test]
    fn limit_of_zero_accepts_only_empty_frames() {
        assert_eq!(split_frame(&mut framed(&[b""]), 0).unwrap().as_deref(), Some(&b""[..]));
        assert_eq!(split_frame(&mut framed(&[b"x"]), 0), Err(FrameError::TooLarge { limit: 0, actual: 1 }));
    }
}
