//! A tiny blocking Kafka client for tests: one request at a time over a
//! `std::net::TcpStream`, encoded and decoded with `kafka-protocol`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{ensure, Context};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
    RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};

/// How long a test waits for one response before calling the broker hung.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest response frame the client accepts; responses in tests are small, so
/// anything bigger is a framing bug in the broker.
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

pub const CLIENT_ID: &str = "strom-tests";

/// One connection to a broker.
pub struct KafkaConnection {
    stream: TcpStream,
    next_correlation_id: i32,
}

impl KafkaConnection {
    pub fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, RESPONSE_TIMEOUT)
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_read_timeout(Some(RESPONSE_TIMEOUT))?;
        stream.set_write_timeout(Some(RESPONSE_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(KafkaConnection {
            stream,
            next_correlation_id: 1,
        })
    }

    /// A correlation id not used before on this connection.
    pub fn next_correlation_id(&mut self) -> i32 {
        let id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        id
    }

    /// Sends `request` at `version` and returns the decoded response. Fails if
    /// the correlation id does not match or bytes are left after the body.
    pub fn send<R: Request>(&mut self, request: &R, version: i16) -> anyhow::Result<R::Response> {
        let correlation_id = self.next_correlation_id();
        let frame = encode_request(request, version, correlation_id)?;
        self.write_all(&frame)?;
        let mut response = self.read_frame()?.context("broker closed the connection")?;
        let header = ResponseHeader::decode(&mut response, R::Response::header_version(version))
            .context("decoding response header")?;
        ensure!(
            header.correlation_id == correlation_id,
            "correlation id {} in response, sent {correlation_id}",
            header.correlation_id
        );
        let body = R::Response::decode(&mut response, version)
            .with_context(|| format!("decoding {} v{version} response", api_name(R::KEY)))?;
        ensure!(
            response.is_empty(),
            "{} trailing bytes after {} v{version} response",
            response.len(),
            api_name(R::KEY)
        );
        Ok(body)
    }

    pub fn api_versions(&mut self, version: i16) -> anyhow::Result<ApiVersionsResponse> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str(CLIENT_ID))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let response = self.send(&request, version)?;
        Ok(response)
    }

    /// Metadata for all topics (`topics = None`), no auto creation.
    pub fn metadata_all(&mut self, version: i16) -> anyhow::Result<MetadataResponse> {
        // "All topics" is a null array from v1 on; v0 has no null array and
        // uses an empty one. (kafka-protocol's default is an empty array,
        // which means "no topics" from v1 on.)
        let topics = if version == 0 { Some(Vec::new()) } else { None };
        let request = MetadataRequest::default().with_topics(topics);
        self.send(&request, version)
    }

    /// How long reads wait for the broker (default [`RESPONSE_TIMEOUT`]).
    pub fn set_response_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.stream.set_read_timeout(Some(timeout))
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads one size-prefixed frame; `Ok(None)` when the broker closed the
    /// connection cleanly between frames.
    pub fn read_frame(&mut self) -> anyhow::Result<Option<Bytes>> {
        let mut size = [0u8; 4];
        match self.stream.read_exact(&mut size) {
            Ok(()) => {}
            Err(e) if is_closed(&e) => return Ok(None),
            Err(e) => return Err(e).context("reading response size"),
        }
        let size = i32::from_be_bytes(size);
        let size = usize::try_from(size)
            .ok()
            .filter(|&s| s <= MAX_RESPONSE_BYTES)
            .with_context(|| format!("response size {size} out of range"))?;
        let mut body = vec![0u8; size];
        self.stream
            .read_exact(&mut body)
            .context("reading response body")?;
        Ok(Some(Bytes::from(body)))
    }

    /// Shuts down the write half, so the broker sees end of input.
    pub fn shutdown_write(&self) -> io::Result<()> {
        self.stream.shutdown(std::net::Shutdown::Write)
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

/// True for a read that ran into its timeout.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// True for the errors a peer's close shows up as.
pub fn is_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// A size-prefixed request frame: header (in the version the API key and
/// version call for) followed by the body.
pub fn encode_request<R: Request>(
    request: &R,
    version: i16,
    correlation_id: i32,
) -> anyhow::Result<Vec<u8>> {
    let mut body = BytesMut::new();
    request
        .encode(&mut body, version)
        .with_context(|| format!("encoding {} v{version} request", api_name(R::KEY)))?;
    frame(R::KEY, version, correlation_id, &body)
}

/// A size-prefixed frame from a raw body, with a well-formed header.
pub fn frame(
    api_key: i16,
    version: i16,
    correlation_id: i32,
    body: &[u8],
) -> anyhow::Result<Vec<u8>> {
    let mut out = request_header(api_key, version, correlation_id)?;
    out.extend_from_slice(body);
    Ok(size_prefixed(&out))
}

/// The encoded request header for `api_key` and `version`; header v2 for
/// unknown keys and versions (what a client that knows them would send).
pub fn request_header(api_key: i16, version: i16, correlation_id: i32) -> anyhow::Result<Vec<u8>> {
    let header_version = match ApiKey::try_from(api_key) {
        Ok(key) if (key.valid_versions().min..=key.valid_versions().max).contains(&version) => {
            key.request_header_version(version)
        }
        _ => 2,
    };
    let header = RequestHeader::default()
        .with_request_api_key(api_key)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
    let mut out = BytesMut::new();
    header
        .encode(&mut out, header_version)
        .context("encoding request header")?;
    Ok(out.to_vec())
}

pub fn size_prefixed(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    // Test payloads are far below 2 GiB.
    let size = i32::try_from(payload.len()).unwrap_or(i32::MAX);
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// "Metadata(3)" style name for messages.
pub fn api_name(api_key: i16) -> String {
    match ApiKey::try_from(api_key) {
        Ok(key) => format!("{key:?}({api_key})"),
        Err(()) => format!("api key {api_key}"),
    }
}
