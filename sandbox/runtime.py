"""In-memory control state of one sandbox app: clock offset, fault switches, in-flight calls.

This state is per process on purpose: it steers a running test and is cleared by
``POST /sandbox/reset`` or a restart; nothing a client wrote lives here.
"""

import os
import random
import threading
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app

DEFAULT_FAULTS = {
    "error_rate": 0.0,
    "latency_ms": 0,
    "timeout_rate": 0.0,
    # Longer than any sane client timeout (Bookbridge uses 30 s).
    "timeout_sleep_s": 35.0,
    "force_429": 0,
    # When set, latency, timeouts and 500s hit only calls whose "METHOD /path" starts with
    # this, e.g. "POST /bankstatements": a write that times out after it was applied.
    "fault_path": "",
    "seed": None,
    # Qonto part: next N Qonto calls get 429, random 500s, the settled_at year quirk.
    "qonto_force_429": 0,
    "qonto_error_rate": 0.0,
    "qonto_latency_ms": 0,  # every Qonto call takes this long (slow networks, tests)
    "qonto_year_quirk": True,
    # Off: Books answers carry no X-Rate-Limit-* headers (they are reported by third
    # parties only, NOTES §2.2), so a client can be checked to work without them.
    "quota_headers": True,
}


# The same variable as Bookbridge's clock (the sandbox shares no code with it): a test pins
# every process to one date by setting it once, and /sandbox/clock moves on from there.
CLOCK_OFFSET_VARIABLE = "BOOKBRIDGE_CLOCK_OFFSET"


def base_clock_offset():
    try:
        return float(os.environ.get(CLOCK_OFFSET_VARIABLE) or 0)
    except ValueError:
        return 0.0


class SandboxRuntime:
    """Mutable switches shared by the request threads, guarded by one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.clock_offset = base_clock_offset()
            self.faults = dict(DEFAULT_FAULTS)
            self.rng = random.Random()
            self.in_flight = {}

    def now(self):
        return time.time() + self.clock_offset

    def set_faults(self, changes):
        with self.lock:
            self.faults.update(changes)
            if "seed" in changes:
                self.rng = random.Random(changes["seed"])
            return dict(self.faults)

    def take_forced_429(self):
        """Consume one of the 'next N calls get 429' tickets, if any are left."""
        with self.lock:
            if self.faults["force_429"] > 0:
                self.faults["force_429"] -= 1
                return True
            return False

    def roll(self, rate):
        with self.lock:
            return rate > 0 and self.rng.random() < rate

    def enter(self, org_id, limit):
        """Count an in-flight call; False when the org is already at its concurrency limit."""
        with self.lock:
            current = self.in_flight.get(org_id, 0)
            if current >= limit:
                return False
            self.in_flight[org_id] = current + 1
            return True

    def leave(self, org_id):
        with self.lock:
            self.in_flight[org_id] = max(0, self.in_flight.get(org_id, 1) - 1)


def runtime():
    return current_app.extensions["sandbox_runtime"]


def now():
    """Server clock in epoch seconds, shifted by ``POST /sandbox/clock``."""
    return runtime().now()


def zoho_timestamp(epoch, time_zone="Europe/Paris"):
    """Zoho's timestamp format, e.g. 2024-05-02T10:15:00+0200."""
    moment = datetime.fromtimestamp(epoch, tz=UTC).astimezone(ZoneInfo(time_zone))
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def zoho_date(epoch, time_zone="Europe/Paris"):
    moment = datetime.fromtimestamp(epoch, tz=UTC).astimezone(ZoneInfo(time_zone))
    return moment.strftime("%Y-%m-%d")
