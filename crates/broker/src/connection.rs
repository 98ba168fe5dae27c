//! One client connection: read frames, decode, answer each request in order,
//! write the response. Any frame or decode problem closes the connection with
//! one log line, as Kafka does; nothing a client sends can do more.
//!
//! The stream is plain TCP or TLS (the server did the TLS handshake). On a
//! SASL listener the [`Session`] decides what may be served before the client
//! has authenticated; the whole authentication, TLS handshake included, must
//! finish within `authentication_timeout_ms`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use strom_protocol::request::{decode_request, Decoded};
use strom_protocol::{frame, response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::{self, RequestContext};
use crate::auth::session::{Session, Verdict};
use crate::broker::Broker;

/// Bytes read per socket read. The buffer only grows as bytes really arrive,
/// whatever size a frame claims.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Largest request other than Produce. A decoded request can take about 40
/// times its wire size in memory (a 2-byte topic entry becomes a 72-byte
/// struct), so only Produce, whose records stay raw bytes, gets the full
/// `max_frame_bytes`; 8 MiB is far above any real admin or fetch request.
const MAX_NON_PRODUCE_REQUEST_BYTES: usize = 8 * 1024 * 1024;
/// Largest frame before authentication (Kafka's `sasl.server.max.receive.size`).
const MAX_UNAUTHENTICATED_FRAME_BYTES: usize = 512 * 1024;
const PRODUCE_API_KEY: i16 = 0;

pub struct Connection {
    pub broker: Arc<Broker>,
    pub listener: Arc<str>,
    pub peer: SocketAddr,
    /// `peer`'s address as Kafka prints it: "/127.0.0.1".
    pub client_host: String,
    pub session: Session,
    /// When authentication must be done by (from accept, TLS included).
    pub auth_deadline: Instant,
}

/// After answering: go on, or close.
enum Next {
    Continue,
    Close,
}

impl Connection {
    /// Serves the connection until the client leaves, a request is refused,
    /// or shutdown is signalled (between requests, never in the middle of one).
    pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(mut self, mut stream: S, mut shutdown: watch::Receiver<bool>) {
        let mut buf = BytesMut::with_capacity(8 * 1024);
        loop {
            loop {
                let max_frame = if self.session.authenticated() { self.broker.config.max_frame_bytes } else { MAX_UNAUTHENTICATED_FRAME_BYTES };
                match frame::split_frame(&mut buf, max_frame) {
                    Ok(Some(frame)) => {
                        if let Next::Close = self.answer(frame.freeze(), &mut stream).await {
                            let _ = stream.shutdown().await;
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(error) => {
                        tracing::info!(peer = %self.peer, %error, "closing connection");
                        return;
                    }
                }
            }
            if *shutdown.borrow() {
                return;
            }
            buf.reserve(READ_CHUNK_BYTES);
            let authenticating = self.session.logging_in();
            tokio::select! {
                read = stream.read_buf(&mut buf) => match read {
                    Ok(0) => {
                        if !buf.is_empty() {
                            tracing::debug!(peer = %self.peer, pending = buf.len(), "client closed mid-request");
                        }
                        return;
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::debug!(peer = %self.peer, %error, "connection read failed");
                        return;
                    }
                },
                _ = tokio::time::sleep_until(self.auth_deadline), if authenticating => {
                    tracing::info!(peer = %self.peer, listener = %self.listener, "closing connection: authentication did not finish in time");
                    return;
                }
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Answers one request frame.
    async fn answer<S: AsyncWrite + Unpin>(&mut self, frame: Bytes, stream: &mut S) -> Next {
        if self.session.expects_raw_token() {
            return self.answer_raw_token(&frame, stream).await;
        }
        let api_key = strom_protocol::header::peek_prefix(&frame).map(|p| p.api_key);
        if frame.len() > MAX_NON_PRODUCE_REQUEST_BYTES && api_key != Some(PRODUCE_API_KEY) {
            tracing::info!(peer = %self.peer, bytes = frame.len(), ?api_key, "closing connection: request too large for its API");
            return Next::Close;
        }
        let encoded = match decode_request(frame) {
            Err(error) => {
                tracing::info!(peer = %self.peer, %error, "closing connection");
                return Next::Close;
            }
            Ok(Decoded::UnsupportedApiVersions { correlation_id, version }) => {
                tracing::debug!(peer = %self.peer, version, "ApiVersions of an unknown version");
                response::encode_unsupported_api_versions(correlation_id)
            }
            Ok(Decoded::Request(request)) => {
                if request.trailing_bytes > 0 {
                    tracing::debug!(peer = %self.peer, api = ?request.api_key, version = request.api_version, bytes = request.trailing_bytes, "ignored bytes after a request body, as Kafka does");
                }
                let correlation_id = request.correlation_id();
                let (api_key, version) = (request.api_key, request.api_version);
                tracing::trace!(peer = %self.peer, ?api_key, version, correlation_id, "request");
                let body = match self.session.check(&self.broker, self.peer.ip(), api_key, version, &request.body) {
                    Verdict::Serve => {
                        let client_id = request.client_id().to_string();
                        let ctx = RequestContext {
                            broker: &self.broker,
                            listener: &self.listener,
                            api_version: version,
                            client_id: &client_id,
                            client_host: &self.client_host,
                            principal: self.session.principal(),
                        };
                        match api::handle(&ctx, request.body).await {
                            Ok(Some(body)) => body,
                            Ok(None) => return Next::Continue,
                            Err(error) => {
                                tracing::error!(peer = %self.peer, %error, "closing connection");
                                return Next::Close;
                            }
                        }
                    }
                    Verdict::Respond(body) => body,
                    Verdict::Fail { response, failure } => {
                        self.log_failure(&failure.reason);
                        self.failure_delay().await;
                        if let Some(body) = response {
                            self.write_response(stream, response::encode_response(api_key, version, correlation_id, &body)).await;
                        }
                        return Next::Close;
                    }
                    Verdict::Close(reason) => {
                        tracing::info!(peer = %self.peer, listener = %self.listener, "closing connection: {reason}");
                        return Next::Close;
                    }
                };
                response::encode_response(api_key, version, correlation_id, &body)
            }
        };
        self.write_response(stream, encoded).await
    }

    /// A bare SASL token after SaslHandshake v0; its answer goes back bare.
    async fn answer_raw_token<S: AsyncWrite + Unpin>(&mut self, token: &[u8], stream: &mut S) -> Next {
        match self.session.raw_token(&self.broker, self.peer.ip(), token) {
            Ok(answer) => {
                let mut out = BytesMut::with_capacity(4 + answer.len());
                out.put_u32(u32::try_from(answer.len()).unwrap_or(u32::MAX));
                out.put_slice(&answer);
                self.write_response(stream, Ok::<_, std::convert::Infallible>(out.freeze())).await
            }
            Err(failure) => {
                // Kafka has no way to tell a v0 client why; it closes.
                self.log_failure(&failure.reason);
                self.failure_delay().await;
                Next::Close
            }
        }
    }

    fn log_failure(&self, reason: &str) {
        tracing::info!(peer = %self.peer, listener = %self.listener, reason, "failed authentication");
    }

    /// Kafka's `connection.failed.authentication.delay.ms`: slows down guessing.
    async fn failure_delay(&self) {
        let delay_ms = self.broker.config.security.failed_authentication_delay_ms;
        if delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
    }

    async fn write_response<S: AsyncWrite + Unpin>(&self, stream: &mut S, encoded: Result<Bytes, impl std::fmt::Display>) -> Next {
        let bytes = match encoded {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::error!(peer = %self.peer, %error, "closing connection");
                return Next::Close;
            }
        };
        // TLS streams buffer writes: flush so the response leaves now.
        match async {
            stream.write_all(&bytes).await?;
            stream.flush().await
        }
        .await
        {
            Ok(()) => Next::Continue,
            Err(error) => {
                tracing::debug!(peer = %self.peer, %error, "connection write failed");
                Next::Close
            }
        }
    }
}
