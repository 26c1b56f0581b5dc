"""The list refresh run: one job, its banner, and what happens when Zoho fails."""

import datetime
import logging

from integrations.zoho_accounts import RefreshThrottled, TokenRevoked, ZohoAuthError
from integrations.zoho_books import (
    ZohoApiError,
    ZohoDailyLimitReached,
    ZohoOrganizationUnavailable,
    ZohoUnavailable,
)
from models import Job, ZohoConnection, utcnow
from services import audit, jobs, lists, zoho, zoho_quota
from services.i18n import stored_message
from services.rate_budget import forget_old_minutes

log = logging.getLogger(__name__)

KIND = "refresh_lists"


class TryAgainLater(Exception):
    """A passing failure: the worker retries the job after a pause."""


def request(user=None, trigger="user") -> tuple[Job, bool]:
    """Queue a refresh unless one is under way; returns (job, created)."""
    return jobs.start(KIND, user=user, trigger=trigger)


def is_due(config) -> bool:
    connection = ZohoConnection.current()
    if not connection.is_connected:
        return False
    if zoho_quota.paused_until(connection.organization_id):
        return False  # Zoho's daily quota is kept for publishing until the reset
    latest = jobs.latest(KIND)
    if latest is not None and latest.paused_until is not None:
        return True  # the pause is over: carry on with the refresh it stopped
    last = connection.last_list_refresh_at
    every = datetime.timedelta(hours=config["LIST_REFRESH_HOURS"])
    return last is None or utcnow() - last >= every


def run(config, job_id: int, *, retries_left: int = 0) -> None:
    """Run the refresh recorded by `job_id`; raises TryAgainLater for passing failures."""
    job = Job.get_by_id(job_id)
    if not job.is_active:
        return
    jobs.begin(job)
    connection = ZohoConnection.current()
    try:
        # The scheduled refresh is a long import that leaves the day's reserve to people;
        # one a person asked for may spend it (they wait for it, like for a publish).
        client = zoho.books_client(config, connection,
                                   on_wait=lambda message: jobs.waiting(job, message),
                                   long_import=job.trigger == "schedule")
        counts = lists.refresh(client, connection.organization_id,
                               lambda step, counts, percent: jobs.progress(
                                   job, step, counts=counts, percent=percent))
    except zoho_quota.QuotaPause as pause:
        _pause(job, pause)
    except ZohoDailyLimitReached:
        _pause(job, zoho_quota.day_spent(connection.organization_id))
    except (ZohoUnavailable, RefreshThrottled) as error:
        _passing_failure(job, error, retries_left)
    except (TokenRevoked, ZohoAuthError, ZohoApiError, zoho.ConnectError) as error:
        jobs.fail(job, _plain_reason(error))
        audit.record("lists.refresh_failed", actor="worker", subject=job.trigger,
                     detail=job.error)
    else:
        _finish(job, connection, counts)


def crashed(job_id: int) -> None:
    """Record a failure that escaped every known case (a bug), so the banner stops."""
    job = Job.get_by_id(job_id)
    if job.is_active:
        jobs.fail(job, stored_message(
            "An unexpected error stopped the refresh. Nothing was lost; try again, and if it "
            "happens again the worker log has the details."))


def _finish(job, connection, counts) -> None:
    ZohoConnection.update(last_list_refresh_at=utcnow()).where(
        ZohoConnection.id == connection.id).execute()
    jobs.succeed(job, lists.summary(counts))
    audit.record("lists.refresh", user=job.created_by,
                 actor=None if job.created_by else "scheduler",
                 subject=connection.organization_name, after=counts)
    forget_old_minutes()


def _pause(job, pause: zoho_quota.QuotaPause) -> None:
    """Stop at a page boundary until Zoho's day turns; the 15-minute tick starts the
    refresh again after the reset (`is_due`). Pages are upserts: nothing is taken twice."""
    zoho_quota.note_pause(pause)
    jobs.pause(job, pause.message(), pause.resumes_at)
    audit.record("lists.refresh_paused", actor="worker", subject=job.trigger,
                 detail=job.message)


def _passing_failure(job, error, retries_left) -> None:
    reason = _plain_reason(error)
    if retries_left > 0:
        jobs.waiting(job, stored_message("%(reason)s Trying again in a minute.",
                                         reason=reason))
        raise TryAgainLater(reason)
    jobs.fail(job, stored_message("%(reason)s Nothing was lost; try again later.",
                                  reason=reason))


def _plain_reason(error) -> str:
    if isinstance(error, TokenRevoked):
        return stored_message(
            "Zoho refused the saved authorisation (it was revoked or has expired). An admin "
            "must reconnect Zoho Books on the Connections page.")
    if isinstance(error, ZohoDailyLimitReached):
        return error.user_message
    if isinstance(error, ZohoOrganizationUnavailable):
        return stored_message(
            "Zoho Books no longer gives access to this organisation. An admin should "
            "reconnect and pick the organisation again.")
    message = getattr(error, "user_message", None) or str(error)
    return message
