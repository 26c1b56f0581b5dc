"""Zoho's daily call quota: what its answers say is left, and the reserve kept for people.

Zoho caps the Books calls of an organisation per day by plan (1,000 on Free to 10,000), and
every app of the organisation spends the same calls. The client hands each answer's
X-Rate-Limit-* headers here (through the pacer, services.rate_budget); the latest reading
per organisation lives in the database, so the web app and every worker see one figure.

Long imports (the bank sync and its history import, the scheduled list refresh) stop
spending once what is left falls to the reserve (BOOKBRIDGE_ZOHO_DAILY_RESERVE, percent of
the cap, default 20): the calls of the day's end stay for people publishing from the
review page. On 429 code 45 (the day is spent, perhaps by another app) they pause the same
way. A pause ends the job at a clean point and books the next run after the reset; the
ledgers and cursors make that run carry on where this one stopped.
"""

import dataclasses
import datetime
import logging
import math
from collections.abc import Callable

from flask_babel import gettext

from models import ZohoConnection, ZohoQuota, utcnow
from services import i18n
from services.i18n import stored_message

log = logging.getLogger(__name__)

DEFAULT_RESERVE_PERCENT = 20
# Zoho does not say when exactly its day turns: start again a little after the reset.
RESUME_MARGIN = datetime.timedelta(minutes=2)
# Without a reset time (no headers), try again after this long: one call to find out.
RETRY_WITHOUT_RESET = datetime.timedelta(hours=1)
REFUSAL_COLUMNS = {44: "refused_44", 45: "refused_45", 1070: "refused_1070"}

# Called once per pause (not per job, not per call) with the pause; see `reserve_reached`.
reserve_listeners: list[Callable[[str, "QuotaPause"], None]] = []


@dataclasses.dataclass(eq=False)
class QuotaPause(Exception):
    """A long import stops here until Zoho's day turns; its banner says why and when."""

    organization_id: str
    resumes_at: datetime.datetime
    reason: str  # "reserve": down to the reserve; "spent": Zoho answered 429 code 45
    reserve_percent: int = DEFAULT_RESERVE_PERCENT

    def message(self, now: datetime.datetime | None = None) -> str:
        """Why the import stopped and when it resumes, a stored message (the banner puts
        "Paused:" before it: services.jobs.pause)."""
        wait = wait_text(self.resumes_at - (now or utcnow()))
        if self.reason == "reserve":
            return stored_message(
                "Zoho's daily quota is down to its %(percent)s %% reserve, kept for "
                "publishing. Resumes after the reset, in %(wait)s.",
                percent=self.reserve_percent, wait=wait)
        return stored_message(
            "Zoho's daily API calls are all spent (other apps connected to the "
            "organisation spend them too). Resumes after the reset, in %(wait)s.", wait=wait)


# -- recording what Zoho says ---------------------------------------------------------------


def record_answer(organization_id: str, status: int, code: int | None, daily_quota) -> None:
    """Count one answer (and a 429 by its code) and keep its quota reading, one statement.

    `daily_quota` is the client's DailyQuota (None when the headers were missing).
    """
    now = utcnow()
    fields = {ZohoQuota.calls: ZohoQuota.calls + 1}
    refusal = REFUSAL_COLUMNS.get(code) if status == 429 else None
    if refusal:
        column = getattr(ZohoQuota, refusal)
        fields[column] = column + 1
    if daily_quota is not None:
        fields.update({ZohoQuota.daily_limit: daily_quota.limit,
                       ZohoQuota.remaining: daily_quota.remaining,
                       ZohoQuota.read_at: now,
                       ZohoQuota.resets_at: _reset_time(now, daily_quota.reset_seconds)})
    query = ZohoQuota.update(fields).where(ZohoQuota.organization_id == organization_id)
    if query.execute() == 0:
        ZohoQuota.insert(organization_id=organization_id).on_conflict_ignore().execute()
        query.execute()


def _reset_time(now, seconds) -> datetime.datetime | None:
    # The reset comes as seconds from the answer; our clock at its arrival makes it a time.
    return None if seconds is None else now + datetime.timedelta(seconds=seconds)


@dataclasses.dataclass(frozen=True)
class Reading:
    limit: int
    remaining: int
    resets_at: datetime.datetime | None


