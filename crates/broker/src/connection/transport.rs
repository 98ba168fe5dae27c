//! What a connection writes its responses to: plain TCP, or TLS over it.
//!
//! A Fetch response's larger records stay in their log file until written
//! ([`FileRecords`]). On plain TCP they go with sendfile(2): the kernel hands
//! the page-cache pages to the socket, so the broker neither reads them into
//! memory nor copies them into the socket, as Kafka does with
//! `FileChannel.transferTo`. TLS must encrypt them, so there they are read
//! (into a pooled buffer) and written like any other bytes.

use std::future::Future;
use std::io;
use std::os::fd::BorrowedFd;

use strom_protocol::fetch_response::RecordsApart;
use strom_storage::buffer_pool::BufferPool;
use strom_storage::segment::FileSlice;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

/// Records of a Fetch response sent from their file.
#[derive(Debug, Clone)]
pub struct FileRecords(pub FileSlice);

impl RecordsApart for FileRecords {
    fn len(&self) -> usize {
        self.0.len
    }
}

/// A stream responses are written to.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send {
    /// Writes `records` whole. On error the stream is unusable (part of the
    /// frame may be written): the caller closes it.
    fn write_records(&mut self, records: &FileRecords, pool: &BufferPool) -> impl Future<Output = io::Result<()>> + Send;
}

impl Transport for TcpStream {
    async fn write_records(&mut self, records: &FileRecords, pool: &BufferPool) -> io::Result<()> {
        let slice = &records.0;
        let Some(file) = slice.file.as_fd() else {
            return copy_records(self, slice, pool).await;
        };
        let mut position = slice.position;
        let end = slice.position + slice.len as u64;
        while position < end {
            let left = usize::try_from(end - position).unwrap_or(usize::MAX);
            match send_some(self, file, &mut position, left).await {
                Ok(0) => {
                    tracing::error!(position, end, "fetch read failed: the log file is shorter than the records fetched; closing the connection");
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "log file shorter than the records fetched"));
                }
                Ok(_) => {}
                // Files sendfile cannot read from: the rest the ordinary way.
                Err(error) if matches!(rustix::io::Errno::from_io_error(&error), Some(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS)) => {
                    let rest = FileSlice { file: slice.file.clone(), position, len: left };
                    return copy_records(self, &rest, pool).await;
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

/// One sendfile(2) once the socket is writable; `position` moves past what was sent.
async fn send_some(stream: &TcpStream, file: BorrowedFd<'_>, position: &mut u64, len: usize) -> io::Result<usize> {
    loop {
        stream.writable().await?;
        // try_io clears the readiness on WouldBlock, so the next writable() waits.
        match stream.try_io(Interest::WRITABLE, || rustix::fs::sendfile(stream, file, Some(position), len).map_err(io::Error::from)) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock || error.kind() == io::ErrorKind::Interrupted => continue,
            sent => return sent,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Transport for tokio_rustls::server::TlsStream<S> {
    async fn write_records(&mut self, records: &FileRecords, pool: &BufferPool) -> io::Result<()> {
        copy_records(self, &records.0, pool).await
    }
}

/// Reads `slice` into a pooled buffer and writes it.
pub async fn copy_records<W: AsyncWrite + Unpin + Send>(stream: &mut W, slice: &FileSlice, pool: &BufferPool) -> io::Result<()> {
    let bytes = slice.read_pooled(pool).inspect_err(|error| {
        tracing::error!(position = slice.position, len = slice.len, %error, "fetch read failed; closing the connection");
    })?;
    let written = stream.write_all(&bytes).await;
    pool.recycle([bytes]);
    written
}
