//! The error codes of a response, for the errors metric: each partition's,
//! topic's or request's code, as Kafka's `AbstractResponse.errorCounts()`
//! gathers them. APIs not listed count requests but no errors.

use kafka_protocol::messages::{FetchResponse, ResponseKind};

/// Every error code in `response` (0 included).
pub fn error_codes(response: &ResponseKind) -> Vec<i16> {
    match response {
        ResponseKind::Produce(r) => r.responses.iter().flat_map(|t| t.partition_responses.iter().map(|p| p.error_code)).collect(),
        ResponseKind::Fetch(r) => fetch_error_codes(r),
        ResponseKind::ListOffsets(r) => r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)).collect(),
        ResponseKind::Metadata(r) => r.topics.iter().map(|t| t.error_code).collect(),
        ResponseKind::CreateTopics(r) => r.topics.iter().map(|t| t.error_code).collect(),
        ResponseKind::DeleteTopics(r) => r.responses.iter().map(|t| t.error_code).collect(),
        ResponseKind::OffsetCommit(r) => r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)).collect(),
        ResponseKind::OffsetFetch(r) => std::iter::once(r.error_code)
            .chain(r.topics.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code)))
            .chain(r.groups.iter().map(|g| g.error_code))
            .collect(),
        ResponseKind::ApiVersions(r) => vec![r.error_code],
        ResponseKind::FindCoordinator(r) => std::iter::once(r.error_code).chain(r.coordinators.iter().map(|c| c.error_code)).collect(),
        ResponseKind::JoinGroup(r) => vec![r.error_code],
        ResponseKind::SyncGroup(r) => vec![r.error_code],
        ResponseKind::Heartbeat(r) => vec![r.error_code],
        ResponseKind::LeaveGroup(r) => vec![r.error_code],
        ResponseKind::InitProducerId(r) => vec![r.error_code],
        ResponseKind::EndTxn(r) => vec![r.error_code],
        ResponseKind::AddOffsetsToTxn(r) => vec![r.error_code],
        ResponseKind::SaslHandshake(r) => vec![r.error_code],
        ResponseKind::SaslAuthenticate(r) => vec![r.error_code],
        _ => Vec::new(),
    }
}

/// [`error_codes`] of a Fetch response.
pub fn fetch_error_codes(r: &FetchResponse) -> Vec<i16> {
    std::iter::once(r.error_code).chain(r.responses.iter().flat_map(|t| t.partitions.iter().map(|p| p.error_code))).collect()
}

/// Kafka's name of an error code ("KAFKA_STORAGE_ERROR"), or the number.
pub fn error_name(code: i16) -> String {
    match kafka_protocol::error::ParseResponseErrorCode::err(code) {
        Some(kafka_protocol::error::ResponseError::Unknown(_)) | None => code.to_string(),
        Some(error) => screaming_snake(&format!("{error:?}")),
    }
}

/// "KafkaStorageError" -> "KAFKA_STORAGE_ERROR".
fn screaming_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_are_kafkas() {
        assert_eq!(error_name(56), "KAFKA_STORAGE_ERROR");
        assert_eq!(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(error_name(-12345), "-12345");
    }
}
