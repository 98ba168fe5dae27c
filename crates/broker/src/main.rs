//! `strom`: a Kafka-compatible message broker.
//!
//! Startup: read the config, bind every listener, open the cluster metadata
//! log and the partition logs, then serve until SIGTERM or SIGINT; shutdown
//! drains connections, flushes every log and marks the shutdown clean.

mod api;
mod auth;
mod broker;
mod config;
mod connection;
mod fetch_waiters;
mod group;
mod limits;
mod metadata;
mod metrics;
mod open_files;
mod partitions;
mod record_codec;
mod server;
mod txn;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tokio::net::{TcpListener, TcpSocket};

use crate::auth::tls::TlsSource;
use crate::broker::Broker;
use crate::config::{Config, Layers, Overrides};
use crate::metadata::{BrokerRegistration, Endpoint, MetadataStore, TopicDefaults};
use crate::partitions::Partitions;
use crate::server::BoundListener;
use strom_storage::cleaner::CleanerConfig;

/// How often `flush.ms` and segments rolled since the last flush are checked
/// (Kafka: log.flush.scheduler.interval.ms).
const FLUSH_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How often retention runs (Kafka: log.retention.check.interval.ms, 5 minutes).
const RETENTION_CHECK_INTERVAL: Duration = Duration::from_secs(300);

/// A Kafka-compatible message broker.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// YAML config file (see config/strom.yaml); environment and flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where topics and cluster metadata are kept [default: ./data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address of the PLAINTEXT listener [default: 0.0.0.0:9092].
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Address clients are told to use for that listener [default: localhost:<port>].
    #[arg(long, value_name = "HOST:PORT")]
    advertise: Option<String>,
    /// This broker's id [default: 1].
    #[arg(long, value_name = "N")]
    node_id: Option<i32>,
}

