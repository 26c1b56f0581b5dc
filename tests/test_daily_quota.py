"""Zoho's daily call quota (issue 12, item 6): read from Zoho's answers, shown on
Connections, a reserve kept for people's publishing, pauses until the reset."""

import datetime
import math
import re

import pytest
from peewee import SqliteDatabase
from playhouse import db_url
from playhouse.migrations import Runner

import clock
from jobs.bank import sync_bank_when_due
from models import (
    BankTransaction,
    Document,
    Job,
    JobStatus,
    PushBatch,
    PushState,
    QontoConnection,
    SyncRun,
    ZohoAccount,
    ZohoQuota,
)
from services import i18n, jobs, zoho_quota
from services.migrations import MIGRATIONS_DIR
from tests import documents as samples
from tests.bank_flow import connect_qonto, sync_now
from tests.conftest import csrf_token
from tests.postgres_db import new_postgres_fixture  # noqa: F401
from tests.test_bank_sync import assert_zoho_holds_exactly_qonto
from tests.test_documents import upload
from tests.test_metrics import TOKEN, parse


def to_reset(margin: datetime.timedelta = datetime.timedelta(0)) -> set[str]:
    """How the app says the time to Zoho's reset (midnight UTC), plus `margin`: "14 h" at the
    suite's pinned 10:00, whatever moment it runs at. Said a moment ago, it may have rounded
    the other way (23.5 h at 00:30), so both readings of the last minute are accepted."""
    now = clock.utcnow()
    midnight = datetime.datetime.combine(now.date() + datetime.timedelta(days=1),
                                         datetime.time())
    said = set()
    for earlier in (0, 60):
        seconds = (midnight + margin - now).total_seconds() + earlier
        said.add(f"{round(seconds / 3600)} h" if seconds >= 3600
                 else f"{math.ceil(seconds / 60)} min")
    return said


def past_the_reset() -> float:
    """Hours from now to a few minutes after Zoho's next reset (14.1 at the pinned 10:00)."""
    now = clock.utcnow()
    midnight = datetime.datetime.combine(now.date() + datetime.timedelta(days=1),
                                         datetime.time())
    return (midnight - now).total_seconds() / 3600 + 0.1


# A pause is the job's outcome, read after the banner's "Paused:" (a stored message: these
# are its English words). It resumes a little after the reset (RESUME_MARGIN), which shows
# when the reset is under an hour away.
def reserve_pause(reserve: str = "20 %") -> set[str]:
    return {f"Zoho's daily quota is down to its {reserve} reserve, kept for "
            f"publishing. Resumes after the reset, in {wait}."
            for wait in to_reset(zoho_quota.RESUME_MARGIN)}


def day_spent_pause() -> set[str]:
    # The reset time is known from the day's earlier answers (connecting, which had headers).
    return {"Zoho's daily API calls are all spent (other apps connected to the "
            f"organisation spend them too). Resumes after the reset, in {wait}."
            for wait in to_reset(zoho_quota.RESUME_MARGIN)}


def _completed_sync(job) -> bool:
    """A sync that ran to its end (not paused again): its outcome says what it fetched."""
    return (job.status is JobStatus.SUCCEEDED and job.paused_until is None
            and " fetched, " in i18n.in_words(job.message))


@pytest.fixture
def org(connected, sandbox):
    """The connected French organisation, with the per-minute limit out of the way."""
    org_id = connected.organization_id
    sandbox.admin("POST", f"/sandbox/orgs/{org_id}/limits", per_minute=100_000)
    return org_id


def spent_today(sandbox, org_id) -> int:
    return sandbox.admin("GET", f"/sandbox/orgs/{org_id}/limits")["spent_today"]


def day_leaving(sandbox, org_id, usable: int, reserve: int = 20) -> int:
    """Set a daily cap that leaves `usable` calls today before the `reserve` percent."""
    spent = spent_today(sandbox, org_id)
    cap = spent + usable
    while cap - spent - zoho_quota.reserve_calls(cap, reserve) < usable:
        cap += 1
    sandbox.admin("POST", f"/sandbox/orgs/{org_id}/limits", daily=cap)
    return cap


def advance(monkeypatch, sandbox, hours: float) -> None:
    """Move Bookbridge's clock and the sandbox's by the same time."""
    seconds = hours * 3600
    monkeypatch.setenv(clock.OFFSET_VARIABLE, str(clock.offset_seconds() + seconds))
    sandbox.admin("POST", "/sandbox/clock", advance_seconds=seconds)


def refresh(client):
    return client.post("/connections/zoho/refresh", data={"csrf_token": csrf_token(client)},
                       follow_redirects=True)


# -- reading the quota ----------------------------------------------------------------------


