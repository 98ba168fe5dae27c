//! The authentication state of one connection, after Kafka's
//! `SaslServerAuthenticator`. On a SASL listener a client may send only
//! ApiVersions (once, first) and SaslHandshake before it is authenticated;
//! after SaslHandshake v1 it sends SaslAuthenticate requests carrying the
//! mechanism's tokens, after v0 the tokens come as bare size-prefixed frames
//! (old clients). Any other request before authentication closes the
//! connection unanswered, as Kafka does before the handshake (Kafka answers
//! ILLEGAL_SASL_STATE during the token exchange; Strom closes there too).
//! A failed login is answered after `connection_failed_authentication_delay_ms`
//! and the connection closed.
//!
//! Re-authentication (KIP-368): with `connections_max_reauth_ms` > 0 a
//! successful SaslAuthenticate v1+ carries the session lifetime; the client
//! re-authenticates on the same connection with the same mechanism and
//! principal before it ends, and a request after the end closes the
//! connection.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind, SaslAuthenticateResponse, SaslHandshakeResponse};

use super::sasl::{AuthFailure, Exchange, Mechanism};
use super::scram::Step;
use super::Principal;
use crate::api::str_bytes;
use crate::broker::Broker;
use crate::config::SecurityProtocol;

/// What the connection does with a request.
pub enum Verdict {
    /// Serve it as usual.
    Serve,
    /// Send this response and carry on.
    Respond(ResponseKind),
    /// Failed login: wait the failed-authentication delay, send the
    /// response (if any), close.
    Fail { response: Option<ResponseKind>, failure: AuthFailure },
    /// Close without an answer.
    Close(String),
}

enum Phase {
    /// Nothing yet: ApiVersions or SaslHandshake.
    HandshakeOrVersions,
    /// ApiVersions answered: SaslHandshake next.
    Handshake,
    /// SaslHandshake v1 accepted: SaslAuthenticate requests carry tokens.
    Authenticate(Exchange),
    /// SaslHandshake v0 accepted: the next frames are bare tokens.
    RawTokens(Exchange),
    /// Authenticated (or a listener without SASL).
    Done,
}

pub struct Session {
    protocol: SecurityProtocol,
    principal: Principal,
    phase: Phase,
    /// The mechanism of the first login; re-authentication must use it.
    mechanism: Option<Mechanism>,
    /// Set once a SaslAuthenticate v1+ arrives (KIP-368's signal).
    client_supports_reauth: bool,
    reauthenticating: bool,
    /// A re-authentication asked for another mechanism: refused at its first token.
    bad_reauth_mechanism: Option<String>,
    expires_at: Option<Instant>,
}

impl Session {
    /// A session on a listener of `protocol`; `principal` is what TLS gave.
    pub fn new(protocol: SecurityProtocol, principal: Principal) -> Self {
        let phase = if protocol.uses_sasl() { Phase::HandshakeOrVersions } else { Phase::Done };
        Self {
            protocol,
            principal,
            phase,
            mechanism: None,
            client_supports_reauth: false,
            reauthenticating: false,
            bad_reauth_mechanism: None,
            expires_at: None,
        }
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Whether the client may send ordinary requests.
    pub fn authenticated(&self) -> bool {
        matches!(self.phase, Phase::Done) && !self.reauthenticating
    }

    /// Whether the first login is still ahead (re-authentication does not count).
    pub fn logging_in(&self) -> bool {
        self.protocol.uses_sasl() && self.mechanism.is_none()
    }

    /// Whether the next frame is a bare SASL token (after SaslHandshake v0).
    pub fn expects_raw_token(&self) -> bool {
        matches!(self.phase, Phase::RawTokens(_))
    }

    /// Decides what to do with a decoded request.
    pub fn check(&mut self, broker: &Broker, ip: IpAddr, api_key: ApiKey, version: i16, body: &RequestKind) -> Verdict {
        if !self.protocol.uses_sasl() {
            return Verdict::Serve; // SaslHandshake there is answered ILLEGAL_SASL_STATE by its handler
        }
        if self.authenticated() {
            if self.expires_at.is_some_and(|t| Instant::now() >= t) && api_key != ApiKey::SaslHandshake {
                return Verdict::Close(format!("session of {} expired (connections_max_reauth_ms)", self.principal));
            }
            return match body {
                RequestKind::SaslHandshake(req) if self.client_supports_reauth => {
                    self.reauthenticating = true;
                    self.handshake(broker, &req.mechanism, version)
                }
                _ => Verdict::Serve,
            };
        }
        match (&self.phase, body) {
            (Phase::HandshakeOrVersions, RequestKind::ApiVersions(_)) if !self.reauthenticating => {
                self.phase = Phase::Handshake;
                Verdict::Serve
            }
            (Phase::HandshakeOrVersions | Phase::Handshake, RequestKind::SaslHandshake(req)) => {
                self.handshake(broker, &req.mechanism, version)
            }
            (Phase::Authenticate(_), RequestKind::SaslAuthenticate(req)) => {
                if version > 0 {
                    self.client_supports_reauth = true;
                }
                match self.token(broker, ip, &req.auth_bytes) {
                    Ok((token, lifetime_ms)) => Verdict::Respond(ResponseKind::SaslAuthenticate(
                        SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(token)).with_session_lifetime_ms(lifetime_ms),
                    )),
                    Err(failure) => Verdict::Fail {
                        response: Some(ResponseKind::SaslAuthenticate(
                            SaslAuthenticateResponse::default()
                                .with_error_code(ResponseError::SaslAuthenticationFailed.code())
                                .with_error_message(Some(str_bytes(failure.message.clone()))),
                        )),
                        failure,
                    },
                }
            }
            _ => Verdict::Close(format!("unexpected {api_key:?} request before SASL authentication")),
        }
    }

