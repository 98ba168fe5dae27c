//! Accepts connections on every listener, one task per connection, and shuts
//! down gracefully: stop accepting, let each connection finish the request it
//! is answering, wait for them (bounded), return.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};

use crate::broker::Broker;
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
                let client_host = format!("/{}", peer.ip());
                let connection =
                    Connection { broker: Arc::clone(&broker), listener: Arc::clone(&name), peer, client_host, limits: Arc::clone(&limits) };
                let (shutdown, done) = (shutdown.clone(), done.clone());
                let span = tracing::debug_span!("connection", listener = %name, %peer);
                tokio::spawn(tracing::Instrument::instrument(
                    async move {
                        tracing::debug!("accepted");
                        connection.run(stream, shutdown).await;
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
