//! ApiVersions (key 18), versions 0-4. The answer lists `SUPPORTED_APIS`. An
//! unknown version never reaches here: the protocol crate answers it with a v0
//! UNSUPPORTED_VERSION response (see `strom_protocol::response`). v3+ requests
//! carry the client's software name and version, checked as Kafka does (KIP-511).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
use strom_protocol::versions;

use super::RequestContext;

pub fn handle(ctx: &RequestContext<'_>, req: ApiVersionsRequest) -> ApiVersionsResponse {
    if !versions::api_versions_request_is_valid(ctx.api_version, &req) {
        return versions::api_versions_response(ResponseError::InvalidRequest.code());
    }
    versions::api_versions_response(0)
}