impl Cli {
    fn overrides(&self) -> Overrides {
        Overrides {
            node_id: self.node_id,
            data_dir: self.data_dir.clone(),
            listeners: self.listen.as_ref().map(|a| format!("PLAINTEXT://{a}")),
            advertised_listeners: self.advertise.as_ref().map(|a| format!("PLAINTEXT://{a}")),
            ..Overrides::default()
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match load_config(&cli) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("strom: {error}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log).unwrap_or_else(|error| {
        eprintln!("strom: log: {error}; using \"info\"");
        tracing_subscriber::EnvFilter::new("info")
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
    match open_files::raise_to_hard_limit() {
        Ok((before, after)) if before != after => tracing::debug!(?before, ?after, "raised the open-files limit to its hard limit"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot raise the open-files limit; many partitions may need `ulimit -n`"),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("strom: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(cli: &Cli) -> Result<Config, config::ConfigError> {
    let file = match &cli.config {
        Some(path) => Some((path.display().to_string(), Overrides::from_file(path)?)),
        None => None,
    };
    let env = Overrides::from_env(|name| std::env::var(name).ok())?;
    Config::resolve(Layers { file, env, flags: cli.overrides() })
}

/// What `listen` sets on each listening socket (see `Config`).
#[derive(Clone, Copy)]
struct SocketOptions {
    backlog: u32,
    send_buffer_bytes: Option<u32>,
    receive_buffer_bytes: Option<u32>,
}

/// Binds `address` (the first of its resolved addresses that binds, as
/// `TcpListener::bind` does) with the configured listen queue and socket buffers.
async fn listen(address: &str, options: SocketOptions) -> std::io::Result<TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(address).await? {
        let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        // As TcpListener::bind: a restarted broker can bind while old connections linger in TIME_WAIT.
        socket.set_reuseaddr(true)?;
        // Accepted connections inherit both buffers (and the receive buffer must
        // be set before listen, so the window scale offered in the SYN-ACK fits it).
        if let Some(bytes) = options.send_buffer_bytes {
            socket.set_send_buffer_size(bytes)?;
        }
        if let Some(bytes) = options.receive_buffer_bytes {
            socket.set_recv_buffer_size(bytes)?;
        }
        let backlog = options.backlog;
        match socket.bind(addr).and_then(|()| socket.listen(backlog)) {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the address resolves to nothing")))
}

async fn run(mut config: Config) -> anyhow::Result<()> {
    let signal = shutdown_signal();
    let mut bound = Vec::new();
    let options = SocketOptions {
        backlog: config.socket_listen_backlog_size,
        send_buffer_bytes: config.socket_send_buffer_bytes,
        receive_buffer_bytes: config.socket_receive_buffer_bytes,
    };
    for (listener, advertised) in config.listeners.iter().zip(config.advertised.iter_mut()) {
        let address = listener.bind_address();
        let tcp = listen(&address, options)
            .await
            .with_context(|| format!("cannot listen on {address} (listener {})", listener.name))?;
        let local = tcp.local_addr().with_context(|| format!("listener {}", listener.name))?;
        if advertised.port == 0 {
            advertised.port = local.port(); // "port 0" means any free port: advertise the one we got
        }
        let protocol = config.security.protocol_of(&listener.name);
        tracing::info!(protocol = %protocol.name(), "listening on {local} (advertised as {}:{})", advertised.host, advertised.port);
        bound.push(BoundListener { name: listener.name.clone(), listener: tcp });
    }
    let metrics_listener = match &config.metrics_listen {
        Some(address) => {
            let tcp = TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address} (metrics_listen)"))?;
            tracing::info!("metrics and health on http://{}/metrics and /health", tcp.local_addr().map_or(address.clone(), |a| a.to_string()));
            Some(tcp)
        }
        None => None,
    };
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
    let partitions = Arc::new(
        Partitions::open(&config.data_dir, config.node_id)
            .context("cannot open the partition logs")?
            .with_max_decompressed_bytes(config.max_decompressed_batch_bytes),
    );
    let registration = BrokerRegistration {
        node_id: config.node_id,
        endpoints: config
            .advertised
            .iter()
            .map(|a| Endpoint { listener: a.name.clone(), host: a.host.clone(), port: i32::from(a.port) })
            .collect(),
        rack: None,
    };
    let defaults = TopicDefaults { num_partitions: config.num_partitions, replication_factor: config.default_replication_factor };
    let metadata = Arc::new(
        MetadataStore::open(&config.data_dir, defaults, registration).context("cannot open the cluster metadata log")?,
    );
    let publisher = Arc::clone(&partitions);
    metadata.add_publisher(Box::new(move |image| publisher.publish(image)));
    let security = &config.security;
    if !security.sasl_users.is_empty() {
        let (users, iterations) = (security.sasl_users.clone(), security.scram_iterations);
        let store = Arc::clone(&metadata);
        let written = tokio::task::spawn_blocking(move || store.bootstrap_scram_users(&users, iterations))
            .await
            .context("salting the configured SASL users")?
            .context("cannot write the configured SASL users to the metadata log")?;
        if written > 0 {
            tracing::info!(credentials = written, "stored salted SCRAM credentials for the configured users");
        }
    }
    let tls = match &security.tls {
        Some(tls_config) => Some(Arc::new(TlsSource::load(tls_config).context("cannot set up TLS")?)),
        None => None,
    };
    let broker = Arc::new(Broker::new(config, metadata, Arc::clone(&partitions)).with_tls(tls.clone()));
    let started = std::time::Instant::now();
    let loaded = broker.groups.load().map_err(anyhow::Error::msg).context("cannot load __consumer_offsets")?;
    if loaded.records > 0 {
        tracing::info!(
            groups = loaded.groups,
            records = loaded.records,
            unreadable = loaded.unreadable,
            ms = started.elapsed().as_millis() as u64,
            "loaded consumer groups"
        );
    }
    let started = std::time::Instant::now();
    let loaded = broker.txns.load().map_err(anyhow::Error::msg).context("cannot load __transaction_state")?;
    if loaded.records > 0 {
        tracing::info!(
            transactional_ids = loaded.transactional_ids,
            records = loaded.records,
            unreadable = loaded.unreadable,
            completing = loaded.completing,
            ms = started.elapsed().as_millis() as u64,
            "loaded transactions"
        );
    }
    let group_timers = tokio::spawn(Arc::clone(&broker.groups).run_timers());
    let txn_timers = tokio::spawn(Arc::clone(&broker.txns).run_timers());
    let housekeeping = tokio::spawn(housekeeping(Arc::clone(&partitions)));
    let cleaner = CleanerConfig { dedupe_buffer_bytes: broker.config.log_cleaner_dedupe_buffer_size };
    let backoff = Duration::from_millis(broker.config.log_cleaner_backoff_ms);
    let log_cleaner = tokio::spawn(log_cleaner(Arc::clone(&partitions), backoff, cleaner));
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    if let Some(listener) = metrics_listener {
        let state = metrics::collector::StateCollector { partitions: Arc::clone(&partitions), groups: Arc::clone(&broker.groups) };
        tokio::spawn(metrics::http::serve(listener, state, stopping));
    }
    let shutdown = async move {
        signal.await;
        let _ = stopping_tx.send(true); // /health answers 503 from now on
    };
    let tls_reload = tls.map(|tls| tokio::spawn(reload_certificates(tls)));
    server::serve(bound, broker, shutdown).await;
    housekeeping.abort();
    log_cleaner.abort(); // a pass under way stops when the logs close
    if let Some(task) = tls_reload {
        task.abort();
    }
    group_timers.abort();
    txn_timers.abort();
    tokio::task::spawn_blocking(move || partitions.close())
        .await
        .context("flushing logs at shutdown")?
        .context("flushing logs at shutdown")?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Time-based log maintenance: `flush.ms`, the fsync of rolled segments and
/// retention.
async fn housekeeping(partitions: Arc<Partitions>) {
    let mut flush = tokio::time::interval(FLUSH_CHECK_INTERVAL);
    let mut retention = tokio::time::interval(RETENTION_CHECK_INTERVAL);
    loop {
        tokio::select! {
            _ = flush.tick() => {
                let partitions = Arc::clone(&partitions);
                let _ = tokio::task::spawn_blocking(move || partitions.manager().flush_due(now_ms())).await;
            }
            _ = retention.tick() => {
                let partitions = Arc::clone(&partitions);
                let _ = tokio::task::spawn_blocking(move || partitions.manager().apply_retention(now_ms())).await;
            }
        }
    }
}

/// Compaction of `cleanup.policy=compact` logs, every `log.cleaner.backoff.ms`
/// on a blocking thread (Kafka's cleaner thread, which sleeps as long when
/// no log is due). Apart from the other housekeeping so a long pass never
/// delays `flush.ms`.
async fn log_cleaner(partitions: Arc<Partitions>, backoff: Duration, cleaner: CleanerConfig) {
    let mut tick = tokio::time::interval(backoff);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (partitions, cleaner) = (Arc::clone(&partitions), cleaner.clone());
        let _ = tokio::task::spawn_blocking(move || partitions.manager().clean_logs(now_ms(), &cleaner)).await;
    }
}

/// Reloads TLS certificates when their files change (checked every
/// `ssl_reload_interval_ms`) and on SIGHUP.
async fn reload_certificates(tls: Arc<TlsSource>) {
    let interval_ms = tls.reload_interval_ms();
    let mut tick = tokio::time::interval(Duration::from_millis(if interval_ms == 0 { u64::MAX / 4 } else { interval_ms }));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let hup = async {
            match hangup.as_mut() {
                Some(signal) => signal.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hup = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = tick.tick(), if interval_ms > 0 => {
                let tls = Arc::clone(&tls);
                let _ = tokio::task::spawn_blocking(move || tls.reload_if_changed()).await;
            }
            _ = hup => {
                tracing::info!("SIGHUP: reloading TLS certificates");
                let tls = Arc::clone(&tls);
                let _ = tokio::task::spawn_blocking(move || tls.reload()).await;
            }
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Resolves on SIGTERM or SIGINT. Both are watched from the call on, not
/// from the first poll: call it before startup, so that a signal arriving
/// while the broker starts up (or just as it begins serving) is not fatal
/// but starts a clean shutdown as soon as the broker serves.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let watch = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|error| tracing::warn!(%error, "cannot watch {name}")).ok()
        };
        let (term, int) = (watch(SignalKind::terminate(), "SIGTERM"), watch(SignalKind::interrupt(), "SIGINT"));
        async move {
            let received = |signal: Option<tokio::signal::unix::Signal>| async move {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = received(term) => {}
                _ = received(int) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