def test_connections_shows_the_quota_after_a_refresh(client, org, sandbox, monkeypatch):
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", daily=7500)
    assert "Refresh complete" in refresh(client).text
    left = 7500 - spent_today(sandbox, org)
    page = client.get("/connections/").text
    assert any(f"Zoho daily quota: {left:,} of 7,500 left, resets in {wait}" in page
               for wait in to_reset())

    # To 23:36 UTC, under an hour before the reset. The clock was pinned at the start of
    # the run and has gone on since, so the hours to go are counted from now.
    now = clock.utcnow()
    to_23_36 = datetime.datetime.combine(now.date(), datetime.time(23, 36)) - now
    advance(monkeypatch, sandbox, to_23_36.total_seconds() / 3600)
    assert re.search(r"of 7,500 left, resets in 2[45] min", client.get("/connections/").text)
    advance(monkeypatch, sandbox, 1)  # a new day: yesterday's figure says nothing
    assert "Zoho daily quota" not in client.get("/connections/").text


def test_without_zoho_headers_nothing_breaks_and_calls_are_still_counted(client, org, sandbox,
                                                                       app):
    app.config["METRICS_TOKEN"] = TOKEN
    key = ("bookbridge_zoho_calls_total", frozenset({("organization_id", org)}))
    before_calls = scrape(client)[key]
    before_line = re.search(r"Zoho daily quota: [^<]+", client.get("/connections/").text)[0]
    sandbox.admin("POST", "/sandbox/faults", quota_headers=False)

    assert "Refresh complete" in refresh(client).text
    # Answers without headers count, and leave the last reading of the day as it was.
    assert before_line in client.get("/connections/").text
    assert scrape(client)[key] >= before_calls + 6  # a page of each of the six lists


def scrape(client):
    return parse(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text)


# -- the reserve ----------------------------------------------------------------------------


def test_history_import_pauses_at_the_reserve_and_resumes_after_the_reset(
        client, org, sandbox, monkeypatch):
    fired = []
    monkeypatch.setattr(zoho_quota, "reserve_listeners", [lambda *args: fired.append(args)])
    since = clock.now().date() - datetime.timedelta(days=400)
    refresh(client)  # a first reading of the day
    cap = day_leaving(sandbox, org, usable=6)

    connect_qonto(client, sandbox, history_start=since)

    job = jobs.latest("bank_sync")
    assert i18n.in_words(job.message) in reserve_pause()
    # The job's banner (Connections page) says "Paused:" before the reason; the sync history
    # (the run, its status "paused") gives the same reason.
    banner = re.search(r'id="bank-job".*?</div>', client.get("/connections/").text, re.S)[0]
    assert "<strong>Paused:</strong>" in banner and "kept for publishing" in banner
    assert "kept for publishing" in client.get("/bank/").text
    assert SyncRun.select().order_by(SyncRun.id.desc()).get().status == "paused"
    # The import stopped short of the reserve: the day's last 20 % are still there.
    assert cap - spent_today(sandbox, org) >= zoho_quota.reserve_calls(cap, 20)
    assert not PushBatch.select().where(PushBatch.state == "prepared").exists()
    # Stopped half-way: part of the history is in Zoho, the rest waits in Bookbridge.
    pushed = BankTransaction.select().where(BankTransaction.push_state == PushState.PUSHED)
    ready = BankTransaction.select().where(BankTransaction.push_state == PushState.READY)
    assert pushed.count() > 0 and ready.count() > 0
    assert len(fired) == 1

    # A second click while paused pauses again, and does not alert again.
    sync_now(client)
    assert i18n.in_words(jobs.latest("bank_sync").message) in reserve_pause() and len(fired) == 1

    # A person publishes from the review page: that may spend the reserve.
    upload(client, ("ovh.pdf", samples.text_pdf()))
    document = Document.get()
    account = ZohoAccount.usable(org).where(ZohoAccount.account_type == "expense").first()
    client.post(f"/documents/{document.id}", data={
        "account_id": account.zoho_id, "csrf_token": csrf_token(client, "/documents/")})
    published = client.post(f"/documents/{document.id}/publish",
                            data={"csrf_token": csrf_token(client, "/documents/")},
                            follow_redirects=True).text
    assert "Published as" in published, published

    # Nothing starts before the reset; after it, the follow-up carries on.
    sync_bank_when_due.call_local()
    assert i18n.in_words(jobs.latest("bank_sync").message) in reserve_pause()
    advance(monkeypatch, sandbox, past_the_reset())
    # The rest of two years of history needs more than this small cap allows in a day.
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", plan="ultimate")
    sync_bank_when_due.call_local()
    resumed = jobs.latest("bank_sync")
    assert resumed.trigger == "follow-up" and _completed_sync(resumed), \
        resumed.message or resumed.error
    assert assert_zoho_holds_exactly_qonto(sandbox, since) > 500


