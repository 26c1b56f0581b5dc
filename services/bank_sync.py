"""The bank sync run: Qonto into local rows, local rows into Zoho, exactly once.

Per included account: link it to a Zoho bank account, settle any ledger batch a previous
run left unsettled (by looking the lines up in Zoho), import history windows if asked,
pull Qonto changes since the cursor, push completed lines in batches through the ledger,
then categorise by rules and attach receipts (services.bank_followup).
"""

import datetime
import logging
from collections import Counter

from huey.exceptions import TaskLockedException
from peewee import chunked, fn

from integrations.qonto import QontoAuthError, QontoError, QontoRateLimited, QontoUnavailable
from integrations.zoho_accounts import RefreshThrottled, TokenRevoked, ZohoAuthError
from integrations.zoho_books import (
    ZohoApiError,
    ZohoDailyLimitReached,
    ZohoUnavailable,
    ZohoValidationError,
)
from models import (
    BankTransaction,
    Job,
    PushBatch,
    PushState,
    QontoAccount,
    QontoConnection,
    SyncFailure,
    SyncRun,
    ZohoConnection,
    db,
    utcnow,
)
from services import (
    alerts,
    audit,
    bank_followup,
    bank_links,
    bank_schedule,
    jobs,
    matching,
    qonto,
    settlement,
    zoho,
    zoho_quota,
)
from services.bank_lines import marker_of, next_push_state, row_fields, statement_line
from services.i18n import date_value, stored_message, stored_plural_message

log = logging.getLogger(__name__)

KIND = "bank_sync"
BATCH_SIZE = 200  # lines per POST /bankstatements
STATUSES = ("completed", "pending", "declined")
COUNTERS = ("fetched", "new", "updated", "duplicates", "pushed", "categorised", "receipts",
            "failed", "held_back")
# What a statement line needs (bank_lines.statement_line): reading only these keeps the
# push of a large import cheap.
PUSH_COLUMNS = (BankTransaction.id, BankTransaction.transaction_id, BankTransaction.booking_date,
                BankTransaction.side, BankTransaction.amount_cents, BankTransaction.label,
                BankTransaction.note, BankTransaction.counterparty, BankTransaction.reference,
                BankTransaction.local_amount_cents, BankTransaction.local_currency)
# The earliest history start accepted: older dates are typing mistakes, and each calendar
# year of range costs Qonto calls even when empty.
EARLIEST_HISTORY_START = datetime.date(2000, 1, 1)


class TryAgainLater(Exception):
    """A passing failure (Zoho or Qonto down): the worker retries the run after a pause."""


def request(trigger: str, user=None, history_start: datetime.date | None = None):
    """Queue a sync unless one is under way; returns (job, created).

    A history start is stored on the accounts first, in the same transaction: the run
    under way or the next one of any kind imports it, whatever dies in between.
    """
    with db.atomic():
        if history_start:
            want_history(history_start)
        return jobs.start(KIND, user=user, trigger=trigger)


def want_history(start: datetime.date) -> None:
    """Ask for the completed transactions since `start` on every included account."""
    if start < EARLIEST_HISTORY_START:
        raise qonto.BankError(stored_message("Pick a history start from %(day)s on.",
                                             day=date_value(EARLIEST_HISTORY_START)))
    for account in QontoAccount.select().where(QontoAccount.included):
        if account.history_start and start >= account.history_start:
            continue  # already fed from that date
        if account.history_wanted_from and account.history_wanted_from <= start:
            continue  # an earlier request already covers it
        account.history_wanted_from = start
        account.history_total = None  # counted again for the wider range
        account.save(only=[QontoAccount.history_wanted_from, QontoAccount.history_total])


