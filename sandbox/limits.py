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


# Daily calls per plan (NOTES §2.2). Organisations start on Free, as a new Zoho one does.
PLAN_DAILY_CALLS = {"free": 1000, "standard": 2000, "professional": 5000,
                    "premium": 10000, "elite": 10000, "ultimate": 10000}
DEFAULT_PLAN = "free"
STORED_LIMITS = ("per_minute", "concurrency", "daily")


class UnknownPlan(ValueError):
    """A plan name the sandbox does not know."""


def plan_of(daily):
    """The plan whose cap this is ("custom" when a test set another number)."""
    for name, cap in PLAN_DAILY_CALLS.items():
        if cap == daily:
            return name
    return "custom"


def get_limits(db, org_id):
    row = db.execute(
        "SELECT per_minute, concurrency, daily FROM org_limit WHERE org_id = ?", (org_id,)
    ).fetchone()
    limits = dict(row) if row else {"per_minute": 100, "concurrency": 10,
                                    "daily": PLAN_DAILY_CALLS[DEFAULT_PLAN]}
    return dict(limits, plan=plan_of(limits["daily"]))


def set_limits(db, org_id, changes):
    """Change limits; {"plan": "standard"} sets the plan's daily cap, "daily" a cap of one's
    own (a test's small one)."""
    limits = get_limits(db, org_id)
    if "plan" in changes:
        plan = str(changes["plan"]).strip().lower()
        if plan not in PLAN_DAILY_CALLS:
            raise UnknownPlan(f"unknown plan {changes['plan']!r}; one of "
                              f"{', '.join(PLAN_DAILY_CALLS)}")
        limits["daily"] = PLAN_DAILY_CALLS[plan]
    limits.update({key: int(changes[key]) for key in STORED_LIMITS if key in changes})
    db.execute(
        "INSERT OR REPLACE INTO org_limit (org_id, per_minute, concurrency, daily)"
        " VALUES (:org_id, :per_minute, :concurrency, :daily)",
        {key: limits[key] for key in STORED_LIMITS} | {"org_id": org_id},
    )
    return dict(limits, plan=plan_of(limits["daily"]))


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


def seconds_to_daily_reset(now):
    return int(-(-(DAY - now % DAY) // 1))  # whole seconds, rounded up


def spent_today(db, org_id, now):
    return db.execute(
        "SELECT COUNT(*) FROM api_call WHERE org_id = ? AND at >= ?", (org_id, _day_start(now))
    ).fetchone()[0]


def daily_headers(db, org_id, now):
    """X-Rate-Limit-* of a Books answer: the plan's cap, what is left of it today, and
    seconds until the reset, as pyzohoapi reads them (NOTES §2.2, UNCONFIRMED)."""
    daily = get_limits(db, org_id)["daily"]
    spent = spent_today(db, org_id, now)
    return {"X-Rate-Limit-Limit": str(daily),
            "X-Rate-Limit-Remaining": str(max(0, daily - spent)),
            "X-Rate-Limit-Reset": str(seconds_to_daily_reset(now))}


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
