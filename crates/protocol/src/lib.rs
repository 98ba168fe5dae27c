//! Kafka wire protocol for Strom, over the `kafka-protocol` crate.
//!
//! No I/O lives here: the broker hands in bytes it read and gets back requests,
//! and hands in responses and gets back bytes to write.
//!
//! - [`frame`]: length-prefixed framing with a maximum frame size.
//! - [`header`]: request header parsing that never panics.
//! - [`versions`]: the one table of supported API keys and version ranges.
//! - [`guard`]: a walk over the request body that bounds every element count by
//!   the bytes that remain, before `kafka-protocol` allocates anything.
//! - [`request`]: header + guard + decode + trailing-byte check.
//! - [`response`]: response encoding with the right header version.
//! - [`fetch_response`]: Fetch responses as parts for vectored writes, the
//!   records uncopied or left for the writer to send from their files
//!   (byte-identical to [`response`]'s encoding).
//!
//! As in Apache Kafka, a request that cannot be read (bad frame size, short
//! or invalid header, unknown api key, unserved version, refused or malformed
//! body) gets no answer: the broker closes the connection
//! ([`DecodeError`]). The one request always answered is ApiVersions, at any
//! version ([`request::Decoded::UnsupportedApiVersions`]).
//!
//! Nothing here may panic or allocate without bound on bytes from the
//! network; `tests/fuzz_decode.rs` feeds mutated frames of every advertised
//! API and version through framing and decoding to hold it to that.

pub mod error;
pub mod fetch_response;
pub mod frame;
pub mod guard;
pub mod header;
pub mod request;
pub mod response;
pub mod versions;

pub use error::{DecodeError, EncodeError};
pub use kafka_protocol;