def history_progress() -> dict[int, dict]:
    """Per account id with a history import under way: from, imported and total lines.

    "Imported" counts the range's completed lines stored so far (Qonto's own count is
    the total); the request ends once they are in Zoho Books too.
    """
    progress = {}
    for account in QontoAccount.select().where(QontoAccount.history_wanted_from.is_null(False)):
        total = account.history_total
        if _history_imported(account):
            imported = total or 0  # in Bookbridge; the push to Zoho comes next
        else:
            in_range = [BankTransaction.account == account,
                        BankTransaction.status == "completed",
                        BankTransaction.booking_date >= account.history_wanted_from]
            if account.history_start:
                in_range.append(BankTransaction.booking_date < account.history_start)
            imported = BankTransaction.select().where(*in_range).count()
        progress[account.id] = {"from": account.history_wanted_from, "total": total,
                                "imported": min(imported, total) if total else imported}
    return progress


def _history_imported(account: QontoAccount) -> bool:
    """The requested range is in Bookbridge (what is left is pushing it)."""
    return bool(account.history_start and account.history_wanted_from
                and account.history_start <= account.history_wanted_from)


def run(config, job_id: int, *, zoho_write, retries_left: int = 0) -> None:
    """One sync run. `zoho_write(on_wait)` is the Zoho writer lock (jobs.writer), taken
    around each write only, so publishing goes on during a long import."""
    job = Job.get_by_id(job_id)
    if not job.is_active:
        return
    jobs.begin(job)
    _settle_interrupted_runs(job)
    # This run takes up any booked follow-up; it books another if it leaves work to do.
    QontoConnection.update(follow_up_at=None).execute()
    sync_run = SyncRun.create(job=job, trigger=job.trigger)
    try:
        if job.params.get("history_start"):  # a job queued before requests were stored
            want_history(datetime.date.fromisoformat(job.params["history_start"]))
        BankSync(config, job, sync_run, zoho_write).run()
    except zoho_quota.QuotaPause as pause:
        _pause(job, sync_run, pause)
    except ZohoDailyLimitReached:
        _pause(job, sync_run, zoho_quota.day_spent())
    except QontoAuthError:
        reason = stored_message("Qonto refused the secret key (it was revoked or changed). The "
                                "daily sync is stopped: an admin must connect Qonto again with "
                                "the new key.")
        qonto.mark_broken(reason)
        _end(job, sync_run, reason)
    except (TokenRevoked, zoho.ConnectError, qonto.BankError) as error:
        _end(job, sync_run, _reason(error))
    except (ZohoUnavailable, RefreshThrottled, QontoUnavailable, QontoRateLimited) as error:
        reason = stored_message("%(reason)s Nothing was lost: the sync resumes where it stopped.",
                                reason=_reason(error))
        _end(job, sync_run, reason, retrying=retries_left > 0)
        if retries_left > 0:
            raise TryAgainLater(reason) from error
    except TaskLockedException as error:
        reason = stored_message("Another job kept Zoho Books busy for minutes (a list refresh "
                                "or a bulk publish). Nothing was lost: the sync resumes where it "
                                "stopped.")
        _end(job, sync_run, reason, retrying=retries_left > 0)
        if retries_left > 0:
            raise TryAgainLater(reason) from error
    except (ZohoApiError, ZohoAuthError, QontoError) as error:
        _end(job, sync_run, _reason(error))
    else:
        _succeed(config, job, sync_run)
    finally:
        _schedule_next(config)


def _reason(error: Exception) -> str:
    """What an error means for the admin: Qonto's as a stored message (services.qonto), Zoho's
    as services.zoho words it, else the error's own (stored) message."""
    if isinstance(error, QontoError):
        return qonto.reason(error)
    return getattr(error, "user_message", None) or str(error)


def _settle_interrupted_runs(job: Job) -> None:
    """Runs left "running" by a worker that died: say so, since this run carries them on."""
    (SyncRun.update(status="interrupted", finished_at=utcnow(),
                    error=stored_message("The worker stopped during this run (killed or "
                                         "restarted). Nothing was lost: the next run carried on "
                                         "from where it stopped."))
     .where(SyncRun.status.in_(["running", "retrying"]), SyncRun.job != job).execute())


