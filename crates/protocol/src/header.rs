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

#[cfg(test)]
mod tests {
    use super::*;

    const BYTES: [u8; 9] = [0x00, 0x12, 0x00, 0x03, 0x7f, 0xff, 0xff, 0xfe, 0xaa];

    #[test]
    fn shorter_than_eight_bytes_is_none() {
        for len in 0..HEADER_PREFIX_BYTES {
            assert_eq!(peek_prefix(&BYTES[..len]), None, "{len} bytes");
        }
    }

    #[test]
    fn eight_bytes_or_more_give_the_fixed_fields() {
        let expected = HeaderPrefix { api_key: 18, api_version: 3, correlation_id: 0x7fff_fffe };
        assert_eq!(peek_prefix(&BYTES[..8]), Some(expected));
        assert_eq!(peek_prefix(&BYTES), Some(expected), "later bytes are not looked at");
    }

    #[test]
    fn fields_are_signed() {
        let prefix = peek_prefix(&[0xff; 8]);
        assert_eq!(prefix, Some(HeaderPrefix { api_key: -1, api_version: -1, correlation_id: -1 }));
    }
}
