//! The schema language the guard walks: a compact, const description of each
//! request message (fields, types, the versions they exist in, nullability and
//! tags), transcribed from `kafka-protocol`'s generated decoders so that the walk
//! consumes exactly the bytes the crate will consume.

/// Open upper bound of a version range.
pub(crate) const MAX: i16 = i16::MAX;

/// One request message: the versions the crate decodes and where the flexible
/// (compact lengths + tagged fields) encoding begins.
#[derive(Debug)]
pub(crate) struct Message {
    pub versions: (i16, i16),
    pub flexible_from: Option<i16>,
    pub fields: &'static [Field],
}

impl Message {
    pub(crate) fn supports(&self, version: i16) -> bool {
        self.versions.0 <= version && version <= self.versions.1
    }
    pub(crate) fn is_flexible(&self, version: i16) -> bool {
        self.flexible_from.is_some_and(|f| version >= f)
    }
}

/// Wire types. Strings, bytes and arrays switch to their compact forms in
/// flexible versions; structs then end with a tagged-field section.
#[derive(Debug)]
pub(crate) enum Ty {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    // Not used by any covered request yet; kept so schemas of further APIs
    // (e.g. AlterClientQuotas) can be written without touching the walker.
    #[allow(dead_code)]
    Uint16,
    #[allow(dead_code)]
    Uint32,
    #[allow(dead_code)]
    Float64,
    Uuid,
    String,
    /// Also the type of record batches (`records`), which the crate keeps as bytes.
    Bytes,
    Array(&'static Ty),
    Struct(&'static [Field]),
}

#[derive(Debug)]
pub(crate) struct Field {
    pub name: &'static str,
    pub ty: Ty,
    /// Inclusive version range in which the field is on the wire.
    pub min: i16,
    pub max: i16,
    /// Null (-1 / 0 length) is accepted. The crate's nullability is per field,
    /// not per version (an `Option` in every version), so it is one flag here.
    pub nullable: bool,
    /// `Some(tag)` for a tagged field: it lives in the tagged section of
    /// flexible versions, not in the positional sequence.
    pub tag: Option<u32>,
}

/// A positional field present in every version of its message.
pub(crate) const fn f(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        min: 0,
        max: MAX,
        nullable: false,
        tag: None,
    }
}

impl Field {
    pub(crate) const fn since(self, min: i16) -> Self {
        Field { min, ..self }
    }
    pub(crate) const fn until(self, max: i16) -> Self {
        Field { max, ..self }
    }
    pub(crate) const fn versions(self, min: i16, max: i16) -> Self {
        Field { min, max, ..self }
    }
    pub(crate) const fn nullable(self) -> Self {
        Field {
            nullable: true,
            ..self
        }
    }
    pub(crate) const fn tag(self, tag: u32) -> Self {
        Field {
            tag: Some(tag),
            ..self
        }
    }
    pub(crate) fn present_in(&self, version: i16) -> bool {
        self.min <= version && version <= self.max
    }
}

/// Fewest bytes a value of `ty` can take on the wire. Array counts are bounded
/// by `remaining / max(min_size(element), 1)`.
pub(crate) fn min_size(ty: &Ty, version: i16, flexible: bool) -> usize {
    match ty {
        Ty::Bool | Ty::Int8 => 1,
        Ty::Int16 | Ty::Uint16 => 2,
        Ty::Int32 | Ty::Uint32 => 4,
        Ty::Int64 | Ty::Float64 => 8,
        Ty::Uuid => 16,
        // Compact forms start with a varint of at least one byte.
        Ty::String if flexible => 1,
        Ty::String => 2,
        Ty::Bytes | Ty::Array(_) if flexible => 1,
        Ty::Bytes | Ty::Array(_) => 4,
        Ty::Struct(fields) => {
            let positional: usize = fields
                .iter()
                .filter(|fd| fd.tag.is_none() && fd.present_in(version))
                .map(|fd| min_size(&fd.ty, version, flexible))
                .sum();
            positional + usize::from(flexible)
        }
    }
}