def crashed(job_id: int) -> None:
    job = Job.get_by_id(job_id)
    run_row = SyncRun.select().where(SyncRun.job == job).order_by(SyncRun.id.desc()).first()
    if job.is_active:
        _end(job, run_row, stored_message("An unexpected error stopped the sync. Nothing was "
                                          "lost; the next sync carries on, and the worker log "
                                          "has the details."))


def _end(job, sync_run, reason: str, retrying: bool = False) -> None:
    if retrying:
        jobs.waiting(job, stored_message("%(reason)s Trying again in a minute.", reason=reason))
    else:
        jobs.fail(job, reason)
    if sync_run is not None:
        sync_run.status = "failed" if not retrying else "retrying"
        sync_run.error = reason
        sync_run.finished_at = utcnow()
        sync_run.save()
    audit.record("bank.sync_failed", actor="worker", subject=job.trigger, detail=reason)
    alerts.after_bank_sync()


def _pause(job, sync_run, pause: zoho_quota.QuotaPause) -> None:
    """Zoho's daily quota is down to the reserve (or spent): stop here, at a clean point,
    and book the follow-up run after the reset; the ledgers and cursors make it carry on
    where this one stopped."""
    message = pause.message()
    zoho_quota.note_pause(pause)
    QontoConnection.update(follow_up_at=pause.resumes_at).execute()
    sync_run.status, sync_run.error, sync_run.finished_at = "paused", message, utcnow()
    sync_run.save()
    jobs.pause(job, message, pause.resumes_at)
    audit.record("bank.sync_paused", actor="worker", subject=job.trigger, detail=message)


def _succeed(config, job, sync_run) -> None:
    totals = {name: sum(stats.get(name, 0) for stats in sync_run.stats.values())
              for name in COUNTERS}
    sync_run.status = "succeeded" if not totals["failed"] else "partial"
    sync_run.finished_at = utcnow()
    sync_run.save()
    QontoConnection.update(last_sync_at=utcnow()).execute()
    counts = {name: totals[name] for name in ("fetched", "new", "pushed", "categorised",
                                              "receipts", "failed")}
    if totals["failed"]:
        done = stored_message("%(fetched)s fetched, %(new)s new, %(pushed)s pushed to Zoho Books, "
                              "%(categorised)s categorised, %(receipts)s receipts attached, "
                              "%(failed)s failed (see the sync history).", **counts)
    else:
        done = stored_message("%(fetched)s fetched, %(new)s new, %(pushed)s pushed to Zoho Books, "
                              "%(categorised)s categorised, %(receipts)s receipts attached.",
                              **counts)
    held = totals["held_back"]
    held_back = stored_plural_message(
        "%(num)s line waits for Zoho Books to finish an earlier import before anything is "
        "sent again.",
        "%(num)s lines wait for Zoho Books to finish an earlier import before anything is "
        "sent again.", held) if held else ""
    follow_up = _book_follow_up(config)
    at = ""
    if follow_up:
        local = follow_up.replace(tzinfo=datetime.UTC).astimezone(
            bank_schedule.time_zone(config))
        at = f"{local:%H:%M}"
    # The outcome is one stored message: what was done, then what is left, each a value.
    if held_back and at:
        message = stored_message("%(done)s %(held_back)s A follow-up sync runs at %(time)s.",
                                 done=done, held_back=held_back, time=at)
    elif held_back:
        message = stored_message("%(done)s %(held_back)s", done=done, held_back=held_back)
    elif at:
        message = stored_message("%(done)s A follow-up sync runs at %(time)s.", done=done,
                                 time=at)
    else:
        message = done
    jobs.succeed(job, message)
    audit.record("bank.sync", user=job.created_by, actor=None if job.created_by else "scheduler",
                 subject=job.trigger, after=totals)
    alerts.after_bank_sync()


