"""The one source of the current time for the app, the worker and the demo.

Everything that asks "what time is it?" (stored timestamps, schedules, token expiry) goes
through here, so a test can pin the whole system to a date: `BOOKBRIDGE_CLOCK_OFFSET`
shifts this clock by a number of seconds, and the sandbox reads the same variable, so the
web process, the worker and the sandbox agree on "now". Unset in production: the offset
is then 0. Durations (timeouts, pacing) use `time.monotonic()` and are never shifted.
"""

import datetime
import os
import time

OFFSET_VARIABLE = "BOOKBRIDGE_CLOCK_OFFSET"


def offset_seconds() -> float:
    """Read at every call, so a test runner that sets it after import is still obeyed."""
    value = os.environ.get(OFFSET_VARIABLE, "")
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


def epoch() -> float:
    """Seconds since 1970 (UTC), shifted by the offset."""
    return time.time() + offset_seconds()


def now() -> datetime.datetime:
    """An aware UTC datetime."""
    return datetime.datetime.fromtimestamp(epoch(), datetime.UTC)


def utcnow() -> datetime.datetime:
    """A naive UTC datetime: the form every stored time takes."""
    return now().replace(tzinfo=None)


def offset_to_reach(moment: datetime.datetime) -> float:
    """The offset that makes this clock read `moment` now (for test runners)."""
    return moment.timestamp() - time.time()
