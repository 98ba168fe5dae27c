//! SaslHandshake (key 17, versions 0-1) and SaslAuthenticate (key 36,
//! versions 0-2) when they reach the handlers: on a listener without SASL,
//! or on an authenticated connection that cannot re-authenticate. Kafka's
//! `KafkaApis` answers both with ILLEGAL_SASL_STATE; the exchanges themselves
//! are served by `auth::session` before dispatch.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse};

use super::{str_bytes, RequestContext};

pub fn handshake(_ctx: &RequestContext<'_>, _req: SaslHandshakeRequest) -> SaslHandshakeResponse {
    SaslHandshakeResponse::default().with_error_code(ResponseError::IllegalSaslState.code())
}

pub fn authenticate(_ctx: &RequestContext<'_>, _req: SaslAuthenticateRequest) -> SaslAuthenticateResponse {
    SaslAuthenticateResponse::default()
        .with_error_code(ResponseError::IllegalSaslState.code())
        .with_error_message(Some(str_bytes("SaslAuthenticate request received after successful authentication")))
}