    /// Takes a bare token (after SaslHandshake v0); the answer is sent bare too.
    pub fn raw_token(&mut self, broker: &Broker, ip: IpAddr, token: &[u8]) -> Result<Vec<u8>, AuthFailure> {
        self.token(broker, ip, token).map(|(response, _)| response)
    }

    fn handshake(&mut self, broker: &Broker, requested: &str, version: i16) -> Verdict {
        let enabled = &broker.config.security.sasl_mechanisms;
        let mechanisms = enabled.iter().map(|m| str_bytes(m.name())).collect();
        let Some(mechanism) = Mechanism::from_name(requested).filter(|m| enabled.contains(m)) else {
            return Verdict::Fail {
                response: Some(ResponseKind::SaslHandshake(
                    SaslHandshakeResponse::default()
                        .with_error_code(ResponseError::UnsupportedSaslMechanism.code())
                        .with_mechanisms(mechanisms),
                )),
                failure: AuthFailure::new("", format!("unsupported SASL mechanism {requested:?}")),
            };
        };
        if self.reauthenticating && self.mechanism != Some(mechanism) {
            self.bad_reauth_mechanism = Some(format!(
                "SASL mechanism '{requested}' requested by client is not supported for re-authentication of mechanism '{}'",
                self.mechanism.map_or("", Mechanism::name)
            ));
        }
        let exchange = Exchange::new(mechanism);
        self.phase = if version >= 1 { Phase::Authenticate(exchange) } else { Phase::RawTokens(exchange) };
        Verdict::Respond(ResponseKind::SaslHandshake(SaslHandshakeResponse::default().with_mechanisms(mechanisms)))
    }

    /// One token of the exchange: the answer token and, once done, the
    /// session lifetime to report.
    fn token(&mut self, broker: &Broker, ip: IpAddr, token: &[u8]) -> Result<(Vec<u8>, i64), AuthFailure> {
        let (Phase::Authenticate(exchange) | Phase::RawTokens(exchange)) = &mut self.phase else {
            return Err(AuthFailure::new("", "token outside an exchange"));
        };
        let mechanism = exchange.mechanism();
        let result = if let Some(message) = self.bad_reauth_mechanism.take() {
            Err(AuthFailure::new(message, "re-authentication with another mechanism"))
        } else if broker.failed_logins.blocked(ip, Instant::now()) {
            Err(AuthFailure::new(
                "Authentication failed: too many failed attempts from this address; try again later",
                "rate limited: too many failed authentications from this address",
            ))
        } else {
            exchange.step(token, &*broker.metadata.image())
        };
        let step = match result {
            Ok(step) => step,
            Err(failure) => {
                if broker.failed_logins.record_failure(ip, Instant::now()) {
                    tracing::warn!(%ip, "too many failed authentications from this address; refusing its logins for a minute");
                }
                return Err(failure);
            }
        };
        match step {
            Step::Continue(challenge) => Ok((challenge, 0)),
            Step::Done { response, user } => {
                let principal = Principal::user(&user);
                if self.reauthenticating && principal != self.principal {
                    return Err(AuthFailure::new(
                        format!("Cannot change principals during re-authentication from {}: {principal}", self.principal),
                        "re-authentication as another principal",
                    ));
                }
                let reauth_ms = broker.config.security.connections_max_reauth_ms;
                self.expires_at = (reauth_ms > 0).then(|| Instant::now() + Duration::from_millis(reauth_ms.unsigned_abs()));
                let lifetime_ms = if self.client_supports_reauth { reauth_ms } else { 0 };
                tracing::debug!(principal = %principal, mechanism = mechanism.name(), reauth = self.reauthenticating, "authenticated");
                self.principal = principal;
                self.mechanism = Some(mechanism);
                self.phase = Phase::Done;
                self.reauthenticating = false;
                Ok((response, lifetime_ms))
            }
        }
    }
}
