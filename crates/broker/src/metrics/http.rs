//! The operator's HTTP endpoint, on `metrics_listen`: `GET /metrics`
//! (Prometheus text format) and `GET /health` (for docker-compose
//! healthchecks and orchestrators' probes). HTTP/1 by hyper; nothing here
//! parses HTTP by hand.
//!
//! `/health` answers 200 `ok` while the broker serves and every partition
//! log is online, and 503 with the reason otherwise: during shutdown, or
//! when a log went offline after a disk error, which a restart recovers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use super::collector::StateCollector;

/// Scrapers and probes served at once; more wait. A handful is plenty, and it
/// keeps a flood on this port from costing the broker anything.
const MAX_HTTP_CONNECTIONS: usize = 16;
/// A client must send its request headers within this.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// An HTTP connection is closed after this, whatever it is doing.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves until `shutdown` turns true.
pub async fn serve(listener: TcpListener, state: StateCollector, mut shutdown: watch::Receiver<bool>) {
    let state = Arc::new(state);
    let limit = Arc::new(Semaphore::new(MAX_HTTP_CONNECTIONS));
    loop {
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else { return };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "metrics endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let (state, shutdown) = (Arc::clone(&state), shutdown.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let response = respond(&state, &req, *shutdown.borrow());
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            if let Ok(Err(error)) = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await {
                tracing::debug!(%error, "metrics endpoint: connection failed");
            }
            drop(permit);
        });
    }
}

fn respond(state: &StateCollector, req: &Request<hyper::body::Incoming>, shutting_down: bool) -> Response<Full<Bytes>> {
    if req.method() != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".into());
    }
    match req.uri().path() {
        "/metrics" => match super::get().encode(state) {
            Ok(body) => {
                let mut response = text(StatusCode::OK, body);
                if let Ok(value) = "application/openmetrics-text; version=1.0.0; charset=utf-8".parse() {
                    response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
                }
                response
            }
            Err(error) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot encode metrics: {error}\n")),
        },
        "/health" => {
            let (status, body) = health(state, shutting_down);
            text(status, body)
        }
        _ => text(StatusCode::NOT_FOUND, "GET /metrics or /health\n".into()),
    }
}

fn health(state: &StateCollector, shutting_down: bool) -> (StatusCode, String) {
    if shutting_down {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n".into());
    }
    let offline: Vec<String> = state
        .partitions
        .manager()
        .logs()
        .into_iter()
        .filter(|(_, log)| log.offline().is_some())
        .map(|((topic, partition), _)| format!("{topic}-{partition}"))
        .collect();
    if offline.is_empty() {
        (StatusCode::OK, "ok\n".into())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("offline partitions (a restart recovers them): {}\n", offline.join(", ")))
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}
