//! Errors of the protocol crate. Each says enough for one log line.

use kafka_protocol::messages::ApiKey;

use crate::guard::GuardError;

/// Why a request frame could not be turned into a [`crate::request::Request`].
///
/// The broker answers none of these: it logs one line and closes the
/// connection, as Apache Kafka does. In Kafka, `RequestHeader.parse` throws
/// `InvalidRequestException` for a short header or an unknown api key,
/// `SocketServer.parseRequestHeader` throws it for a version outside the
/// enabled range (`ApiVersionManager.isApiEnabled`), and
/// `RequestContext.parseRequest` for a body it cannot parse; the processor's
/// `processChannelException` then closes the channel without a response.
///
/// The one exception is ApiVersions: `ApiKeys.isVersionEnabled` accepts any
/// ApiVersions version, and an unknown one is answered with a v0
/// UNSUPPORTED_VERSION response ([`crate::request::Decoded::UnsupportedApiVersions`]).
///
/// Bytes left after a request body are ignored, as Kafka ignores them: a real
/// client sends some (librdkafka 2.16, Metadata v13 with a null topic list).
/// They are cut off before decoding and never reach `kafka-protocol`.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("request frame of {len} bytes is too short for a request header")]
    TooShort { len: usize },
    #[error("unknown api key {api_key} (correlation id {correlation_id})")]
    UnknownApiKey { api_key: i16, correlation_id: i32 },
    /// The api key is known but Strom does not serve it at this version (or at all).
    #[error("{api_key:?} v{version} is not served (correlation id {correlation_id})")]
    UnsupportedVersion { api_key: ApiKey, version: i16, correlation_id: i32 },
    #[error("invalid request header for {api_key:?} v{version}: {reason}")]
    InvalidHeader { api_key: ApiKey, version: i16, reason: String },
    #[error("refused {api_key:?} v{version} body: {source}")]
    Refused {
        api_key: ApiKey,
        version: i16,
        #[source]
        source: GuardError,
    },
    #[error("malformed {api_key:?} v{version} body: {reason}")]
    Malformed { api_key: ApiKey, version: i16, reason: String },
    /// The guard and `kafka-protocol` disagree on where the body ends: a bug.
    #[error("{extra} bytes left after decoding {api_key:?} v{version} body")]
    TrailingBytes { api_key: ApiKey, version: i16, extra: usize },
}

/// Why a response could not be encoded (a broker bug, never client input).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode {api_key:?} v{version} response: {reason}")]
pub struct EncodeError {
    pub api_key: ApiKey,
    pub version: i16,
    pub reason: String,
}

/// An error of `kafka-protocol` (an `anyhow::Error`) as one line: its whole
/// context chain (`{:#}`), with the newline some of its messages end in
/// ("Not enough bytes remaining in buffer!\n") folded away.
pub(crate) fn one_line(e: impl std::fmt::Display) -> String {
    let text = format!("{e:#}");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_line_folds_newlines() {
        assert_eq!(super::one_line("Not enough bytes\n"), "Not enough bytes");
        assert_eq!(super::one_line("a:\n  b"), "a: b");
    }
}
