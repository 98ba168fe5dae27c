//! One client connection: read frames, decode, answer each request in order,
//! write the response. Any frame or decode problem closes the connection with
//! one log line, as Kafka does; nothing a client sends can do more.
//!
//! Responses leave in request order. A Produce response waiting only for an
//! fsync is owed ([`owed`]) while the Produce requests after it are handled,
//! so one fsync covers several of them; every other request waits until no
//! response is owed, as in Kafka, which handles one request at a time.
//!
//! The stream is plain TCP or TLS (the server did the TLS handshake), behind
//! [`Transport`]: a Fetch response's larger records are sent from their log
//! file, with sendfile(2) on plain TCP ([`transport`]). On a
//! SASL listener the [`Session`] decides what may be served before the client
//! has authenticated; the whole authentication, TLS handshake included, must
//! finish within `authentication_timeout_ms`.

use std::future::Future;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseKind};
use strom_protocol::fetch_response::{encode_fetch_response_apart, encodes_records_apart, FramePart};
use strom_protocol::request::{decode_request, Decoded};
use strom_protocol::{frame, response};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::time::Instant;

use crate::api::{self, Handled, RequestContext};
use crate::auth::session::{Session, Verdict};
use crate::broker::Broker;
use crate::limits::{self, Limits};
use crate::metrics;

mod owed;
mod transport;
use owed::{Owed, MAX_OWED};
pub use transport::{FileRecords, Transport};

/// Bytes read per socket read. The buffer only grows as bytes really arrive,
/// whatever size a frame claims.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Largest frame before authentication (Kafka's `sasl.server.max.receive.size`).
const MAX_UNAUTHENTICATED_FRAME_BYTES: usize = 512 * 1024;
/// How long closing may take to write (a TLS close_notify).
const CLOSE_WRITE_BOUND: Duration = Duration::from_secs(1);
/// After a request larger than this, an empty read buffer is replaced, so a
/// connection that sent one large request does not keep its memory.
const RETAINED_BUFFER_BYTES: usize = 256 * 1024;
/// Most parts handed to one vectored write (Linux's IOV_MAX is 1024).
const MAX_IOVECS: usize = 64;
const PRODUCE_API_KEY: i16 = 0;

pub struct Connection {
    pub broker: Arc<Broker>,
    pub listener: Arc<str>,
    pub peer: SocketAddr,
    /// `peer`'s address as Kafka prints it: "/127.0.0.1".
    pub client_host: String,
    pub limits: Arc<Limits>,
    pub session: Session,
    /// When authentication must be done by (from accept, TLS included).
    pub auth_deadline: Instant,
}

/// After writing: go on, or close.
enum Next {
    Continue,
    Close,
}

/// A part of an encoded response: bytes, or a Fetch response's records still in their file.
type Part = FramePart<FileRecords>;

/// A response, encoded as parts to write in order.
type Encoded = Result<Vec<Part>, String>;

/// What answering a request gives.
enum Answer {
    /// Write this (after the responses owed before it).
    Now(Encoded),
    /// A Produce response, once its data is durable.
    Later(Pin<Box<dyn Future<Output = Encoded> + Send>>),
    /// No response (acks=0).
    Silent,
    /// Close the connection, after writing this last response if any.
    Close(Option<Encoded>),
}

/// An owed response and the request bytes its request reserved: held until
/// the response is written, so the budget counts every request not answered
/// (the response may still share the request's buffer: topic names are
/// slices of it).
struct OwedResponse {
    encoded: Encoded,
    _reserved: Option<OwnedSemaphorePermit>,
}

