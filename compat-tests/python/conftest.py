"""Fixtures shared by every Python client suite.

One strom process per pytest session (one session = one client version), on a
free port with a fresh data directory. Set STROM_BOOTSTRAP=host:port to run the
same tests against a broker that is already running instead, e.g. a real Apache
Kafka to check the assertions themselves.
"""

import os
import re
import signal
import sys
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from strom import StromError, StromProcess  # noqa: E402


@pytest.fixture(scope="session")
def broker():
    """The running broker (None when STROM_BOOTSTRAP points at an outside one)."""
    if os.environ.get("STROM_BOOTSTRAP"):
        yield None
        return
    process = StromProcess(log_path=os.environ.get("STROM_LOG_FILE"))
    try:
        process.start()
    except StromError as e:
        pytest.exit("cannot start strom: %s" % e, returncode=3)
    os.environ.update(process.client_environment())
    yield process
    process.stop()


@pytest.fixture(scope="session")
def bootstrap(broker):
    """host:port to bootstrap clients from."""
    return os.environ.get("STROM_BOOTSTRAP") or broker.bootstrap


@pytest.fixture(autouse=True)
def broker_stays_up(request, broker):
    """A test after which the broker is dead fails, with the broker's last log lines."""
    yield
    if broker is not None and not broker.alive():
        pytest.fail("strom died during %s; log tail:\n%s" % (request.node.name, broker.log_tail()))


# No single scenario should take this long; a hung client fails its test
# instead of stalling the suite until run.sh's suite timeout.
TEST_TIMEOUT_S = int(os.environ.get("COMPAT_TEST_TIMEOUT_S", "60"))


@pytest.fixture(autouse=True)
def test_time_limit(request):
    def expired(signum, frame):
        raise TimeoutError("%s took longer than %ds" % (request.node.name, TEST_TIMEOUT_S))

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIMEOUT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def topic_name(request):
    """A topic name unique to this test: its name plus a random suffix."""
    base = re.sub(r"[^a-zA-Z0-9._-]", "-", request.node.name)[:180]
    return "%s-%s" % (base, uuid.uuid4().hex[:8])


@pytest.fixture
def new_topic_name(request):
    """A factory of further unique topic names for tests that need several."""
    base = re.sub(r"[^a-zA-Z0-9._-]", "-", request.node.name)[:170]
    return lambda suffix="": "%s%s-%s" % (base, suffix, uuid.uuid4().hex[:8])