def test_a_day_spent_by_another_app_pauses_the_import_the_same_way(
        client, org, sandbox, monkeypatch):
    since = clock.now().date() - datetime.timedelta(days=400)
    # Zoho sends no quota headers here, so only its 429 code 45 says the day is spent.
    sandbox.admin("POST", "/sandbox/faults", quota_headers=False)
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", daily=spent_today(sandbox, org) + 8)

    connect_qonto(client, sandbox, history_start=since)

    job = jobs.latest("bank_sync")
    assert i18n.in_words(job.message) in day_spent_pause(), job.message or job.error
    assert ZohoQuota.get(ZohoQuota.organization_id == org).refused_45 == 1
    assert not PushBatch.select().where(PushBatch.state == "prepared").exists()
    assert QontoConnection.current().follow_up_at > clock.utcnow()

    advance(monkeypatch, sandbox, past_the_reset())
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", plan="ultimate")
    sync_bank_when_due.call_local()
    resumed = jobs.latest("bank_sync")
    assert _completed_sync(resumed), resumed.message or resumed.error
    assert assert_zoho_holds_exactly_qonto(sandbox, since) > 500
    assert Job.select().where(Job.kind == "bank_sync", Job.error != "").count() == 0


def _scheduled_refresh_paused(client, org, sandbox, app):
    """A scheduled list refresh that reached a 60 % reserve (large enough for a whole
    refresh on this small day)."""
    from jobs.lists import refresh_lists_when_due
    from models import ZohoConnection

    app.config["ZOHO_DAILY_RESERVE"] = 60
    refresh(client)  # a first reading of the day
    day_leaving(sandbox, org, usable=2, reserve=60)
    ZohoConnection.update(last_list_refresh_at=None).execute()  # due by the schedule
    refresh_lists_when_due.call_local()
    scheduled = jobs.latest("refresh_lists")
    assert scheduled.trigger == "schedule"
    assert i18n.in_words(scheduled.message) in reserve_pause("60 %")
    return scheduled


def test_the_scheduled_list_refresh_pauses_at_the_reserve_until_the_reset(
        client, org, sandbox, app, monkeypatch):
    from jobs.lists import refresh_lists_when_due

    scheduled = _scheduled_refresh_paused(client, org, sandbox, app)
    refresh_lists_when_due.call_local()
    assert jobs.latest("refresh_lists").id == scheduled.id  # no new run before the reset

    advance(monkeypatch, sandbox, past_the_reset())
    refresh_lists_when_due.call_local()
    resumed = jobs.latest("refresh_lists")
    assert resumed.id != scheduled.id and resumed.trigger == "schedule"
    assert i18n.in_words(resumed.message).startswith("Refresh complete"), \
        resumed.message or resumed.error


def test_a_person_may_refresh_the_lists_with_the_reserve(client, org, sandbox, app):
    _scheduled_refresh_paused(client, org, sandbox, app)
    assert "Refresh complete" in refresh(client).text


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_jobs_paused_before_the_paused_until_column_are_still_told_apart(
        tmp_path, new_postgres, engine):
    """Migration 0020 marks the jobs a pause ended before pauses had their own column (their
    message, English or stored, said so), and no other: their banners still say "Paused:"
    and the list refresh they stopped carries on. On both engines: its SQL differs."""
    if engine == "sqlite":
        database = SqliteDatabase(str(tmp_path / "old.db"))
    else:
        database = db_url.connect(new_postgres())
    runner = Runner(database, str(MIGRATIONS_DIR))
    runner.up(target="0019_longer_messages")
    resumes = clock.utcnow() + datetime.timedelta(hours=3)
    messages = {
        "old English": "Paused: Zoho's daily API calls are all spent.",
        "stored reserve": zoho_quota.QuotaPause("20001", resumes, "reserve").message(),
        "stored spent": zoho_quota.QuotaPause("20001", resumes, "spent").message(),
        "finished": i18n.stored_message("Refresh complete."),
        "failed": "Paused: this one failed",
    }
    columns = ("kind", "status", "trigger", "step", "message", "counts", "percent", "error",
               "attempts", "params", "created_at", "finished_at", "worker")
    quoted = ", ".join('"' + column + '"' for column in columns)
    marks = ", ".join([database.param] * len(columns))
    insert = f"INSERT INTO job ({quoted}) VALUES ({marks})"  # noqa: S608 (constant names)
    for name, message in messages.items():
        status = "failed" if name == "failed" else "succeeded"
        database.execute_sql(insert, ("refresh_lists", status, "schedule", name, message, "{}",
                                      100, "", 1, "{}", "2026-06-16 09:00:00",
                                      "2026-06-16 09:05:00", ""))
    runner.up()
    paused = dict(database.execute_sql("SELECT step, paused_until FROM job").fetchall())
    database.close()
    assert {name for name, until in paused.items() if until} == {
        "old English", "stored reserve", "stored spent"}
    assert str(paused["stored spent"]) == "2026-06-16 09:05:00"