impl Connection {
    /// Serves the connection until the client leaves, a request is refused,
    /// or shutdown is signalled (between requests, never in the middle of
    /// one; owed responses are written first).
    ///
    /// Requests are handled one at a time in order, but a Produce request
    /// whose response waits only for an fsync does not hold up the Produce
    /// requests after it (see `owed.rs`); any other request is handled only
    /// once every earlier response is written, as Kafka does.
    pub async fn run<S: Transport>(mut self, mut stream: S, mut shutdown: watch::Receiver<bool>) {
        let _counted = metrics::get().connection(&self.listener);
        let mut buf = BytesMut::with_capacity(8 * 1024);
        // Request bytes this connection holds of the global budget (see crate::limits).
        let mut reserved = None;
        let mut owed = Owed::new(MAX_OWED);
        loop {
            loop {
                // Per frame: a SaslAuthenticate just answered raises the limit.
                let frame = match frame::split_frame(&mut buf, self.max_frame_bytes()) {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(error) => {
                        // Kafka would have answered the earlier requests before reading this one.
                        let _ = self.pay_all(&mut owed, &mut stream).await;
                        tracing::info!(peer = %self.peer, listener = %self.listener, %error, "closing connection");
                        metrics::get().closed("bad_frame");
                        return;
                    }
                };
                let frame_bytes = frame.len();
                let paid = if self.may_owe(&frame) {
                    self.make_room(&mut owed, &mut stream).await
                } else {
                    self.pay_all(&mut owed, &mut stream).await
                };
                if let Next::Close = paid {
                    return close(&mut stream).await;
                }
                let held = reserved.take();
                let next = match self.answer(frame.freeze()).await {
                    Answer::Now(encoded) if owed.is_empty() => self.write_response(&mut stream, encoded).await,
                    Answer::Now(encoded) => self.owe(&mut owed, std::future::ready(encoded), held),
                    Answer::Later(response) => self.owe(&mut owed, response, held),
                    Answer::Silent => Next::Continue,
                    Answer::Close(last) => {
                        if let (Next::Continue, Some(last)) = (self.pay_all(&mut owed, &mut stream).await, last) {
                            self.write_response(&mut stream, last).await;
                        }
                        Next::Close
                    }
                };
                if let Next::Close = next {
                    return close(&mut stream).await;
                }
                if buf.is_empty() && frame_bytes > RETAINED_BUFFER_BYTES {
                    // The rest of `buf` still shares the large request's allocation:
                    // give it back rather than keep it per connection.
                    buf = BytesMut::with_capacity(8 * 1024);
                }
            }
            if *shutdown.borrow() {
                let _ = self.pay_all(&mut owed, &mut stream).await;
                return;
            }
            if reserved.is_none() {
                if let Some(size) = limits::frame_size(&buf) {
                    // Owed responses are written while waiting: they hold budget too.
                    while reserved.is_none() {
                        tokio::select! {
                            permit = self.limits.reserve(size) => match permit {
                                Some(permit) => reserved = Some(permit),
                                None => break,
                            },
                            response = owed.next(), if !owed.is_empty() => {
                                if let Next::Close = self.write_owed(&mut stream, response).await {
                                    return close(&mut stream).await;
                                }
                            }
                            _ = shutdown.changed() => {
                                let _ = self.pay_all(&mut owed, &mut stream).await;
                                return;
                            }
                        }
                    }
                    // Room for the whole frame at once (the size is checked when split).
                    buf.reserve(size.min(self.max_frame_bytes()).saturating_sub(buf.len()));
                }
            }
            buf.reserve(READ_CHUNK_BYTES);
            let authenticating = self.session.logging_in();
            tokio::select! {
                // Responses first: the client waits for them.
                biased;
                response = owed.next(), if !owed.is_empty() => {
                    if let Next::Close = self.write_owed(&mut stream, response).await {
                        return close(&mut stream).await;
                    }
                }
                read = tokio::time::timeout(self.limits.idle, stream.read_buf(&mut buf)) => match read {
                    Err(_) => {
                        tracing::info!(peer = %self.peer, listener = %self.listener, idle_ms = self.limits.idle.as_millis() as u64, pending_bytes = buf.len(), "closing idle connection (connections_max_idle_ms)");
                        metrics::get().closed("idle");
                        return;
                    }
                    Ok(Ok(0)) => {
                        // A client that leaves does not want the responses it is owed.
                        if !buf.is_empty() {
                            tracing::debug!(peer = %self.peer, pending = buf.len(), "client closed mid-request");
                        }
                        return;
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => {
                        tracing::debug!(peer = %self.peer, %error, "connection read failed");
                        return;
                    }
                },
                _ = tokio::time::sleep_until(self.auth_deadline), if authenticating => {
                    tracing::info!(peer = %self.peer, listener = %self.listener, "closing connection: authentication did not finish in time");
                    metrics::get().closed("authentication_timeout");
                    return;
                }
                _ = shutdown.changed() => {
                    let _ = self.pay_all(&mut owed, &mut stream).await;
                    return;
                }
            }
        }
    }

    /// Whether `frame` may be handled while responses are owed: a Produce
    /// request (its response is owed after theirs). A bare SASL token is not
    /// a request, whatever its first bytes say.
    fn may_owe(&self, frame: &[u8]) -> bool {
        !self.session.expects_raw_token() && strom_protocol::header::peek_prefix(frame).is_some_and(|p| p.api_key == PRODUCE_API_KEY)
    }

    /// Owes `response` after those owed already (there is room: see [`Self::make_room`]).
    fn owe(
        &self,
        owed: &mut Owed<OwedResponse>,
        response: impl Future<Output = Encoded> + Send + 'static,
        reserved: Option<OwnedSemaphorePermit>,
    ) -> Next {
        let owing = owed.push(async move { OwedResponse { encoded: response.await, _reserved: reserved } });
        if owing.is_err() {
            tracing::error!(peer = %self.peer, "closing connection: more responses owed than allowed");
            metrics::get().closed("internal_error");
            return Next::Close;
        }
        Next::Continue
    }

    /// Writes owed responses, oldest first, until another may be owed.
    async fn make_room<S: Transport>(&self, owed: &mut Owed<OwedResponse>, stream: &mut S) -> Next {
        while owed.is_full() {
            if let Next::Close = self.write_owed(stream, owed.next().await).await {
                return Next::Close;
            }
        }
        Next::Continue
    }

    /// Writes every owed response, in order, as each becomes ready.
    async fn pay_all<S: Transport>(&self, owed: &mut Owed<OwedResponse>, stream: &mut S) -> Next {
        while !owed.is_empty() {
            if let Next::Close = self.write_owed(stream, owed.next().await).await {
                return Next::Close;
            }
        }
        Next::Continue
    }

    async fn write_owed<S: Transport>(&self, stream: &mut S, response: OwedResponse) -> Next {
        // The reservation is given back once the response is written.
        self.write_response(stream, response.encoded).await
    }

    /// The largest frame accepted now: before SASL authentication, Kafka's
    /// `sasl.server.max.receive.size`.
    fn max_frame_bytes(&self) -> usize {
        if self.session.authenticated() {
            self.broker.config.max_frame_bytes
        } else {
            MAX_UNAUTHENTICATED_FRAME_BYTES.min(self.broker.config.max_frame_bytes)
        }
    }

    /// Answers one request frame.
    async fn answer(&mut self, frame: Bytes) -> Answer {
        metrics::get().bytes_in.inc_by(frame.len() as u64 + 4);
        if self.session.expects_raw_token() {
            return self.answer_raw_token(&frame).await;
        }
        let api_key = strom_protocol::header::peek_prefix(&frame).map(|p| p.api_key);
        let max_request = self.limits.max_request_bytes(api_key);
        if frame.len() > max_request {
            tracing::info!(peer = %self.peer, listener = %self.listener, bytes = frame.len(), max = max_request, ?api_key, "closing connection: request too large for its API");
            metrics::get().closed("request_too_large");
            return Answer::Close(None);
        }
        let request = match decode_request(frame) {
            Err(error) => {
                tracing::info!(peer = %self.peer, listener = %self.listener, %error, "closing connection");
                metrics::get().closed("bad_request");
                return Answer::Close(None);
            }
            Ok(Decoded::UnsupportedApiVersions { correlation_id, version }) => {
                tracing::debug!(peer = %self.peer, version, "ApiVersions of an unknown version");
                return Answer::Now(response::encode_unsupported_api_versions(correlation_id).map(|whole| vec![Part::Bytes(whole)]).map_err(|e| e.to_string()));
            }
            Ok(Decoded::Request(request)) => request,
        };
        if request.trailing_bytes > 0 {
            tracing::debug!(peer = %self.peer, api = ?request.api_key, version = request.api_version, bytes = request.trailing_bytes, "ignored bytes after a request body, as Kafka does");
        }
        let client_id = request.client_id().to_string();
        let answered = Answered {
            api_key: request.api_key,
            version: request.api_version,
            correlation_id: request.correlation_id(),
            api_name: format!("{:?}", request.api_key),
            span: tracing::debug_span!("request", api = ?request.api_key, version = request.api_version, correlation_id = request.correlation_id(), client_id = %client_id),
            started: std::time::Instant::now(),
        };
        let (api_key, version) = (answered.api_key, answered.version);
        let body = match self.session.check(&self.broker, self.peer.ip(), api_key, version, &request.body) {
            Verdict::Serve => {
                let ctx = RequestContext {
                    broker: &self.broker,
                    listener: &self.listener,
                    api_version: version,
                    client_id: &client_id,
                    client_host: &self.client_host,
                    principal: self.session.principal(),
                };
                let handled = tracing::Instrument::instrument(api::begin(&ctx, request.body), answered.span.clone()).await;
                match handled {
                    Ok(Handled::Now(Some(body))) => body,
                    Ok(Handled::Now(None)) => {
                        metrics::get().request(&answered.api_name, answered.started.elapsed(), &[]);
                        return Answer::Silent;
                    }
                    Ok(Handled::Fetched(fetched)) => return Answer::Now(answered.encode_fetched(fetched)),
                    Ok(Handled::Durable(flushing)) => {
                        let broker = Arc::clone(&self.broker);
                        let span = answered.span.clone();
                        let durable = async move { answered.encode(&ResponseKind::Produce(flushing.durable(&broker).await)) };
                        return Answer::Later(Box::pin(tracing::Instrument::instrument(durable, span)));
                    }
                    Err(error) => {
                        tracing::error!(peer = %self.peer, %error, "closing connection");
                        metrics::get().closed("internal_error");
                        return Answer::Close(None);
                    }
                }
            }
            Verdict::Respond(body) => body,
            Verdict::Fail { response, failure } => {
                self.log_failure(&failure.reason);
                let last = response.map(|body| answered.encode(&body));
                self.failure_delay().await;
                return Answer::Close(last);
            }
            Verdict::Close(reason) => {
                tracing::info!(peer = %self.peer, listener = %self.listener, "closing connection: {reason}");
                metrics::get().closed("refused_by_session");
                return Answer::Close(None);
            }
        };
        Answer::Now(answered.encode(&body))
    }

    /// A bare SASL token after SaslHandshake v0; its answer goes back bare.
    async fn answer_raw_token(&mut self, token: &[u8]) -> Answer {
        match self.session.raw_token(&self.broker, self.peer.ip(), token) {
            Ok(answer) => {
                let mut out = BytesMut::with_capacity(4 + answer.len());
                out.put_u32(u32::try_from(answer.len()).unwrap_or(u32::MAX));
                out.put_slice(&answer);
                Answer::Now(Ok(vec![Part::Bytes(out.freeze())]))
            }
            Err(failure) => {
                // Kafka has no way to tell a v0 client why; it closes.
                self.log_failure(&failure.reason);
                self.failure_delay().await;
                Answer::Close(None)
            }
        }
    }

    fn log_failure(&self, reason: &str) {
        tracing::info!(peer = %self.peer, listener = %self.listener, reason, "failed authentication");
        metrics::get().closed("authentication_failed");
    }

    /// Kafka's `connection.failed.authentication.delay.ms`: slows down guessing.
    async fn failure_delay(&self) {
        let delay_ms = self.broker.config.security.failed_authentication_delay_ms;
        if delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
    }

    /// Writes (and flushes: TLS streams buffer) a response; a client that
    /// reads none of it for `connections_max_idle_ms` is closed.
    async fn write_response<S: Transport>(&self, stream: &mut S, encoded: Encoded) -> Next {
        let parts = match encoded {
            Ok(parts) => parts,
            Err(error) => {
                tracing::error!(peer = %self.peer, %error, "closing connection");
                metrics::get().closed("internal_error");
                return Next::Close;
            }
        };
        let write = async {
            write_parts(stream, &parts, &self.broker.read_buffers).await?;
            stream.flush().await
        };
        let Ok(written) = tokio::time::timeout(self.limits.idle, write).await else {
            tracing::info!(peer = %self.peer, listener = %self.listener, idle_ms = self.limits.idle.as_millis() as u64, "closing connection: the client has not read its responses (connections_max_idle_ms)");
            metrics::get().closed("not_reading");
            return Next::Close;
        };
        match written {
            Ok(()) => {
                metrics::get().bytes_out.inc_by(parts.iter().map(part_len).sum::<usize>() as u64);
                tracing::trace!(peer = %self.peer, "response written");
                Next::Continue
            }
            Err(error) => {
                tracing::debug!(peer = %self.peer, %error, "connection write failed");
                Next::Close
            }
        }
    }
}

/// What a request's response needs once its body is known.
struct Answered {
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    api_name: String,
    span: tracing::Span,
    started: std::time::Instant,
}

impl Answered {
    /// Counts the request in the metrics (its latency up to now, durability
    /// waits included) and encodes its response.
    fn encode(&self, body: &ResponseKind) -> Encoded {
        self.count(&metrics::error_codes(body));
        let parts = response::encode_response_parts(self.api_key, self.version, self.correlation_id, body).map_err(|e| e.to_string())?;
        Ok(parts.into_iter().map(Part::Bytes).collect())
    }

