//! Request header parsing that never panics. The first 8 bytes of every
//! request header are fixed (api key, api version, correlation id) whatever its
//! version, so they are peeked before anything else is decoded.

/// The fixed leading fields of a request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderPrefix {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

/// Bytes of [`HeaderPrefix`] on the wire.
pub const HEADER_PREFIX_BYTES: usize = 8;

/// Reads the fixed header fields, or `None` if the frame is shorter than them.
pub fn peek_prefix(frame: &[u8]) -> Option<HeaderPrefix> {
    let b = frame.get(..HEADER_PREFIX_BYTES)?;
    Some(HeaderPrefix {
        api_key: i16::from_be_bytes([b[0], b[1]]),
        api_version: i16::from_be_bytes([b[2], b[3]]),
        correlation_id: i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
    })
}