def reading(organization_id: str) -> Reading | None:
    """Today's latest reading, or None (never read, or read before the last reset)."""
    row = ZohoQuota.get_or_none(ZohoQuota.organization_id == organization_id)
    if row is None or row.daily_limit is None or row.read_at is None:
        return None
    now = utcnow()
    if row.resets_at is not None and row.resets_at <= now:
        return None  # a past day's figure says nothing of today
    if row.resets_at is None and row.read_at.date() != now.date():
        return None
    return Reading(row.daily_limit, row.remaining, row.resets_at)


def quota_line(organization_id: str) -> str:
    """"Zoho daily quota: 6,775 of 7,500 left, resets in 9 h" (empty without a reading), in
    the reader's language: made during the request that shows it."""
    today = reading(organization_id)
    if today is None:
        return ""
    if today.resets_at is None:
        return gettext("Zoho daily quota: %(left)s of %(limit)s left",
                       left=i18n.number(today.remaining), limit=i18n.number(today.limit))
    return gettext("Zoho daily quota: %(left)s of %(limit)s left, resets in %(wait)s",
                   left=i18n.number(today.remaining), limit=i18n.number(today.limit),
                   wait=wait_text(today.resets_at - utcnow()))


def wait_text(delta: datetime.timedelta) -> str:
    """"9 h" from an hour on (rounded), "25 min" under it."""
    seconds = max(0.0, delta.total_seconds())
    if seconds >= 3600:
        return f"{round(seconds / 3600)} h"
    return f"{max(1, math.ceil(seconds / 60))} min"


# -- the reserve ----------------------------------------------------------------------------


def reserve_percent(config) -> int:
    value = config.get("ZOHO_DAILY_RESERVE", DEFAULT_RESERVE_PERCENT)
    return min(100, max(0, int(value)))


def reserve_calls(limit: int, percent: int) -> int:
    return math.ceil(limit * percent / 100)


def check_reserve(organization_id: str, percent: int) -> None:
    """Raise QuotaPause when today's calls left are down to the reserve (a long import
    calls this before each Zoho call)."""
    today = reading(organization_id)
    if today is None or today.remaining > reserve_calls(today.limit, percent):
        return
    resumes_at = (today.resets_at or utcnow() + RETRY_WITHOUT_RESET) + RESUME_MARGIN
    raise QuotaPause(organization_id, resumes_at, "reserve", percent)


def day_spent(organization_id: str | None = None) -> QuotaPause:
    """The pause for a 429 code 45 (the connected organisation's by default): until the
    reset the headers gave, or a retry later."""
    organization_id = organization_id or ZohoConnection.current().organization_id
    row = ZohoQuota.get_or_none(ZohoQuota.organization_id == organization_id)
    now = utcnow()
    reset = row.resets_at if row is not None and row.resets_at and row.resets_at > now else None
    return QuotaPause(organization_id, (reset or now + RETRY_WITHOUT_RESET) + RESUME_MARGIN,
                      "spent")


def paused_until(organization_id: str) -> datetime.datetime | None:
    """When a pause of the long imports ends, while one is in force."""
    row = ZohoQuota.get_or_none(ZohoQuota.organization_id == organization_id)
    if row is None or row.paused_until is None or row.paused_until <= utcnow():
        return None
    return row.paused_until


def note_pause(pause: QuotaPause) -> None:
    """Record the pause; the first job to pause until this reset fires `reserve_reached`."""
    now = utcnow()
    ZohoQuota.insert(organization_id=pause.organization_id).on_conflict_ignore().execute()
    first = (ZohoQuota.update(paused_until=pause.resumes_at)
             .where(ZohoQuota.organization_id == pause.organization_id,
                    ZohoQuota.paused_until.is_null() | (ZohoQuota.paused_until <= now))
             .execute())
    if first:
        reserve_reached(pause.organization_id, pause)
    else:  # a later reset (a second pause the same day, told more): keep the latest
        (ZohoQuota.update(paused_until=pause.resumes_at)
         .where(ZohoQuota.organization_id == pause.organization_id,
                ZohoQuota.paused_until < pause.resumes_at).execute())


def reserve_reached(organization_id: str, pause: QuotaPause) -> None:
    """The event "daily quota reserve reached": once per pause of the long imports (the
    reserve reached, or the day spent: `pause.reason`). E-mail alerts hook in here."""
    log.warning("Zoho daily quota: long imports paused until %s UTC (%s)",
                pause.resumes_at.isoformat(timespec="minutes"), pause.reason)
    for listener in list(reserve_listeners):
        try:
            listener(organization_id, pause)
        except Exception:  # noqa: BLE001 - an alert that fails must not stop the pause
            log.exception("a listener of the daily quota reserve failed")
