"""Waiting on group members, for the group tests of every Python client.

A member is any object whose ``snapshot()`` returns (records, partitions):
what it received so far as (partition, offset, value) tuples, and the
partition numbers it owns now.
"""

import time


def wait(condition, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def values(n, prefix="v"):
    return [("%s-%d" % (prefix, i)).encode() for i in range(n)]


def received(members):
    return [m.snapshot()[0] for m in members]


def wait_for_records(members, count, timeout_s=30):
    """Until the members hold `count` records between them; then a moment
    more, so anything beyond the count would show up too."""
    wait(lambda: sum(map(len, received(members))) >= count, timeout_s,
         "%d records (have %r)" % (count, [len(r) for r in received(members)]))
    time.sleep(0.3)
    return received(members)


def wait_for_assignment(members, expected_sizes, timeout_s=30):
    """Until the members own as many partitions as given (in any order)."""
    wait(lambda: sorted(len(m.snapshot()[1]) for m in members) == sorted(expected_sizes), timeout_s,
         "assignment %r (have %r)" % (expected_sizes, [m.snapshot()[1] for m in members]))
