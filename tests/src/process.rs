//! Runs a real `strom` process for a test: finds the binary, starts it on a free
//! loopback port with its own data directory, waits until it answers
//! ApiVersions, and kills it when dropped.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tempfile::TempDir;

use crate::client::KafkaConnection;

/// How long a starting broker may take to answer its first request. Generous
/// because a debug build on a loaded 2-core machine can be slow to start.
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// How often readiness and exit are polled.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// The `strom` binary the tests run: `STROM_BIN` if set, else the newer of
/// `target/release/strom` and `target/debug/strom` under the workspace's target
/// directory (`CARGO_TARGET_DIR` if set). Nothing is built here.
pub fn strom_bin() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("STROM_BIN") {
        let bin = PathBuf::from(bin);
        if !bin.is_file() {
            bail!("STROM_BIN={} is not a file", bin.display());
        }
        return Ok(bin);
    }
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target"),
    };
    let candidates = [
        target_dir.join("release/strom"),
        target_dir.join("debug/strom"),
    ];
    let (built, bin) = candidates
        .iter()
        .filter_map(|path| Some((path.metadata().ok()?.modified().ok()?, path)))
        .max_by_key(|(modified, _)| *modified)
        .with_context(|| {
            format!(
                "no strom binary: run `cargo build --release -p strom` first or set STROM_BIN (looked for {})",
                candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            )
        })?;
    if newest_source(&workspace_root().join("crates")).is_some_and(|source| source > built) {
        eprintln!(
            "warning: {} is older than the sources in crates/: rebuild it to test current code",
            bin.display()
        );
    }
    Ok(bin.clone())
}

/// Modification time of the newest file under `dir`.
fn newest_source(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let modified = if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            newest_source(&path)
        } else {
            entry.metadata().ok()?.modified().ok()
        };
        newest = newest.max(modified);
    }
    newest
}

/// The workspace root: this crate lives in `<root>/tests`.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A loopback port that was free a moment ago. The broker binds it right after,
/// so a collision is unlikely; [`StromProcess::start`] retries if it happens.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding an ephemeral port")?;
    Ok(listener.local_addr()?.port())
}

/// A running broker. Dropping it kills the process (SIGKILL) and removes its
/// data directory unless the directory was handed in.
pub struct StromProcess {
    child: Child,
    addr: SocketAddr,
    data_dir: PathBuf,
    log_path: PathBuf,
    extra_env: Vec<(String, String)>,
    /// Set when the listeners come from the environment, not `--listen`.
    fixed_addr: Option<SocketAddr>,
    /// Owns the temporary directories (data, log) when this process made them.
    _temp: Option<TempDir>,
    _log_dir: TempDir,
}

