//! Prometheus metrics, served with the health check by [`http`] on
//! `metrics_listen`. Names follow Prometheus conventions (`_total` counters,
//! `_seconds` histograms); the Kafka metric each stands for is in its help.
//!
//! - counted as they happen (process-wide, [`get`]): requests by API, errors
//!   by API and error code (every error code in a response, as Kafka's
//!   `RequestMetrics.ErrorsPerSec` counts `errorCounts()`), request latency,
//!   network bytes in and out, open connections, flush latency, connection
//!   errors;
//! - read at scrape time ([`collector`]): per partition the log start and end
//!   offsets, high watermark, size and offline state; per consumer group and
//!   partition the lag (high watermark minus committed offset).

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

pub mod collector;
mod errors;
pub mod http;

pub use errors::{error_codes, fetch_error_codes};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiLabels {
    pub api: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiErrorLabels {
    pub api: String,
    pub error: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    pub listener: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

/// Request latencies from 100 µs to about 26 s (the longest long-poll fetch
/// clients send is 500 ms by default; admin requests can take seconds).
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 4.0, 10))
}

/// The metrics counted as they happen.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<ApiLabels, Counter>,
    pub errors: Family<ApiErrorLabels, Counter>,
    pub request_seconds: Family<ApiLabels, Histogram, fn() -> Histogram>,
    pub bytes_in: Counter,
    pub bytes_out: Counter,
    pub connections: Family<ListenerLabels, Gauge>,
    pub connections_closed: Family<ReasonLabels, Counter>,
    pub flush_seconds: Histogram,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("strom");
        let requests = Family::<ApiLabels, Counter>::default();
        registry.register("requests", "Requests answered, by API (Kafka: RequestsPerSec)", requests.clone());
        let errors = Family::<ApiErrorLabels, Counter>::default();
        registry.register("request_errors", "Error codes in responses, by API and error (Kafka: ErrorsPerSec)", errors.clone());
        let request_seconds = Family::<ApiLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("request_duration_seconds", "Time from a request read to its response ready (Kafka: TotalTimeMs)", request_seconds.clone());
        let bytes_in = Counter::default();
        registry.register("network_received_bytes", "Request bytes read from clients (Kafka: BytesInPerSec counts record bytes)", bytes_in.clone());
        let bytes_out = Counter::default();
        registry.register("network_sent_bytes", "Response bytes written to clients (Kafka: BytesOutPerSec)", bytes_out.clone());
        let connections = Family::<ListenerLabels, Gauge>::default();
        registry.register("connections", "Open client connections, by listener (Kafka: connection-count)", connections.clone());
        let connections_closed = Family::<ReasonLabels, Counter>::default();
        registry.register("connections_closed", "Connections the broker closed or refused, by reason", connections_closed.clone());
        let flush_seconds = latency_histogram();
        registry.register("log_flush_duration_seconds", "fsync time of acks=all produces under a flush policy (Kafka: LogFlushRateAndTimeMs)", flush_seconds.clone());
        Self { registry, requests, errors, request_seconds, bytes_in, bytes_out, connections, connections_closed, flush_seconds }
    }

    /// Counts one answered request: its API, latency and the error codes of its response.
    pub fn request(&self, api: &str, elapsed: Duration, error_codes: &[i16]) {
        let labels = ApiLabels { api: api.to_string() };
        self.requests.get_or_create(&labels).inc();
        self.request_seconds.get_or_create(&labels).observe(elapsed.as_secs_f64());
        for &code in error_codes.iter().filter(|&&c| c != 0) {
            self.errors.get_or_create(&ApiErrorLabels { api: labels.api.clone(), error: errors::error_name(code) }).inc();
        }
    }

    /// Counts an open connection on `listener` until the guard is dropped.
    pub fn connection(&self, listener: &str) -> ConnectionGuard {
        let gauge = self.connections.get_or_create(&ListenerLabels { listener: listener.to_string() }).clone();
        gauge.inc();
        ConnectionGuard(gauge)
    }

    /// Counts a connection the broker closed (or refused) because of `reason`.
    pub fn closed(&self, reason: &'static str) {
        self.connections_closed.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// The text exposition of these metrics and `extra`'s.
    pub fn encode(&self, extra: &collector::StateCollector) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode_registry(&mut text, &self.registry)?;
        let mut scraped = Registry::with_prefix("strom");
        scraped.register_collector(Box::new(extra.clone()));
        prometheus_client::encoding::text::encode_registry(&mut text, &scraped)?;
        prometheus_client::encoding::text::encode_eof(&mut text)?;
        Ok(text)
    }
}

/// Keeps a connection counted in [`Metrics::connections`].
pub struct ConnectionGuard(Gauge);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The process's metrics.
pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}
