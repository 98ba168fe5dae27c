//! `max_request_bytes_per_api`: request size limits for chosen APIs, over
//! `max_frame_bytes` (Produce) and `max_non_produce_request_bytes` (the rest).

use strom_protocol::versions::SUPPORTED_APIS;

/// Parses `Name=bytes,Name=bytes` (Kafka's API names: `SyncGroup=16777216`)
/// into (api key, bytes) pairs; each limit from 1024 to `max_frame_bytes`.
pub fn parse_request_limits(text: &str, max_frame_bytes: usize) -> Result<Vec<(i16, usize)>, String> {
    let mut limits: Vec<(i16, usize)> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, bytes) = item.split_once('=').ok_or_else(|| format!("{item:?} is not of the form ApiName=bytes"))?;
        let (name, bytes) = (name.trim(), bytes.trim());
        let api = SUPPORTED_APIS
            .iter()
            .find(|a| format!("{:?}", a.api_key) == name)
            .ok_or_else(|| format!("{name:?} is not an API this broker serves (names as Kafka's, e.g. SyncGroup)"))?;
        let bytes: usize = bytes.parse().map_err(|e| format!("{name}: {e}: {bytes:?}"))?;
        if !(1024..=max_frame_bytes).contains(&bytes) {
            return Err(format!("{name}: must be between 1024 and max_frame_bytes ({max_frame_bytes}), got {bytes}"));
        }
        let key = api.api_key as i16;
        if limits.iter().any(|&(k, _)| k == key) {
            return Err(format!("{name} is given twice"));
        }
        limits.push((key, bytes));
    }
    Ok(limits)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn limits_name_apis_as_kafka_does() {
        assert_eq!(parse_request_limits("SyncGroup=16777216, Metadata=4096", 1 << 30).unwrap(), vec![(14, 16 << 20), (3, 4096)]);
        assert_eq!(parse_request_limits("", 1 << 30).unwrap(), vec![]);
        assert!(parse_request_limits("Synchronise=5000", 1 << 30).unwrap_err().contains("not an API"));
        assert!(parse_request_limits("SyncGroup", 1 << 30).unwrap_err().contains("ApiName=bytes"));
        assert!(parse_request_limits("SyncGroup=12", 1 << 30).unwrap_err().contains("between 1024"));
        assert!(parse_request_limits("Produce=2048", 1024).unwrap_err().contains("max_frame_bytes"));
        assert!(parse_request_limits("Fetch=2048,Fetch=4096", 1 << 30).unwrap_err().contains("twice"));
    }
}
