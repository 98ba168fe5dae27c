//! Schema-driven generator of valid request bodies, for the guard's own tests
//! and for fuzzing elsewhere. Deterministic per seed (a tiny splitmix64, so no
//! `rand` dependency outside tests). Bodies use populated arrays, nulls where
//! nullable, ASCII strings and, in flexible versions, sometimes the known
//! tagged fields (always with non-default values, because the crate omits
//! default-valued tagged fields when re-encoding) and unknown tags numbered
//! above every known one (the crate writes unknown tags after known ones).

use super::dsl::{Field, Message, Ty};

pub(crate) fn generate(msg: &Message, version: i16, seed: u64) -> Vec<u8> {
    let mut g = Gen {
        state: seed ^ 0x5eed_0f57_a0a0,
        out: Vec::new(),
    };
    g.fields(msg.fields, version, msg.is_flexible(version), 0);
    g.out
}

struct Gen {
    state: u64,
    out: Vec<u8>,
}

/// First tag number used for unknown tagged fields in samples.
const UNKNOWN_TAG_BASE: u32 = 100;

impl Gen {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn uvarint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn fields(&mut self, fields: &[Field], version: i16, flexible: bool, depth: u32) {
        for field in fields
            .iter()
            .filter(|fd| fd.tag.is_none() && fd.present_in(version))
        {
            self.typed(&field.ty, field.nullable, version, flexible, depth);
        }
        if flexible {
            self.tagged_section(fields, version, depth);
        }
    }

    fn tagged_section(&mut self, fields: &[Field], version: i16, depth: u32) {
        let mut chosen: Vec<&Field> = fields
            .iter()
            .filter(|fd| fd.tag.is_some() && fd.present_in(version))
            .filter(|_| self.below(2) == 0)
            .collect();
        chosen.sort_by_key(|fd| fd.tag);
        let unknown = if self.below(4) == 0 {
            self.below(3) as u32
        } else {
            0
        };
        self.uvarint(chosen.len() as u32 + unknown);
        for field in chosen {
            // Encode the value apart to learn its size; never null (null is
            // the default of every nullable tagged field).
            let mut inner = Gen {
                state: self.next(),
                out: Vec::new(),
            };
            inner.typed(&field.ty, false, version, true, depth + 1);
            self.uvarint(field.tag.unwrap_or_default());
            self.uvarint(inner.out.len() as u32);
            self.out.extend_from_slice(&inner.out);
        }
        for k in 0..unknown {
            let len = self.below(5) as usize;
            self.uvarint(UNKNOWN_TAG_BASE + k);
            self.uvarint(len as u32);
            for _ in 0..len {
                let b = self.next() as u8;
                self.out.push(b);
            }
        }
    }

    fn typed(&mut self, ty: &Ty, nullable: bool, version: i16, flexible: bool, depth: u32) {
        let null = nullable && self.below(5) == 0;
        match ty {
            Ty::Bool => {
                let b = self.below(2) as u8;
                self.out.push(b);
            }
            Ty::Int8 => self.bytes(1),
            Ty::Int16 | Ty::Uint16 => self.bytes(2),
            Ty::Int32 | Ty::Uint32 => self.bytes(4),
            Ty::Int64 => self.bytes(8),
            // A small integral value: exact through decode and re-encode.
            Ty::Float64 => {
                let v = self.below(1000) as f64;
                self.out.extend_from_slice(&v.to_be_bytes());
            }
            Ty::Uuid => self.bytes(16),
            Ty::String | Ty::Bytes | Ty::Array(_) if null => self.length(ty, None, flexible),
            Ty::String => {
                // Non-empty, so a tagged string is never mistaken for a default "".
                let len = 1 + self.below(8) as usize;
                self.length(ty, Some(len), flexible);
                for _ in 0..len {
                    let c = b'a' + self.below(26) as u8;
                    self.out.push(c);
                }
            }
            Ty::Bytes => {
                let len = self.below(9) as usize;
                self.length(ty, Some(len), flexible);
                self.bytes(len);
            }
            Ty::Array(elem) => {
                let count = self.below(if depth >= 2 { 3 } else { 4 }) as usize;
                self.length(ty, Some(count), flexible);
                for _ in 0..count {
                    self.typed(elem, false, version, flexible, depth + 1);
                }
            }
            Ty::Struct(fields) => self.fields(fields, version, flexible, depth),
        }
    }

    fn bytes(&mut self, n: usize) {
        for _ in 0..n {
            let b = self.next() as u8;
            self.out.push(b);
        }
    }

    fn length(&mut self, ty: &Ty, len: Option<usize>, flexible: bool) {
        let len = len.map(|n| n as i64).unwrap_or(-1);
        if flexible {
            self.uvarint((len + 1) as u32);
        } else if matches!(ty, Ty::String) {
            self.out.extend_from_slice(&(len as i16).to_be_bytes());
        } else {
            self.out.extend_from_slice(&(len as i32).to_be_bytes());
        }
    }
}