    /// [`Self::encode`] for a Fetch response whose larger records are still
    /// in their files: those become parts of their own.
    fn encode_fetched(&self, fetched: api::fetch::Fetched) -> Encoded {
        if !fetched.has_records_apart() || !encodes_records_apart(self.version, &fetched.response) {
            let body = ResponseKind::Fetch(fetched.read_in().map_err(|e| format!("reading fetched records: {e}"))?);
            return self.encode(&body);
        }
        let api::fetch::Fetched { response, apart } = fetched;
        self.count(&metrics::fetch_error_codes(&response));
        let apart = apart.into_iter().map(|slice| slice.map(FileRecords)).collect();
        encode_fetch_response_apart(self.version, self.correlation_id, &response, apart).map_err(|e| e.to_string())
    }

    /// Counts the request in the metrics (with its response's error codes), its latency up to now.
    fn count(&self, error_codes: &[i16]) {
        metrics::get().request(&self.api_name, self.started.elapsed(), error_codes);
        self.span.in_scope(|| tracing::debug!(ms = self.started.elapsed().as_secs_f64() * 1000.0, "answered"));
    }
}

fn part_len(part: &Part) -> usize {
    match part {
        Part::Bytes(bytes) => bytes.len(),
        Part::Records(records) => records.0.len,
    }
}

/// Closes the stream after a refused request or a failed write; a TLS
/// close_notify is a write: bounded like any other.
async fn close<S: Transport>(stream: &mut S) {
    let _ = tokio::time::timeout(CLOSE_WRITE_BOUND, stream.shutdown()).await;
}

/// Writes a response's parts in order: each run of bytes with vectored
/// writes (a Fetch response's smaller records go from the buffer they were
/// read into straight to the socket), records still in their file with
/// [`Transport::write_records`].
async fn write_parts<S: Transport>(stream: &mut S, parts: &[Part], pool: &strom_storage::buffer_pool::BufferPool) -> std::io::Result<()> {
    let mut rest = parts;
    while !rest.is_empty() {
        let bytes = rest.iter().take_while(|p| matches!(p, Part::Bytes(_))).count();
        write_bytes(stream, &rest[..bytes]).await?;
        if let Some(Part::Records(records)) = rest.get(bytes) {
            stream.write_records(records, pool).await?;
            rest = &rest[bytes + 1..];
        } else {
            rest = &rest[bytes..];
        }
    }
    Ok(())
}

/// The bytes of a part of a run of bytes ([`write_parts`] never puts records in one).
fn bytes_of(part: &Part) -> &[u8] {
    match part {
        Part::Bytes(bytes) => bytes,
        Part::Records(_) => &[],
    }
}

/// Writes `parts`, all [`Part::Bytes`], in order with vectored writes.
async fn write_bytes<W: AsyncWrite + Unpin>(stream: &mut W, parts: &[Part]) -> std::io::Result<()> {
    if let [whole] = parts {
        return stream.write_all(bytes_of(whole)).await;
    }
    let (mut index, mut offset) = (0, 0);
    while index < parts.len() {
        let slices: Vec<IoSlice<'_>> = std::iter::once(&bytes_of(&parts[index])[offset..])
            .chain(parts[index + 1..].iter().map(bytes_of))
            .take(MAX_IOVECS)
            .map(IoSlice::new)
            .collect();
        let mut written = stream.write_vectored(&slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while index < parts.len() && written >= bytes_of(&parts[index]).len() - offset {
            written -= bytes_of(&parts[index]).len() - offset;
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

    use strom_storage::buffer_pool::BufferPool;
    use tokio::io::AsyncRead;

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

    impl AsyncRead for Trickle {
        fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut tokio::io::ReadBuf<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl Transport for Trickle {
        async fn write_records(&mut self, records: &FileRecords, pool: &BufferPool) -> std::io::Result<()> {
            transport::copy_records(self, &records.0, pool).await
        }
    }

    /// A log file holding `content`, and its records from `position`, `len` long.
    fn file_records(dir: &std::path::Path, content: &[u8], position: u64, len: usize) -> FileRecords {
        let path = dir.join(format!("{position}-{len}.log"));
        std::fs::write(&path, content).unwrap();
        let file = strom_storage::fs::os().open(&path, strom_storage::fs::OpenMode::Existing).unwrap();
        FileRecords(strom_storage::segment::FileSlice { file, position, len })
    }

    #[tokio::test]
    async fn records_in_their_file_are_written_between_the_bytes_around_them() {
        let dir = tempfile::tempdir().unwrap();
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let parts = vec![
            Part::Bytes(Bytes::from_static(b"head")),
            Part::Records(file_records(dir.path(), &content, 10, 100_000)),
            Part::Bytes(Bytes::from_static(b"middle")),
            Part::Bytes(Bytes::from_static(b"more")),
            Part::Records(file_records(dir.path(), &content, 0, 200_000)),
            Part::Records(file_records(dir.path(), &content, 199_999, 1)),
        ];
        let mut expected = b"head".to_vec();
        expected.extend_from_slice(&content[10..100_010]);
        expected.extend_from_slice(b"middlemore");
        expected.extend_from_slice(&content);
        expected.extend_from_slice(&content[199_999..]);
        let pool = BufferPool::new();
        let mut out = Trickle { written: Vec::new(), limit: 4096, calls: 0 };
        write_parts(&mut out, &parts, &pool).await.unwrap();
        assert_eq!(out.written, expected);

        // Over a real socket: sendfile(2).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            socket.read_to_end(&mut got).await.unwrap();
            got
        });
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        write_parts(&mut stream, &parts, &pool).await.unwrap();
        drop(stream);
        assert_eq!(reader.await.unwrap(), expected);

        // A file shorter than its records (never the case for a log): an error, not a hang.
        let short = vec![Part::Records(file_records(dir.path(), &content[..50], 0, 100))];
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut stream = tokio::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        assert!(write_parts(&mut stream, &short, &pool).await.is_err());
        let mut out = Trickle { written: Vec::new(), limit: 4096, calls: 0 };
        assert!(write_parts(&mut out, &short, &pool).await.is_err());
    }

    #[tokio::test]
    async fn parts_arrive_whole_and_in_order_whatever_each_write_takes() {
        let parts: Vec<Part> = (0..200u32).map(|i| Part::Bytes(Bytes::from(vec![i as u8; (i as usize * 7) % 50 + 1]))).collect();
        let expected: Vec<u8> = parts.iter().flat_map(|p| bytes_of(p).iter().copied()).collect();
        for limit in [1, 3, 49, 50, 51, 1000, usize::MAX] {
            let mut out = Trickle { written: Vec::new(), limit, calls: 0 };
            write_bytes(&mut out, &parts).await.unwrap();
            assert_eq!(out.written, expected, "limit {limit}");
        }
        let mut out = Trickle { written: Vec::new(), limit: usize::MAX, calls: 0 };
        write_bytes(&mut out, &parts).await.unwrap();
        assert_eq!(out.calls, parts.len().div_ceil(MAX_IOVECS), "one call per {MAX_IOVECS} parts");
    }
}
