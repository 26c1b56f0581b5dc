"""Per-organisation API limits (NOTES §2.2), injected faults and call statistics."""

import time

from sandbox import store
from sandbox.runtime import runtime

MINUTE = 60.0
DAY = 86400.0

# Texts from Zoho's API introduction page (NOTES §2.1); codes 44, 45 and 1070 all use HTTP 429.
PER_MINUTE_MESSAGE = (
    "The API call for this organization has been blocked as it have exceeded the maximum "
    "number of requests per minute. Please try again after some time."
)
DAILY_MESSAGE = "You have exceeded the maximum call rate limit of {daily}."
CONCURRENCY_MESSAGE = (
    "The number of concurrent in-process requests for this organization has exceeded the "
    "limit. Please try again after some time."
)
INTERNAL_ERROR_MESSAGE = "Internal error. Please try again after some time."


class LimitExceeded(Exception):
    """Raised to answer a Books call with a Zoho error body instead of running it."""

    def __init__(self, http_status, code, message):
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message


def get_limits(db, org_id):
    row = db.execute(
        "SELECT per_minute, concurrency, daily FROM org_limit WHERE org_id = ?", (org_id,)
    ).fetchone()
    return dict(row) if row else {"per_minute": 100, "concurrency": 10, "daily": 5000}


def set_limits(db, org_id, changes):
    limits = get_limits(db, org_id)
    limits.update({key: int(changes[key]) for key in limits if key in changes})
    db.execute(
        "INSERT OR REPLACE INTO org_limit (org_id, per_minute, concurrency, daily)"
        " VALUES (:org_id, :per_minute, :concurrency, :daily)",
        dict(limits, org_id=org_id),
    )
    return limits


def count_call(db, org_id, call_name):
    """Statistics for benchmarks: every Books call, accepted or refused, per org and path."""
    db.execute(
        "INSERT INTO call_stat (org_id, call, count) VALUES (?, ?, 1)"
        " ON CONFLICT (org_id, call) DO UPDATE SET count = count + 1",
        (org_id, call_name),
    )


def call_stats(db, org_id=None):
    if org_id is None:
        rows = db.execute("SELECT call, SUM(count) AS count FROM call_stat GROUP BY call")
    else:
        rows = db.execute("SELECT call, count FROM call_stat WHERE org_id = ?", (org_id,))
    calls = {row["call"]: row["count"] for row in rows}
    return {"calls": dict(sorted(calls.items())), "total": sum(calls.values())}


def reset_stats(db):
    db.execute("DELETE FROM call_stat")


def _day_start(now):
    return now - (now % DAY)  # the daily quota resets at midnight UTC of the server clock


def enforce_rate_limits(db, org_id, now):
    """Refuse the call when the org is over its daily or per-minute quota; else record it."""
    limits = get_limits(db, org_id)
    with store.transaction(db):
        today = db.execute(
            "SELECT COUNT(*) FROM api_call WHERE org_id = ? AND at >= ?",
            (org_id, _day_start(now)),
        ).fetchone()[0]
        if today >= limits["daily"]:
            raise LimitExceeded(429, 45, DAILY_MESSAGE.format(daily=limits["daily"]))
        last_minute = db.execute(
            "SELECT COUNT(*) FROM api_call WHERE org_id = ? AND at > ?", (org_id, now - MINUTE)
        ).fetchone()[0]
        if last_minute >= limits["per_minute"]:
            raise LimitExceeded(429, 44, PER_MINUTE_MESSAGE)
        db.execute("INSERT INTO api_call (org_id, at) VALUES (?, ?)", (org_id, now))
        db.execute("DELETE FROM api_call WHERE at < ?", (now - 2 * DAY,))
    return limits


def apply_faults_before(org_id):
    """Injected faults that refuse the call before it runs (forced 429)."""
    if runtime().take_forced_429():
        raise LimitExceeded(429, 44, PER_MINUTE_MESSAGE)


def apply_faults_during(call: str):
    """Injected latency, timeouts and random 500s, applied while the call is in flight."""
    state = runtime()
    faults = dict(state.faults)
    if faults["fault_path"] and not call.startswith(faults["fault_path"]):
        return
    if faults["latency_ms"]:
        time.sleep(faults["latency_ms"] / 1000)
    if state.roll(faults["timeout_rate"]):
        time.sleep(faults["timeout_sleep_s"])
    if state.roll(faults["error_rate"]):
        raise LimitExceeded(500, 1000, INTERNAL_ERROR_MESSAGE)


def enter_concurrency_slot(org_id, limits):
    if not runtime().enter(org_id, limits["concurrency"]):
        raise LimitExceeded(429, 1070, CONCURRENCY_MESSAGE)
