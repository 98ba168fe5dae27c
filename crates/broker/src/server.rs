//! Accepts connections on every listener, one task per connection, and shuts
//! down gracefully: stop accepting, let each connection finish the request it
//! is answering, wait for them (bounded), return. SSL and SASL_SSL listeners
//! do the TLS handshake in the connection's task, bounded by the
//! authentication timeout.

use std::sync::Arc;
use std::time::Duration;

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;

use crate::auth::session::Session;
use crate::auth::{tls, Principal};
use crate::broker::Broker;
use crate::config::SecurityProtocol;
use crate::connection::Connection;
use crate::limits::Limits;
use crate::metrics;

/// How long shutdown waits for connections to finish their current request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after an accept error (e.g. out of file descriptors) before retrying.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// A bound listener and its name.
pub struct BoundListener {
    pub name: String,
    pub listener: TcpListener,
}

/// Serves until `shutdown` completes, then drains connections.
pub async fn serve(listeners: Vec<BoundListener>, broker: Arc<Broker>, shutdown: impl std::future::Future<Output = ()>) {
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    // Every connection task holds a sender; when all are gone, recv() ends.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let limit = Arc::new(Semaphore::new(broker.config.max_connections));
    let limits = Limits::new(&broker.config);
    for bound in listeners {
        let limits = Arc::clone(&limits);
        tokio::spawn(accept_loop(bound, Arc::clone(&broker), Arc::clone(&limit), limits, shutdown_rx.clone(), done_tx.clone()));
    }
    drop(done_tx);
    shutdown.await;
    tracing::info!("shutting down");
    let _ = shutdown_tx.send(true);
    // Long-polling fetches answer now instead of holding their connection
    // for up to max_wait_ms of the grace period.
    broker.partitions.waiters().close();
    if tokio::time::timeout(SHUTDOWN_GRACE, done_rx.recv()).await.is_err() {
        tracing::warn!("connections still busy after {SHUTDOWN_GRACE:?}; closing them");
    }
}

async fn accept_loop(
    bound: BoundListener,
    broker: Arc<Broker>,
    limit: Arc<Semaphore>,
    limits: Arc<Limits>,
    mut shutdown: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) {
    let name: Arc<str> = Arc::from(bound.name.as_str());
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&limit).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            _ = shutdown.changed() => return,
        };
        let accepted = tokio::select! {
            accepted = bound.listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                let Some(ip_slot) = limits.admit(peer.ip()) else {
                    tracing::info!(listener = %name, %peer, max = broker.config.max_connections_per_ip, "refusing connection: too many from this IP (max_connections_per_ip)");
                    metrics::get().closed("max_connections_per_ip");
                    continue;
                };
                let _ = stream.set_nodelay(true);
                if broker.config.socket_send_buffer_bytes.is_some() {
                    limit_unsent_bytes(&stream);
                }
                let (broker, name, limits, shutdown, done) =
                    (Arc::clone(&broker), Arc::clone(&name), Arc::clone(&limits), shutdown.clone(), done.clone());
                let span = tracing::debug_span!("connection", listener = %name, %peer);
                tokio::spawn(tracing::Instrument::instrument(
                    async move {
                        tracing::debug!("accepted");
                        serve_connection(broker, name, limits, stream, peer, shutdown).await;
                        drop(ip_slot);
                        drop(permit);
                        drop(done);
                    },
                    span,
                ));
            }
            Err(error) => {
                tracing::warn!(listener = %name, %error, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
            }
        }
    }
}

/// Runs one accepted connection, after the TLS handshake where its listener wants one.
async fn serve_connection(
    broker: Arc<Broker>,
    listener: Arc<str>,
    limits: Arc<Limits>,
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
) {
    let protocol = broker.config.security.protocol_of(&listener);
    let auth_deadline = Instant::now() + Duration::from_millis(broker.config.security.authentication_timeout_ms);
    let connection = |principal| Connection {
        broker: Arc::clone(&broker),
        listener: Arc::clone(&listener),
        peer,
        client_host: format!("/{}", peer.ip()),
        limits: Arc::clone(&limits),
        session: Session::new(protocol, principal),
        auth_deadline,
    };
    if !protocol.uses_tls() {
        return connection(Principal::anonymous()).run(stream, shutdown).await;
    }
    let Some(source) = &broker.tls else {
        tracing::error!(%listener, "no TLS certificates for this listener; closing the connection");
        return;
    };
    let tls_stream = match tokio::time::timeout_at(auth_deadline, source.acceptor().accept(stream)).await {
        Ok(Ok(tls_stream)) => tls_stream,
        Ok(Err(error)) => {
            let error = tls::handshake_error(&error);
            tracing::info!(%peer, %listener, %error, "failed authentication: TLS handshake failed");
            metrics::get().closed("tls_handshake_failed");
            return;
        }
        Err(_) => {
            tracing::info!(%peer, %listener, "closing connection: TLS handshake did not finish in time");
            metrics::get().closed("authentication_timeout");
            return;
        }
    };
    // SSL: the certificate subject; SASL_SSL: whoever logs in with SASL.
    let principal = match (protocol, tls_stream.get_ref().1.peer_certificates().and_then(|c| c.first())) {
        (SecurityProtocol::Ssl, Some(cert)) => {
            let Some(subject) = tls::certificate_subject(cert) else {
                tracing::info!(%peer, %listener, "failed authentication: unreadable client certificate subject");
                metrics::get().closed("authentication_failed");
                return;
            };
            let mapper = &broker.config.security.principal_mapper;
            let Some(name) = mapper.map(&subject) else {
                tracing::info!(%peer, %listener, %subject, rules = %mapper.describe(), "failed authentication: no ssl_principal_mapping_rules rule applies to the certificate subject");
                metrics::get().closed("authentication_failed");
                return;
            };
            Principal::user(&name)
        }
        _ => Principal::anonymous(),
    };
    connection(principal).run(tls_stream, shutdown).await;
}

/// With a bounded send buffer, a connection whose client drains it as fast as
/// the broker fills it could still take a long sendfile(2) that pushes
/// whatever space each ACK frees, in small segments, at about 3x the CPU per
/// byte; holding at most this much unsent data makes the broker fill the
/// buffer and sleep instead (docs/benchmarks.md, optimisation 12).
const NOTSENT_LOWAT_BYTES: u32 = 64 * 1024;

#[cfg(any(target_os = "linux", target_os = "android"))]
fn limit_unsent_bytes(stream: &tokio::net::TcpStream) {
    if let Err(error) = socket2::SockRef::from(stream).set_tcp_notsent_lowat(NOTSENT_LOWAT_BYTES) {
        tracing::debug!(%error, "cannot set TCP_NOTSENT_LOWAT");
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn limit_unsent_bytes(_stream: &tokio::net::TcpStream) {
    let _ = NOTSENT_LOWAT_BYTES;
}
