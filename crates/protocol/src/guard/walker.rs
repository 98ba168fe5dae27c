//! Walks a request body by its schema without allocating, refusing it unless
//! every array count and every string/bytes length is bounded by the bytes
//! that remain. It reads exactly what `kafka-protocol` 0.18 reads (including
//! its varint quirks and inline decoding of known tagged fields), so that a
//! body it accepts cannot drive the crate's `Vec::with_capacity(count)` to an
//! allocation larger than the body itself.

use super::dsl::{min_size, Field, Message, Ty};
use super::GuardError;

/// Walks `body` as `msg` at `version`; returns how many bytes the message
/// takes. Bytes after it are the caller's to handle.
pub(crate) fn walk(msg: &Message, version: i16, body: &[u8]) -> Result<usize, GuardError> {
    let mut r = Reader { buf: body, pos: 0 };
    let flexible = msg.is_flexible(version);
    r.fields(msg.fields, version, flexible)?;
    Ok(r.pos)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn malformed(&self, what: String) -> GuardError {
        GuardError::Malformed(format!("{what} at byte {}", self.pos))
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], GuardError> {
        if n > self.remaining() {
            return Err(self.malformed(format!(
                "{what}: needs {n} bytes, {} remain",
                self.remaining()
            )));
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.buf[start..self.pos])
    }

    fn i16(&mut self, what: &str) -> Result<i16, GuardError> {
        let b = self.take(2, what)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self, what: &str) -> Result<i32, GuardError> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Unsigned varint exactly as the crate reads it: at most five bytes, bits
    /// beyond 32 silently dropped, a continuation bit on the fifth byte ignored.
    fn uvarint(&mut self, what: &str) -> Result<u32, GuardError> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let b = u32::from(self.take(1, what)?[0]);
            value |= (b & 0x7f).wrapping_shl(i * 7);
            if b < 0x80 {
                break;
            }
        }
        Ok(value)
    }

    fn fields(&mut self, fields: &[Field], version: i16, flexible: bool) -> Result<(), GuardError> {
        for field in fields
            .iter()
            .filter(|fd| fd.tag.is_none() && fd.present_in(version))
        {
            self.value(field, version, flexible)?;
        }
        if flexible {
            self.tagged_section(fields, version)?;
        }
        Ok(())
    }

    /// Known tags are decoded inline by the crate without looking at the
    /// declared size, so their content must fill the size exactly; unknown tags
    /// are skipped by size.
    fn tagged_section(&mut self, fields: &[Field], version: i16) -> Result<(), GuardError> {
        let count = self.uvarint("tagged field count")?;
        for _ in 0..count {
            let tag = self.uvarint("tag")?;
            let size = self.uvarint("tagged field size")? as usize;
            if size > self.remaining() {
                return Err(
                    self.malformed(format!("tag {tag} size {size} exceeds remaining bytes"))
                );
            }
            match fields.iter().find(|fd| fd.tag == Some(tag)) {
                Some(field) if field.present_in(version) => {
                    let start = self.pos;
                    self.value(field, version, true)?;
                    if self.pos - start != size {
                        return Err(self.malformed(format!(
                            "tagged field {} declares {size} bytes but holds {}",
                            field.name,
                            self.pos - start
                        )));
                    }
                }
                // The crate refuses a known tag in a version that lacks it.
                Some(field) => {
                    return Err(self.malformed(format!(
                        "tagged field {} not valid in version {version}",
                        field.name
                    )))
                }
                None => {
                    self.take(size, "unknown tagged field")?;
                }
            }
        }
        Ok(())
    }

    fn value(&mut self, field: &Field, version: i16, flexible: bool) -> Result<(), GuardError> {
        self.typed(field.name, &field.ty, field.nullable, version, flexible)
    }

    fn typed(
        &mut self,
        name: &str,
        ty: &Ty,
        nullable: bool,
        version: i16,
        flexible: bool,
    ) -> Result<(), GuardError> {
        match ty {
            Ty::Bool | Ty::Int8 => self.take(1, name).map(drop),
            Ty::Int16 | Ty::Uint16 => self.take(2, name).map(drop),
            Ty::Int32 | Ty::Uint32 => self.take(4, name).map(drop),
            Ty::Int64 | Ty::Float64 => self.take(8, name).map(drop),
            Ty::Uuid => self.take(16, name).map(drop),
            Ty::String | Ty::Bytes => {
                if let Some(len) = self.length(name, ty, nullable, flexible)? {
                    self.take(len, name)?;
                }
                Ok(())
            }
            Ty::Struct(fields) => self.fields(fields, version, flexible),
            Ty::Array(elem) => {
                let Some(count) = self.length(name, ty, nullable, flexible)? else {
                    return Ok(());
                };
                let each = min_size(elem, version, flexible).max(1);
                if count.saturating_mul(each) > self.remaining() {
                    return Err(self.malformed(format!(
                        "{name}: {count} elements of at least {each} bytes, {} bytes remain",
                        self.remaining()
                    )));
                }
                for _ in 0..count {
                    self.typed(name, elem, false, version, flexible)?;
                }
                Ok(())
            }
        }
    }

    /// Reads a string/bytes/array length prefix: `None` for null. The
    /// non-compact width is 2 bytes for strings and 4 for bytes and arrays.
    fn length(
        &mut self,
        name: &str,
        ty: &Ty,
        nullable: bool,
        flexible: bool,
    ) -> Result<Option<usize>, GuardError> {
        let raw: i64 = if flexible {
            i64::from(self.uvarint(name)?) - 1
        } else if matches!(ty, Ty::String) {
            i64::from(self.i16(name)?)
        } else {
            i64::from(self.i32(name)?)
        };
        match raw {
            -1 if nullable => Ok(None),
            -1 => Err(self.malformed(format!("{name} is null but not nullable"))),
            n if n < 0 => Err(self.malformed(format!("{name} has negative length {n}"))),
            n => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        }
    }
}
