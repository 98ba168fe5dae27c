//! One client connection: read frames, decode, answer each request in order,
//! write the response. Any frame or decode problem closes the connection with
//! one log line, as Kafka does; nothing a client sends can do more.

use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use strom_protocol::request::{decode_request, Decoded};
use strom_protocol::{frame, response};

use crate::api::{self, RequestContext};
use crate::broker::Broker;
use crate::limits::{self, Limits};
use crate::metrics;

/// Bytes read per socket read. The buffer only grows as bytes really arrive,
/// whatever size a frame claims.
const READ_CHUNK_BYTES: usize = 64 * 1024;
const PRODUCE_API_KEY: i16 = 0;
/// After a request larger than this, an empty read buffer is replaced, so a
/// connection that sent one large request does not keep its memory.
const RETAINED_BUFFER_BYTES: usize = 256 * 1024;
/// Most parts handed to one vectored write (Linux's IOV_MAX is 1024).
const MAX_IOVECS: usize = 64;

pub struct Connection {
    pub broker: Arc<Broker>,
    pub listener: Arc<str>,
    pub peer: SocketAddr,
    /// `peer`'s address as Kafka prints it: "/127.0.0.1".
    pub client_host: String,
    pub limits: Arc<Limits>,
}

impl Connection {
    /// Serves the connection until the client leaves, a request is refused,
    /// or shutdown is signalled (between requests, never in the middle of one).
    pub async fn run(self, mut stream: TcpStream, mut shutdown: watch::Receiver<bool>) {
        let _ = stream.set_nodelay(true);
        let _counted = metrics::get().connection(&self.listener);
        let mut buf = BytesMut::with_capacity(8 * 1024);
        // Request bytes this connection holds of the global budget (see crate::limits).
        let mut reserved = None;
        loop {
            loop {
                match frame::split_frame(&mut buf, self.broker.config.max_frame_bytes) {
                    Ok(Some(frame)) => {
                        let frame_bytes = frame.len();
                        if !self.answer(frame.freeze(), &mut stream).await {
                            return;
                        }
                        reserved = None;
                        if buf.is_empty() && frame_bytes > RETAINED_BUFFER_BYTES {
                            // The rest of `buf` still shares the large request's allocation:
                            // give it back rather than keep it per connection.
                            buf = BytesMut::with_capacity(8 * 1024);
                        }
                    }
                    Ok(None) => break,
                    Err(error) => {
                        tracing::info!(peer = %self.peer, %error, "closing connection");
                        metrics::get().closed("bad_frame");
                        return;
                    }
                }
            }
            if *shutdown.borrow() {
                return;
            }
            if reserved.is_none() {
                if let Some(size) = limits::frame_size(&buf) {
                    tokio::select! {
                        permit = self.limits.reserve(size) => reserved = permit,
                        _ = shutdown.changed() => return,
                    }
                    // Room for the whole frame at once (the size is checked when split).
                    buf.reserve(size.min(self.broker.config.max_frame_bytes).saturating_sub(buf.len()));
                }
            }
            buf.reserve(READ_CHUNK_BYTES);
            tokio::select! {
                read = tokio::time::timeout(self.limits.idle, stream.read_buf(&mut buf)) => match read {
                    Err(_) => {
                        tracing::info!(peer = %self.peer, idle_ms = self.limits.idle.as_millis() as u64, pending_bytes = buf.len(), "closing idle connection (connections_max_idle_ms)");
                        metrics::get().closed("idle");
                        return;
                    }
                    Ok(read) => match read {
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
                },
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Answers one request frame; false closes the connection.
    async fn answer(&self, frame: Bytes, stream: &mut TcpStream) -> bool {
        metrics::get().bytes_in.inc_by(frame.len() as u64 + 4);
        let api_key = strom_protocol::header::peek_prefix(&frame).map(|p| p.api_key);
        if frame.len() > self.limits.max_non_produce_request_bytes && api_key != Some(PRODUCE_API_KEY) {
            tracing::info!(peer = %self.peer, bytes = frame.len(), ?api_key, "closing connection: request too large for its API");
            metrics::get().closed("request_too_large");
            return false;
        }
        let encoded = match decode_request(frame) {
            Err(error) => {
                tracing::info!(peer = %self.peer, %error, "closing connection");
                metrics::get().closed("bad_request");
                return false;
            }
            Ok(Decoded::UnsupportedApiVersions { correlation_id, version }) => {
                tracing::debug!(peer = %self.peer, version, "ApiVersions of an unknown version");
                response::encode_unsupported_api_versions(correlation_id).map(|whole| vec![whole])
            }
            Ok(Decoded::Request(request)) => {
                if request.trailing_bytes > 0 {
                    tracing::debug!(peer = %self.peer, api = ?request.api_key, version = request.api_version, bytes = request.trailing_bytes, "ignored bytes after a request body, as Kafka does");
                }
                let client_id = request.client_id().to_string();
                let ctx = RequestContext {
                    broker: &self.broker,
                    listener: &self.listener,
                    api_version: request.api_version,
                    client_id: &client_id,
                    client_host: &self.client_host,
                };
                let correlation_id = request.correlation_id();
                let (api_key, version) = (request.api_key, request.api_version);
                let span = tracing::debug_span!("request", api = ?api_key, version, correlation_id, client_id = %client_id);
                let started = std::time::Instant::now();
                let handled = tracing::Instrument::instrument(api::handle(&ctx, request.body), span.clone()).await;
                let api_name = format!("{api_key:?}");
                match handled {
                    Ok(Some(body)) => {
                        metrics::get().request(&api_name, started.elapsed(), &metrics::error_codes(&body));
                        span.in_scope(|| tracing::debug!(ms = started.elapsed().as_secs_f64() * 1000.0, "answered"));
                        response::encode_response_parts(api_key, version, correlation_id, &body)
                    }
                    Ok(None) => {
                        metrics::get().request(&api_name, started.elapsed(), &[]);
                        return true;
                    }
                    Err(error) => {
                        tracing::error!(peer = %self.peer, %error, "closing connection");
                        return false;
                    }
                }
            }
        };
        let parts = match encoded {
            Ok(parts) => parts,
            Err(error) => {
                tracing::error!(peer = %self.peer, %error, "closing connection");
                return false;
            }
        };
        let Ok(written) = tokio::time::timeout(self.limits.idle, write_parts(stream, &parts)).await else {
            tracing::info!(peer = %self.peer, idle_ms = self.limits.idle.as_millis() as u64, "closing connection: the client has not read its responses (connections_max_idle_ms)");
            metrics::get().closed("not_reading");
            return false;
        };
        match written {
            Ok(()) => {
                metrics::get().bytes_out.inc_by(parts.iter().map(|p| p.len() as u64).sum());
                tracing::trace!(peer = %self.peer, "response written");
                true
            }
            Err(error) => {
                tracing::debug!(peer = %self.peer, %error, "connection write failed");
                false
            }
        }
    }
}

/// Writes a response's parts in order with vectored writes: a Fetch
/// response's records go from the buffer they were read into straight to the
/// socket ([`response::encode_response_parts`]).
async fn write_parts<W: AsyncWrite + Unpin>(stream: &mut W, parts: &[Bytes]) -> std::io::Result<()> {
    if let [whole] = parts {
        return stream.write_all(whole).await;
    }
    let (mut index, mut offset) = (0, 0);
    while index < parts.len() {
        let slices: Vec<IoSlice<'_>> = std::iter::once(&parts[index][offset..])
            .chain(parts[index + 1..].iter().map(|p| &p[..]))
            .take(MAX_IOVECS)
            .map(IoSlice::new)
            .collect();
        let mut written = stream.write_vectored(&slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while index < parts.len() && written >= parts[index].len() - offset {
            written -= parts[index].len() - offset;
            (index, offset) = (index + 1, 0);
        }
        offset += written;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// A writer that takes at most `limit` bytes per call, vectored or not.
    struct Trickle {
        written: Vec<u8>,
        limit: usize,
        calls: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
            let this = self.get_mut();
            let n = buf.len().min(this.limit);
            this.written.extend_from_slice(&buf[..n]);
            this.calls += 1;
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(self: Pin<&mut Self>, _: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<std::io::Result<usize>> {
            let this = self.get_mut();
            let mut left = this.limit;
            for buf in bufs {
                let n = buf.len().min(left);
                this.written.extend_from_slice(&buf[..n]);
                left -= n;
            }
            this.calls += 1;
            Poll::Ready(Ok(this.limit - left))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn parts_arrive_whole_and_in_order_whatever_each_write_takes() {
        let parts: Vec<Bytes> = (0..200u32).map(|i| Bytes::from(vec![i as u8; (i as usize * 7) % 50 + 1])).collect();
        let expected: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        for limit in [1, 3, 49, 50, 51, 1000, usize::MAX] {
            let mut out = Trickle { written: Vec::new(), limit, calls: 0 };
            write_parts(&mut out, &parts).await.unwrap();
            assert_eq!(out.written, expected, "limit {limit}");
        }
        let mut out = Trickle { written: Vec::new(), limit: usize::MAX, calls: 0 };
        write_parts(&mut out, &parts).await.unwrap();
        assert_eq!(out.calls, parts.len().div_ceil(MAX_IOVECS), "one call per {MAX_IOVECS} parts");
    }
}
