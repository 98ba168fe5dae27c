"""Start and stop one strom broker for a compat suite.

Used two ways:
  * imported by the Python suites' conftest (``StromProcess``);
  * as a command wrapper by run.sh for the other suites:
        python3 lib/strom.py run --log <file> -- <command...>
    starts a fresh broker on a free port with a fresh data directory, runs the
    command with STROM_BOOTSTRAP=127.0.0.1:<port> in its environment, stops
    the broker and exits with the command's exit code (or 97 if strom failed).
    The command can restart its broker through STROM_CONTROL (ControlServer).

The broker also gets SSL, SASL_PLAINTEXT and SASL_SSL listeners with test
certificates and users (lib/security.py); their addresses and files reach the
tests as STROM_SSL_BOOTSTRAP, STROM_SASL_SSL_BOOTSTRAP, ... Set
STROM_COMPAT_SECURITY=0 for a broker with the PLAINTEXT listener only. The
reference Apache Kafka (reference/kafka-as-strom) turns the same STROM_*
settings into Kafka's.

Only the standard library is used, so any Python 3.8+ can run it.
"""

import argparse
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import security  # noqa: E402

# How long a fresh broker may take to accept connections. A cold start should
# take well under a second; the margin covers a loaded 2-core CI machine.
STARTUP_TIMEOUT_S = float(os.environ.get("STROM_STARTUP_TIMEOUT_S", "20"))
# The broker contract asks for a graceful exit within a few seconds of SIGTERM.
SHUTDOWN_TIMEOUT_S = 10.0
# Exit code of the wrapper when the broker itself could not be run.
EXIT_STROM_FAILED = 97
# Time for the broker to answer the readiness ApiVersions request.
PROBE_TIMEOUT_S = 5.0
API_VERSIONS_KEY = 18
PROBE_CORRELATION_ID = 0x5354524D  # "STRM"


