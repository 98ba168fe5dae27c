//! The byte-level pieces of Kafka's internal-topic record formats, shared by
//! `__consumer_offsets` (group/records.rs) and `__transaction_state`
//! (txn/records.rs): partition choice by Java's String hash, big-endian
//! integers, i16-length strings, i32-length bytes, and a bounds-checked reader
//! for stored bytes that may be damaged.

use bytes::{BufMut, Bytes};

/// The internal-topic partition that holds `key`, as Kafka picks it:
/// `Utils.abs(key.hashCode()) % partitions`, with Java's String hash over
/// UTF-16 code units.
pub fn partition_for(key: &str, partitions: i32) -> i32 {
    let hash = key.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)));
    (hash & 0x7fff_ffff) % partitions.max(1)
}

pub fn put_string(out: &mut Vec<u8>, s: &str) {
    let len = s.len().min(i16::MAX as usize);
    out.put_i16(len as i16);
    out.put_slice(&s.as_bytes()[..len]);
}

pub fn put_nullable_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => put_string(out, s),
        None => out.put_i16(-1),
    }
}

pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.put_i32(i32::try_from(b.len()).unwrap_or(i32::MAX));
    out.put_slice(b);
}

/// What the reader found wrong; each record module wraps it in its own error.
#[derive(Debug)]
pub struct ReadError(pub String);

/// A bounds-checked reader: stored bytes may be damaged.
pub struct Reader<'a>(pub &'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], ReadError> {
        if self.0.len() < n {
            return Err(ReadError(format!("needs {n} more bytes, has {}", self.0.len())));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn i8(&mut self) -> Result<i8, ReadError> {
        Ok(i8::from_be_bytes(self.array()?))
    }

    pub fn i16(&mut self) -> Result<i16, ReadError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    pub fn i32(&mut self) -> Result<i32, ReadError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64, ReadError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub fn nullable_string(&mut self) -> Result<Option<String>, ReadError> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let raw = self.take(len as usize)?;
        String::from_utf8(raw.to_vec()).map(Some).map_err(|e| ReadError(e.to_string()))
    }

    /// A string; a null one reads as empty.
    pub fn string(&mut self) -> Result<String, ReadError> {
        Ok(self.nullable_string()?.unwrap_or_default())
    }

    /// Bytes; null reads as empty.
    pub fn bytes(&mut self) -> Result<Bytes, ReadError> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(Bytes::new());
        }
        Ok(Bytes::copy_from_slice(self.take(len as usize)?))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn values_round_trip_and_short_input_is_an_error() {
        let mut out = Vec::new();
        put_string(&mut out, "héllo");
        put_nullable_string(&mut out, None);
        put_bytes(&mut out, b"\x00\x01");
        out.put_i8(-3);
        out.put_i64(1 << 40);
        let mut r = Reader(&out);
        assert_eq!(r.string().unwrap(), "héllo");
        assert_eq!(r.nullable_string().unwrap(), None);
        assert_eq!(&r.bytes().unwrap()[..], b"\x00\x01");
        assert_eq!((r.i8().unwrap(), r.i64().unwrap()), (-3, 1 << 40));
        assert!(r.i16().unwrap_err().0.contains("needs 2 more bytes, has 0"));
        // A length beyond the input is an error, not an allocation.
        assert!(Reader(&[0x7f, 0xff, b'a']).string().is_err());
        assert!(Reader(&[0x7f, 0xff, 0xff, 0xff]).bytes().is_err());
    }
}