impl StromProcess {
    /// Starts a broker on a free port with a fresh, temporary data directory.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with_env(&[])
    }

    /// Like [`StromProcess::start`], with extra environment variables such as
    /// `STROM_AUTO_CREATE_TOPICS=false`.
    pub fn start_with_env(env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let temp = tempfile::Builder::new().prefix("strom-data-").tempdir()?;
        let data_dir = temp.path().to_path_buf();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::start_inner(data_dir, Some(temp), env, None)
    }

    /// Starts a broker whose listeners come from the environment alone (no
    /// `--listen` flag), e.g. `STROM_LISTENERS` with several listeners.
    /// `ready_addr` is the address polled for readiness and returned by
    /// [`StromProcess::addr`].
    pub fn start_with_listeners(
        env: &[(&str, &str)],
        ready_addr: SocketAddr,
    ) -> anyhow::Result<Self> {
        let temp = tempfile::Builder::new().prefix("strom-data-").tempdir()?;
        let data_dir = temp.path().to_path_buf();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::start_inner(data_dir, Some(temp), env, Some(ready_addr))
    }

    /// Starts a broker on `data_dir`, which outlives the process (for restarts).
    pub fn start_in(data_dir: &Path) -> anyhow::Result<Self> {
        Self::start_inner(data_dir.to_path_buf(), None, Vec::new(), None)
    }

    /// [`StromProcess::start_in`] with extra environment variables.
    pub fn start_in_with_env(data_dir: &Path, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self::start_inner(data_dir.to_path_buf(), None, env, None)
    }

    fn start_inner(
        data_dir: PathBuf,
        temp: Option<TempDir>,
        extra_env: Vec<(String, String)>,
        fixed_addr: Option<SocketAddr>,
    ) -> anyhow::Result<Self> {
        let bin = strom_bin()?;
        let log_dir = tempfile::Builder::new().prefix("strom-log-").tempdir()?;
        let mut last_error = None;
        // A port taken between `free_port` and the broker's bind makes it exit;
        // try a few ports before giving up.
        let attempts = if fixed_addr.is_some() { 1 } else { 3 };
        for attempt in 0..attempts {
            let addr = match fixed_addr {
                Some(addr) => addr,
                None => ([127, 0, 0, 1], free_port()?).into(),
            };
            let listen = if fixed_addr.is_some() {
                None
            } else {
                Some(addr)
            };
            let log_path = log_dir.path().join(format!("strom-{attempt}.log"));
            let mut child = spawn(&bin, listen, &data_dir, &log_path, &extra_env)?;
            match wait_ready(&mut child, addr, &log_path) {
                Ok(()) => {
                    return Ok(StromProcess {
                        child,
                        addr,
                        data_dir,
                        log_path,
                        extra_env,
                        fixed_addr,
                        _temp: temp,
                        _log_dir: log_dir,
                    })
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_error = Some(e.context(format!("starting {} on {addr}", bin.display())));
                }
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("broker did not start")))
    }

    /// Where the broker listens (and advertises itself).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A new connection to the broker.
    pub fn connect(&self) -> anyhow::Result<KafkaConnection> {
        KafkaConnection::connect(self.addr)
    }

    /// `None` while the process runs, its exit status once it has exited.
    pub fn exit_status(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// What the broker wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The last `lines` lines of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path, lines)
    }

    /// Sends SIGTERM and waits up to `timeout` for the process to exit.
    pub fn terminate(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let pid = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .context("pid out of range")?;
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .context("sending SIGTERM")?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!(
                    "strom did not exit within {timeout:?} of SIGTERM; log:\n{}",
                    self.log_tail(20)
                );
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Stops the process gracefully (SIGTERM) and starts a new one on the same
    /// data directory and environment (on a new port).
    pub fn restart(mut self) -> anyhow::Result<Self> {
        self.terminate(Duration::from_secs(5))?;
        self.respawn()
    }

    /// Kills the process (SIGKILL, no chance to clean up) and starts a new one on
    /// the same data directory.
    pub fn kill_and_restart(mut self) -> anyhow::Result<Self> {
        self.child.kill()?;
        self.child.wait()?;
        self.respawn()
    }

    fn respawn(mut self) -> anyhow::Result<Self> {
        let temp = self._temp.take();
        let next = Self::start_inner(
            self.data_dir.clone(),
            temp,
            self.extra_env.clone(),
            self.fixed_addr,
        )?;
        Ok(next)
    }
}

impl Drop for StromProcess {
    fn drop(&mut self) {
        // Already exited is fine; anything else we cannot report from drop.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls until the broker answers ApiVersions, or fails if it exits first.
fn wait_ready(child: &mut Child, addr: SocketAddr, log_path: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "strom exited during startup with {status}; log:\n{}",
                log_tail(log_path, 20)
            );
        }
        if let Ok(mut conn) = KafkaConnection::connect(addr) {
            if conn.api_versions(0).is_ok() {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "strom did not answer within {READY_TIMEOUT:?}; log:\n{}",
                log_tail(log_path, 20)
            );
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

fn log_tail(log_path: &Path, lines: usize) -> String {
    let log = std::fs::read_to_string(log_path).unwrap_or_default();
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn spawn(
    bin: &Path,
    listen: Option<SocketAddr>,
    data_dir: &Path,
    log_path: &Path,
    extra_env: &[(String, String)],
) -> anyhow::Result<Child> {
    let log = File::create(log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let mut command = Command::new(bin);
    command.arg("--data-dir").arg(data_dir);
    if let Some(addr) = listen {
        command.arg("--listen").arg(addr.to_string());
    }
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // Settings from the developer's shell must not leak into the test broker.
    for (key, _) in std::env::vars() {
        if key.starts_with("STROM_") && key != "STROM_BIN" && key != "STROM_LOG" {
            command.env_remove(key);
        }
    }
    for (key, value) in extra_env {
        command.env(key, value);
    }
    command
        .spawn()
        .with_context(|| format!("spawning {}", bin.display()))
}