def _book_follow_up(config) -> datetime.datetime | None:
    """When work is left (lines held back, history still wanted), book the next run.

    Held-back lines can be settled once their batch is old enough to judge; a history
    request made while this run was past its account is taken up at once.
    """
    times = []
    settle_after = datetime.timedelta(seconds=config["BANK_SETTLE_AFTER"])
    oldest = (PushBatch.select(fn.MIN(PushBatch.created_at))
              .where(PushBatch.state == "prepared").scalar())
    if oldest:
        times.append(max(oldest + settle_after, utcnow()) + datetime.timedelta(seconds=5))
    for account in QontoAccount.select().where(QontoAccount.included,
                                               QontoAccount.history_wanted_from.is_null(False)):
        if not _history_imported(account):
            times.append(utcnow())  # asked for while this run was past the account
    follow_up = min(times) if times else None
    QontoConnection.update(follow_up_at=follow_up).execute()
    return follow_up


def _schedule_next(config) -> None:
    connection = QontoConnection.current()
    if connection.is_connected:
        connection.next_sync_at = bank_schedule.next_run(
            connection.sync_time, bank_schedule.time_zone(config), utcnow())
        connection.save(only=[QontoConnection.next_sync_at])


class BankSync:
    def __init__(self, config, job: Job, sync_run: SyncRun, zoho_write):
        self.config = config
        self.zoho_write = zoho_write
        self.job = job
        self.sync_run = sync_run
        self.zone = bank_schedule.time_zone(config)
        connection = ZohoConnection.current()
        if not connection.is_connected:
            raise zoho.ConnectError(stored_message(
                "Zoho Books is not connected (or needs reconnecting), so nothing was pushed. An "
                "admin can reconnect it on the Connections page."))
        # A long import: it stops before the daily calls kept for publishing (zoho_quota).
        self.zoho = zoho.books_client(config, connection,
                                      on_wait=lambda message: jobs.waiting(job, message),
                                      long_import=True)
        self.organization_id = connection.organization_id
        self.reserve_percent = zoho_quota.reserve_percent(config)
        self.qonto = qonto.client(config)
        self.stored = {}  # per account id: Qonto ids of the lines this run wrote

    def writing(self):
        """The Zoho writer lock for one write: a publish waiting for it goes first."""
        return self.zoho_write(on_wait=lambda: jobs.waiting(
            self.job, stored_message("Waiting for another write to Zoho Books (a publish or a "
                                     "list refresh) to finish.")))

    # -- orchestration -----------------------------------------------------------------------

    def run(self) -> None:
        accounts = list(QontoAccount.select().where(QontoAccount.included)
                        .order_by(QontoAccount.id))
        for listed in accounts:
            account = QontoAccount.get_by_id(listed.id)  # with requests made since the list
            self.stats(account)
            self.sync_account(account)
            account.last_synced_at = utcnow()
            account.save(only=[QontoAccount.last_synced_at])
        if self.sync_run.trigger == "schedule":
            # Once a day every open document and line is proposed again: what a killed run
            # did not propose, or a window an admin changed since, catches up here (seconds
            # for 10,000 documents and 100,000 lines).
            jobs.progress(self.job, stored_message("Proposing receipts for the bank lines"))
            matching.propose()
            settlement.auto_accept()

    def sync_account(self, account: QontoAccount) -> None:
        self.say(account, stored_message("linking to Zoho Books"))
        with self.writing():  # may create the Zoho bank account
            bank_links.ensure_link(self.zoho, account)
        if account.history_start is None:
            self.start_feed(account)
        settled = self.settle_unsettled_batches(account)
        if account.history_wanted_from and not _history_imported(account):
            self.import_history(account)
        self.pull_changes(account)
        if not settled:
            held = (BankTransaction.select().where(
                BankTransaction.account == account,
                BankTransaction.push_state.in_([PushState.SENDING, PushState.READY])).count())
            self.count(account, "held_back", held)
            self.say(account, stored_message("waiting for Zoho to finish an earlier import before "
                                             "pushing"))
            self.propose_matches(account)
            return
        self.push(account)
        if account.history_wanted_from:  # imported and pushed: the request is done
            account.history_wanted_from = account.history_total = None
            account.save(only=[QontoAccount.history_wanted_from, QontoAccount.history_total])
        followup = bank_followup.FollowUp(self, account)
        followup.categorise()
        followup.release_receipts_handled_in_zoho()
        followup.attach_receipts()
        followup.receipts_to_documents()
        followup.settle_matches()
        self.propose_matches(account)

    def propose_matches(self, account: QontoAccount) -> None:
        """Match proposals for the lines this run brought (new or changed), then the
        auto-accept the admin may have turned on."""
        stored = self.stored.pop(account.id, set())
        if not stored:
            return
        self.say(account, stored_plural_message("proposing receipts for %(num)s line",
                                                "proposing receipts for %(num)s lines",
                                                len(stored)))
        line_ids = []
        for qonto_ids in chunked(sorted(stored), 500):
            line_ids.extend(BankTransaction.select(BankTransaction.id).where(
                BankTransaction.qonto_id.in_(qonto_ids)).tuples())
        line_ids = [line_id for (line_id,) in line_ids]
        matching.propose(line_ids=line_ids)
        settlement.auto_accept(line_ids=line_ids)

    def start_feed(self, account: QontoAccount) -> None:
        """First sync of an account: the feed starts on the day Qonto was connected.

        Changes are pulled from that day's local midnight; anything settled earlier comes
        only from a history import, so the two never overlap by more than a day's edits.
        """
        consented = QontoConnection.current().consented_at or utcnow()
        account.history_start = bank_schedule.local_date(consented, self.zone)
        since = self.local_midnight(account.history_start).isoformat()
        account.cursors = {status: since for status in STATUSES}
        account.save(only=[QontoAccount.history_start, QontoAccount.cursors])

    def local_midnight(self, day: datetime.date) -> datetime.datetime:
        """Naive UTC moment of midnight of `day` in the organisation's time zone."""
        local = datetime.datetime.combine(day, datetime.time(), tzinfo=self.zone)
        return local.astimezone(datetime.UTC).replace(tzinfo=None)

    def stats(self, account: QontoAccount) -> dict:
        stats = self.sync_run.stats.setdefault(account.qonto_id, {"name": account.name})
        for name in COUNTERS:
            stats.setdefault(name, 0)
        return stats

    def count(self, account: QontoAccount, name: str, amount: int = 1) -> None:
        self.stats(account)[name] += amount

    def say(self, account: QontoAccount, step: str) -> None:
        """The job's step: the account (a name, as Qonto has it) and `step`, a stored message."""
        SyncRun.update(stats=self.sync_run.stats).where(SyncRun.id == self.sync_run.id).execute()
        jobs.progress(self.job, stored_message("%(account)s: %(step)s", account=account.name,
                                               step=step), counts=self.sync_run.stats)

    def fail_line(self, account, line, stage: str, reason: str) -> None:
        SyncFailure.create(run=self.sync_run, account=account, transaction=line, stage=stage,
                           reason=reason)
        self.count(account, "failed")

    # -- pulling from Qonto ------------------------------------------------------------------

    def pull_changes(self, account: QontoAccount) -> None:
        """Everything Qonto changed since the cursor, one status at a time (Qonto's advice)."""
        for status in STATUSES:
            self.say(account, {"completed": stored_message("fetching completed transactions"),
                               "pending": stored_message("fetching pending transactions"),
                               "declined": stored_message("fetching declined transactions"),
                               }[status])
            self.pull_status(account, status)

    def pull_status(self, account: QontoAccount, status: str) -> None:
        """Walk from the cursor, asking again from the new cursor after each page.

        Page numbers alone are unsafe while Qonto changes rows: an edited row moves to the
        end and the rows behind it shift onto pages already read. Restarting from the
        cursor (inclusive, duplicates skipped) cannot miss one; only a page whose rows all
        share the cursor's timestamp makes the walk go on by page number.
        """
        while True:
            since = account.cursors.get(status)
            since_time = (datetime.datetime.fromisoformat(since) if since else
                          self.local_midnight(account.history_start))
            pages = self.qonto.iter_transactions(
                account.qonto_id, statuses=(status,),
                updated_at_from=since_time.replace(tzinfo=datetime.UTC),
                sort_by="updated_at:asc", includes=())
            moved = False
            for page in pages:
                self.store_page(account, page, cursor_status=status)
                if account.cursors.get(status) != since:
                    moved = True
                    break
            if not moved:
                return

    def import_history(self, account: QontoAccount) -> None:
        """Completed transactions booked on [wanted, history_start), local dates.

        Resumable: each committed page records its latest settled_at, and the next run
        (of any kind, after a crash too) starts again there (inclusive: rows already
        stored are skipped).
        """
        start, before = account.history_wanted_from, account.history_start
        range_start, range_end = self.local_midnight(start), self.local_midnight(before)
        if account.history_total is None:
            account.history_total = sum(
                self.qonto.count_transactions(account.qonto_id, settled_at_from=low,
                                              settled_at_to=high)
                for low, high in _year_windows(range_start, range_end))
            account.save(only=[QontoAccount.history_total])
        resume_from = max(range_start, account.history_resume_at or range_start)
        for low, high in _year_windows(resume_from, range_end):
            self.say(account, stored_message("importing history %(start)s to %(end)s",
                                             start=date_value(low.date()),
                                             end=date_value(high.date())))
            for page in self.qonto.iter_transactions(
                    account.qonto_id, statuses=("completed",), settled_at_from=low,
                    settled_at_to=high, sort_by="settled_at:asc", includes=()):
                self.store_page(account, page, history_from=start)
        account.history_start, account.history_resume_at = start, None
        account.save(only=[QontoAccount.history_start, QontoAccount.history_resume_at])
        audit.record("bank.history_import", user=self.job.created_by, subject=account.name,
                     after={"from": start.isoformat(), "to": before.isoformat(),
                            "qonto_count": account.history_total})

    def store_page(self, account, page: list[dict], cursor_status: str | None = None,
                   history_from: datetime.date | None = None) -> None:
        """Upsert one page, and move the cursor past it, in one transaction.

        One SELECT reads what is known of the page's rows, one multi-row upsert (keyed on
        Qonto's id) writes the new and changed ones: a history import costs two statements
        per page of 100, not one per line.
        """
        earliest = history_from or account.history_start
        latest = {}  # by Qonto id, the newest version if a page repeats a row
        for record in page:
            seen = latest.get(record["id"])
            if seen is None or seen["updated_at"] <= record["updated_at"]:
                latest[record["id"]] = record
        with db.atomic():
            known = {qonto_id: (updated_at, push_state) for qonto_id, updated_at, push_state in
                     BankTransaction.select(BankTransaction.qonto_id,
                                            BankTransaction.qonto_updated_at,
                                            BankTransaction.push_state)
                     .where(BankTransaction.qonto_id.in_(list(latest))).tuples()}
            outcomes = Counter()
            rows = []
            for record in latest.values():
                outcome, row = self.row_to_store(record, earliest, known.get(record["id"]))
                outcomes[outcome] += 1
                if row is not None:
                    row["account"] = account.id
                    rows.append(row)
            if rows:
                self.stored.setdefault(account.id, set()).update(row["qonto_id"] for row in rows)
                (BankTransaction.insert_many(rows)
                 .on_conflict(conflict_target=[BankTransaction.qonto_id],
                              preserve=[BankTransaction._meta.fields[name]
                                        for name in rows[0] if name != "account"])
                 .execute())
            if cursor_status and page:
                newest = max(record["updated_at"] for record in page)
                cursors = dict(account.cursors)
                cursors[cursor_status] = _naive(newest).isoformat()
                account.cursors = cursors
                account.save(only=[QontoAccount.cursors])
            settled = [_naive(record["settled_at"]) for record in page
                       if record.get("settled_at")]
            if history_from and settled:  # where a resumed import starts again
                account.history_resume_at = max(settled)
                account.save(only=[QontoAccount.history_resume_at])
        self.count(account, "fetched", len(page))
        for outcome in ("new", "updated", "duplicates"):
            self.count(account, outcome, outcomes[outcome])

    def row_to_store(self, record: dict, earliest: datetime.date,
                     known: tuple | None) -> tuple[str, dict | None]:
        """What to do with one Qonto transaction: ("new" or "updated", its columns) to
        upsert, or ("duplicates" or "skipped", None) when nothing is written.

        `known` is (qonto_updated_at, push_state) of the stored row, if any.
        """
        moment = record.get("settled_at") or record.get("emitted_at")
        booking_date = bank_schedule.local_date(_naive(moment), self.zone)
        fields = row_fields(record, booking_date)
        # The card's last digits, printed on card receipts: a clue for matching them.
        fields["card_last_digits"] = (record.get("card_last_digits") or "")[:8]
        if known and known[0] >= fields["qonto_updated_at"]:
            return "duplicates", None  # the cursor's boundary is inclusive
        if known is None and booking_date < earliest:
            return "skipped", None  # before the history this installation feeds
        fields["push_state"] = next_push_state(fields["status"], known[1] if known else None)
        return ("updated" if known else "new"), fields

    # -- pushing to Zoho ---------------------------------------------------------------------

    def push(self, account: QontoAccount) -> None:
        while True:
            lines = list(BankTransaction.select(*PUSH_COLUMNS)
                         .where(BankTransaction.account == account,
                                BankTransaction.push_state == PushState.READY)
                         .order_by(BankTransaction.booking_date, BankTransaction.id)
                         .limit(BATCH_SIZE))
            if not lines:
                return
            # Before the ledger row: a pause here leaves no batch to look up afterwards.
            zoho_quota.check_reserve(self.organization_id, self.reserve_percent)
            self.say(account, stored_plural_message("pushing %(num)s line to Zoho Books",
                                                    "pushing %(num)s lines to Zoho Books",
                                                    len(lines)))
            self.push_lines(account, lines)

    def push_lines(self, account, lines) -> None:
        """Send lines as one batch; a refused batch is halved until the bad line is alone.

        An unknown outcome (timeout, 5xx) propagates: the batch stays unsettled, the run
        ends, and a later run looks the lines up in Zoho before sending anything again.
        """
        batch = self.record_batch(account, lines)
        body = {"account_id": batch.zoho_account_id, "start_date": batch.start_date,
                "end_date": batch.end_date,
                "transactions": [statement_line(line) for line in lines]}
        try:
            with self.writing():
                self.zoho.post("/bankstatements", json=body)
        except (ZohoDailyLimitReached, zoho_quota.QuotaPause):
            self.unsend_batch(batch)  # refused before any work, or never sent
            raise
        except ZohoValidationError as error:
            if len(lines) == 1:
                self.refuse_batch(account, batch, lines, error.user_message)
                return
            self.split_batch(batch)
            middle = len(lines) // 2
            self.push_lines(account, lines[:middle])
            self.push_lines(account, lines[middle:])
        else:
            self.confirm_batch(account, batch)

    def record_batch(self, account, lines) -> PushBatch:
        """The ledger row, committed before Zoho is called."""
        with db.atomic():
            batch = PushBatch.create(account=account, zoho_account_id=account.zoho_account_id,
                                     line_count=len(lines),
                                     start_date=min(line.booking_date for line in lines),
                                     end_date=max(line.booking_date for line in lines))
            (BankTransaction.update(push_state=PushState.SENDING, push_batch=batch)
             .where(BankTransaction.id.in_([line.id for line in lines])).execute())
        return batch

    def split_batch(self, batch: PushBatch) -> None:
        """Zoho refused the whole batch (it imports all or nothing): retry it in halves."""
        self.release_batch(batch, "split", stored_message(
            "Refused as a whole; sent again in halves to find the bad line."))

    def unsend_batch(self, batch: PushBatch) -> None:
        """Zoho's daily quota stopped the batch before Zoho did anything with it: its lines
        are ready again, for the run after the reset."""
        self.release_batch(batch, "not_sent", stored_message(
            "Not sent: Zoho’s daily quota paused the sync first."))

    @staticmethod
    def release_batch(batch: PushBatch, state: str, error: str) -> None:
        """Settle the batch as `state` and make its lines ready to be sent again."""
        with db.atomic():
            batch.state, batch.settled_at, batch.error = state, utcnow(), error
            batch.save()
            (BankTransaction.update(push_state=PushState.READY, push_batch=None)
             .where(BankTransaction.push_batch == batch).execute())

    def confirm_batch(self, account, batch: PushBatch) -> None:
        now = utcnow()
        with db.atomic():
            count = (BankTransaction.update(push_state=PushState.PUSHED, pushed_at=now)
                     .where(BankTransaction.push_batch == batch,
                            BankTransaction.push_state == PushState.SENDING).execute())
            batch.state, batch.settled_at = "confirmed", now
            batch.save()
        self.count(account, "pushed", count)

    def refuse_batch(self, account, batch, lines, reason: str) -> None:
        with db.atomic():
            batch.state, batch.settled_at, batch.error = "failed", utcnow(), reason
            batch.save()
            (BankTransaction.update(push_state=PushState.FAILED, last_error=reason)
             .where(BankTransaction.push_batch == batch).execute())
            for line in lines:
                self.fail_line(account, line, "push", reason)

    def settle_unsettled_batches(self, account: QontoAccount) -> bool:
        """Settle batches whose outcome is unknown; False while one is too young to judge."""
        old_enough = utcnow() - datetime.timedelta(seconds=self.config["BANK_SETTLE_AFTER"])
        settled_all = True
        for batch in PushBatch.select().where(PushBatch.account == account,
                                              PushBatch.state == "prepared"):
            if batch.created_at > old_enough:
                settled_all = False  # Zoho may still be importing it: look later
                continue
            self.say(account, stored_message("checking Zoho Books for lines of an interrupted "
                                             "push"))
            self.settle_batch(account, batch)
        return settled_all

    def settle_batch(self, account, batch: PushBatch) -> None:
        """Mark the batch's lines found in Zoho as pushed and the others ready again."""
        found = self.zoho_lines(account, batch.start_date, batch.end_date,
                                zoho_account_id=batch.zoho_account_id)
        pending = list(BankTransaction.select().where(
            BankTransaction.push_batch == batch, BankTransaction.push_state == PushState.SENDING))
        now = utcnow()
        with db.atomic():
            for line in pending:
                zoho_line = found.get(line.transaction_id)
                if zoho_line:
                    line.push_state, line.pushed_at = PushState.PUSHED, now
                    line.zoho_transaction_id = zoho_line["transaction_id"]
                    line.zoho_status = zoho_line.get("status", "")
                    self.count(account, "pushed")
                else:
                    line.push_state = PushState.READY
                line.save()
            batch.state, batch.settled_at = "looked_up", now
            batch.save()

    def zoho_lines(self, account, start: datetime.date, end: datetime.date,
                   status: str = "All", zoho_account_id: str | None = None) -> dict:
        """Zoho's bank lines of the account between two dates, by our Qonto marker."""
        found = {}
        params = {"account_id": zoho_account_id or account.zoho_account_id,
                  "date_start": start.isoformat(),
                  "date_end": end.isoformat(), "filter_by": f"Status.{status}"}
        for page in self.zoho.iter_pages("/banktransactions", "banktransactions", params=params):
            for zoho_line in page:
                marker = marker_of(zoho_line.get("description", ""))
                if marker:
                    found[marker] = zoho_line
        return found


def _year_windows(start: datetime.datetime, end: datetime.datetime):
    """Aware UTC (from, to) pairs covering [start, end), both ends inclusive to the ms.

    Qonto refuses a settled_at window spanning two calendar years, so the range (naive
    UTC, local midnight to local midnight) is cut at each UTC new year.
    """
    while start < end:
        window_end = min(datetime.datetime(start.year + 1, 1, 1), end)
        yield (start.replace(tzinfo=datetime.UTC),
               (window_end - datetime.timedelta(milliseconds=1)).replace(tzinfo=datetime.UTC))
        start = window_end


def _naive(value) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.astimezone(datetime.UTC).replace(tzinfo=None) if moment.tzinfo else moment