def _die_with_parent():
    """Runs in the broker's child process before exec: on Linux, ask for
    SIGTERM when the process that started it dies, so that a crashed test
    runner (a client library abort, a SIGKILL) never leaves a broker behind."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class StromError(RuntimeError):
    """The broker could not be started or died."""


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def default_binary():
    """STROM_BIN, else target/release/strom of the repository holding this file."""
    configured = os.environ.get("STROM_BIN")
    if configured:
        return os.path.abspath(configured)
    repo_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(repo_root, "target", "release", "strom")


# The broker settings every compat broker gets, as the reference Kafka has them
# (reference/kafka-as-strom): new groups rebalance at once, so group tests do
# not wait out Kafka's 3 s default delay, and the log cleaner runs every 500 ms
# instead of every 15 s, so compaction tests end quickly (an outer
# STROM_LOG_CLEANER_BACKOFF_MS wins).
COMPAT_ENV = {
    "STROM_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    "STROM_LOG_CLEANER_BACKOFF_MS": os.environ.get("STROM_LOG_CLEANER_BACKOFF_MS", "500"),
}


class StromProcess:
    """One broker process with its own port, data directory and log file.

    ``kill()`` (SIGKILL) and ``restart()`` keep the port and the data, for
    crash and restart scenarios; ``stop()`` removes the data directory.
    """

    def __init__(self, binary=None, log_path=None, extra_args=(), env=None, port=None, with_security=None):
        self.binary = binary or default_binary()
        self.port = port
        self.env = dict(COMPAT_ENV, **(env or {}))
        if with_security is None:
            with_security = os.environ.get("STROM_COMPAT_SECURITY", "1") != "0"
        self.with_security = with_security
        self.data_dir = None
        self.log_path = log_path
        self.extra_args = list(extra_args)
        self.process = None
        self.exit_code = None
        self._log_file = None
        self._own_log = log_path is None
        self.security = None

    @property
    def is_reference(self):
        """Whether this is the reference Apache Kafka (reference/kafka-as-strom), whose log differs."""
        return os.path.basename(self.binary) == "kafka-as-strom"

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        if not (os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)):
            raise StromError("strom binary not found or not executable: %s "
                             "(build it with `cargo build --release -p strom` or set STROM_BIN)"
                             % self.binary)
        if self.data_dir is None:
            self.data_dir = tempfile.mkdtemp(prefix="strom-compat-data-")
        if self.log_path is None:
            self.log_path = os.path.join(self.data_dir + "-log.txt")
        self._log_file = open(self.log_path, "ab")
        if self.port is None:
            self.port = free_port()
        env = dict(os.environ, **self.env)
        if self.with_security:
            if self.security is None:  # a restart keeps the listeners' ports and certificates
                self.security = security.SecurityListeners(self.data_dir + "-tls", free_port)
            env.update(self.security.broker_env(self.port))
            args = [self.binary, "--data-dir", self.data_dir] + self.extra_args
            self._log_file.write(("$ STROM_LISTENERS=%s\n" % env["STROM_LISTENERS"]).encode())
        else:
            args = [self.binary, "--listen", self.bootstrap, "--data-dir", self.data_dir] + self.extra_args
        self._log_file.write(("$ %s\n" % " ".join(args)).encode())
        self._log_file.flush()
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log_file, env=env,
                                        stderr=subprocess.STDOUT,
                                        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_listening(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            code = self.process.poll()
            if code is not None:
                raise StromError("strom exited with code %s before listening on %s; log:\n%s"
                                 % (code, self.bootstrap, self.log_tail()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
            except OSError:
                pass
            else:
                self._probe_api_versions()
                return
            if time.monotonic() > deadline:
                raise StromError("strom did not listen on %s within %.0fs; log:\n%s"
                                 % (self.bootstrap, STARTUP_TIMEOUT_S, self.log_tail()))
            time.sleep(0.05)

    def _probe_api_versions(self):
        """One ApiVersions v0 round trip, so that a broker that listens but
        cannot speak Kafka fails its suite at once rather than test by test.
        An error code is fine (Kafka answers UNSUPPORTED_VERSION in a v0 body);
        a missing, short or mismatched answer is not."""
        client_id = b"strom-compat-probe"
        body = struct.pack(">hhih", API_VERSIONS_KEY, 0, PROBE_CORRELATION_ID, len(client_id)) + client_id
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=PROBE_TIMEOUT_S) as sock:
                sock.sendall(struct.pack(">i", len(body)) + body)
                header = _recv_exactly(sock, 4)
                (size,) = struct.unpack(">i", header)
                if not 6 <= size <= 1 << 20:
                    raise StromError("ApiVersions response has implausible size %d" % size)
                response = _recv_exactly(sock, size)
        except (OSError, StromError) as e:
            raise StromError("strom listens on %s but did not answer ApiVersions v0: %s; log:\n%s"
                             % (self.bootstrap, e, self.log_tail()))
        correlation_id, error_code = struct.unpack(">ih", response[:6])
        if correlation_id != PROBE_CORRELATION_ID:
            raise StromError("ApiVersions response carries correlation id %d, sent %d"
                             % (correlation_id, PROBE_CORRELATION_ID))

    def client_environment(self):
        """The STROM_* variables tests use to reach the secured listeners."""
        return self.security.environment() if self.security else {}

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        """kill -9: no shutdown, the data stays for ``restart()``."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def restart(self, hard=False):
        """Stops (SIGTERM, or SIGKILL when ``hard``) and starts again on the same port and data."""
        if hard:
            self.kill()
        else:
            self.stop(keep_data=True)
        return self.start()

    def stop(self, keep_data=False):
        """SIGTERM, then SIGKILL after SHUTDOWN_TIMEOUT_S; removes the data directory unless ``keep_data``."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._note("strom ignored SIGTERM for %.0fs; killing it" % SHUTDOWN_TIMEOUT_S)
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self.exit_code = self.process.returncode
            self.process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.data_dir is not None and not keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            shutil.rmtree(self.data_dir + "-tls", ignore_errors=True)
            self.data_dir = None
            self.security = None

    def log_tail(self, max_bytes=4000):
        if self._log_file is not None:
            self._log_file.flush()
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return "(no log)"
        return data[-max_bytes:].decode("utf-8", "replace")

    def log_shows(self, text, timeout_s=5.0, max_bytes=20000):
        """Whether `text` appears in the log's tail within `timeout_s`: the
        broker may write its line about a refused connection after the
        client has already seen the refusal."""
        deadline = time.monotonic() + timeout_s
        while text not in self.log_tail(max_bytes):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def _note(self, message):
        if self._log_file is not None:
            self._log_file.write(("[strom.py] %s\n" % message).encode())
            self._log_file.flush()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _recv_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise StromError("connection closed after %d of %d bytes" % (len(data), count))
        data += chunk
    return data


class ControlServer:
    """Lets a test restart the broker it runs against: connect to
    STROM_CONTROL (host:port), send ``restart`` (SIGTERM, start again) or
    ``kill`` (SIGKILL, start again) and a newline; the answer ``ok`` comes
    once the broker listens again on the same port with the same data
    (``error ...`` otherwise). One command per connection."""

    COMMANDS = {"restart": False, "kill": True}

    def __init__(self, broker):
        import threading
        self.broker = broker
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(STARTUP_TIMEOUT_S + SHUTDOWN_TIMEOUT_S + 5)
                try:
                    command = conn.makefile("r").readline().strip()
                    if command not in self.COMMANDS:
                        conn.sendall(b"error unknown command %r\n" % command.encode())
                        continue
                    with self.lock:
                        self.broker.restart(hard=self.COMMANDS[command])
                    conn.sendall(b"ok\n")
                except (OSError, StromError) as e:
                    try:
                        conn.sendall(("error %s\n" % e).encode())
                    except OSError:
                        pass


def run_command(args):
    """The `run` subcommand: broker around one command."""
    broker = StromProcess(log_path=args.log)
    # A suite timeout sends SIGTERM: still stop the broker and remove its data.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        broker.start()
    except StromError as e:
        print("strom.py: %s" % e, file=sys.stderr)
        return EXIT_STROM_FAILED
    control = ControlServer(broker)
    env = dict(os.environ, STROM_BOOTSTRAP=broker.bootstrap, STROM_CONTROL=control.address)
    env.update(broker.client_environment())
    print("strom.py: broker %s listening on %s (log %s)" % (broker.binary, broker.bootstrap, broker.log_path),
          flush=True)
    code = 1
    try:
        code = subprocess.call(args.command, env=env)
    except OSError as e:
        print("strom.py: cannot run %s: %s" % (args.command, e), file=sys.stderr)
    finally:
        died = not broker.alive()
        broker.stop()
    if died:
        print("strom.py: the broker died during the suite; log tail:\n%s" % broker.log_tail(), file=sys.stderr)
        return code or EXIT_STROM_FAILED
    if broker.exit_code != 0:
        # The broker contract asks for exit 0 after SIGTERM; worth a note, not a failed suite.
        print("strom.py: note: the broker exited with code %s after SIGTERM" % broker.exit_code, file=sys.stderr)
    return code


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="run a command against a fresh broker")
    run.add_argument("--log", help="append the broker's output to this file")
    run.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        parser.error("run needs a command after --")
    return run_command(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
