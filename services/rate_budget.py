"""One Zoho call budget per organisation, shared by every process through the database.

Zoho allows 100 calls a minute per organisation. Counting in the database (not in memory)
keeps the web app and the worker within one budget, and a 429 is answered by waiting for
the next minute rather than failing the run.
"""

import datetime
import time

from peewee import IntegrityError

from models import ApiBudget, db, utcnow
from services import zoho_quota
from services.i18n import stored_message


def _this_minute() -> datetime.datetime:
    return utcnow().replace(second=0, microsecond=0)


def _seconds_to_next_minute() -> float:
    now = utcnow()
    return 60 - now.second - now.microsecond / 1_000_000 + 0.5


class SharedBudget:
    """The `Pacer` of the Zoho Books client: may sleep before a call, never fails one."""

    def __init__(self, organization_id: str, per_minute: int, on_wait=None, sleep=time.sleep,
                 max_wait: float = 61, keep_reserve: int | None = None):
        self.organization_id = organization_id
        # A long import's budget stops (zoho_quota.QuotaPause) before spending the last
        # `keep_reserve` percent of Zoho's daily calls; None: a person's call may spend them.
        self.keep_reserve = keep_reserve
        self.per_minute = per_minute
        self.on_wait = on_wait or (lambda message: None)
        self.sleep = sleep
        # Longest single pause; the loop pauses again if the quota is still spent.
        self.max_wait = max_wait

    def before_call(self) -> None:
        if self.keep_reserve is not None:
            zoho_quota.check_reserve(self.organization_id, self.keep_reserve)
        while not self._take_one():
            pause = min(_seconds_to_next_minute(), self.max_wait)
            # Shown on the job's banner later, to whoever looks: a stored message.
            self.on_wait(stored_message("Waiting %(seconds)s s for Zoho's per-minute quota to "
                                        "free up.", seconds=int(pause)))
            self.sleep(pause)

    def rate_limited(self, code: int, attempt: int) -> None:
        if code == 1070:
            # Too many calls at once across processes: a short pause is enough.
            self.sleep(min(2**attempt, 15))
            return
        # Zoho counts calls from every app of the organisation, so its minute can be spent
        # before ours is: wait for the next minute, then try again.
        pause = min(_seconds_to_next_minute(), self.max_wait)
        self.on_wait(stored_message("Zoho asked us to slow down; resuming in %(seconds)s s.",
                                    seconds=int(pause)))
        self.sleep(pause)

    def after_reply(self, status: int, code: int | None, daily_quota) -> None:
        """Count the answer and keep Zoho's daily quota reading (zoho_quota)."""
        zoho_quota.record_answer(self.organization_id, status, code, daily_quota)

    def _take_one(self) -> bool:
        minute = _this_minute()
        try:
            with db.atomic():
                ApiBudget.create(organization_id=self.organization_id, minute=minute, calls=1)
            return True
        except IntegrityError:
            pass  # this minute has a row already: count on it below
        updated = (
            ApiBudget.update(calls=ApiBudget.calls + 1)
            .where(
                ApiBudget.organization_id == self.organization_id,
                ApiBudget.minute == minute,
                ApiBudget.calls < self.per_minute,
            )
            .execute()
        )
        return updated == 1


def forget_old_minutes() -> int:
    """Drop budget rows older than a day."""
    cutoff = utcnow() - datetime.timedelta(days=1)
    return ApiBudget.delete().where(ApiBudget.minute < cutoff).execute()
