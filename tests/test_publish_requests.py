"""Publishing a selection is a stored request worked through by a job: nothing is lost when
the worker dies, and no web request holds the Zoho writer lock for minutes."""

import datetime
import re

from jobs.documents import publish_requests_left_waiting
from jobs.recovery import resume_interrupted_jobs
from models import Document, DocumentStatus, Job, JobStatus, ZohoAccount, ZohoQuota, utcnow
from services import i18n, jobs, publish_requests, publishing
from tests import documents as samples
from tests.conftest import csrf_token
from tests.test_daily_quota import advance, past_the_reset, spent_today
from tests.test_documents import upload
from tests.test_durable_work import _dead_pid
from tests.zoho_flow import known_vendor, zoho_as_user


def _ready_bills(client, connection, *, third: bool = False) -> list[Document]:
    """Two (or three) ready bills of a supplier Zoho Books knows, different enough not to be
    twins."""
    vendor = known_vendor(connection)
    files = [("march.pdf", samples.text_pdf(supplier_name=vendor.name)),
             ("may.pdf", samples.text_pdf(
                 supplier_name=vendor.name, title="Facture N° FR-2026-0250",
                 issue_date="20/05/2026", due_date="19/06/2026",
                 item=("Hébergement VPS Elite", "1", "200,00 €", "200,00 €", "20 %"),
                 net="200,00 €", tax="40,00 €", total="240,00 €"))]
    if third:
        files.append(("april.pdf", samples.text_pdf(
            supplier_name=vendor.name, title="Facture N° FR-2026-0190",
            issue_date="14/04/2026", due_date="14/05/2026",
            item=("Stockage objet", "1", "300,00 €", "300,00 €", "20 %"),
            net="300,00 €", tax="60,00 €", total="360,00 €")))
    upload(client, *files)
    account = ZohoAccount.usable(connection.organization_id).where(
        ZohoAccount.account_type == "expense").first()
    for document in list(Document.select()):  # each request closes the connection
        client.post(f"/documents/{document.id}", data={
            "account_id": account.zoho_id, "csrf_token": csrf_token(client, "/documents/")})
    bills = list(Document.select().order_by(Document.id))
    assert [bill.status for bill in bills] == [DocumentStatus.READY] * len(files)
    return bills


def _publish_selected(client, documents) -> str:
    return client.post("/documents/bulk", data={
        "document_ids": [str(document.id) for document in documents], "action": "publish",
        "csrf_token": csrf_token(client, "/documents/")}, follow_redirects=True).text


def _published(bills) -> list[bool]:
    return [Document.get_by_id(bill.id).status is DocumentStatus.PUBLISHED for bill in bills]


def test_publish_selected_runs_as_a_job_with_a_banner(client, connected):
    bills = _ready_bills(client, connected)
    page = client.post("/documents/bulk", data={
        "document_ids": [str(bill.id) for bill in bills], "action": "publish",
        "csrf_token": csrf_token(client, "/documents/")}, follow_redirects=True).text
    assert "2 documents queued for publishing" in page
    assert _published(bills) == [True, True]
    assert "Publishing done." in page and "2 documents published." in page
    assert not publish_requests.requested().exists()


def test_a_dead_workers_bulk_publish_is_finished_by_the_restarted_worker(client, connected,
                                                                          admin):
    bills = _ready_bills(client, connected)
    job, created, added = publish_requests.request([bill.id for bill in bills], admin)
    assert created and added == 2  # stored; the worker died before publishing anything
    host = jobs.this_worker().split(":")[0]
    Job.update(status=JobStatus.RUNNING, worker=f"{host}:{_dead_pid()}:1",
               heartbeat_at=utcnow()).where(Job.id == job.id).execute()
    resume_interrupted_jobs()
    assert _published(bills) == [True, True]
    assert Job.get_by_id(job.id).status is JobStatus.SUCCEEDED


def test_a_document_the_dead_worker_published_counts_as_published_not_as_a_problem(
        app, client, connected, admin):
    bills = _ready_bills(client, connected)
    job, _, _ = publish_requests.request([bill.id for bill in bills], admin)
    # The worker published the first bill, then died before clearing its request.
    publishing.publish(app.config, Document.get_by_id(bills[0].id), admin)
    host = jobs.this_worker().split(":")[0]
    Job.update(status=JobStatus.RUNNING, worker=f"{host}:{_dead_pid()}:1",
               heartbeat_at=utcnow()).where(Job.id == job.id).execute()
    resume_interrupted_jobs()
    assert _published(bills) == [True, True]
    assert [Document.get_by_id(bill.id).publish_error for bill in bills] == ["", ""]
    assert i18n.in_words(Job.get_by_id(job.id).message) == "2 documents published."


def test_requests_no_job_works_on_are_picked_up_by_the_minute_tick(client, connected, admin):
    bills = _ready_bills(client, connected)
    job, _, _ = publish_requests.request([bills[0].id], admin)
    jobs.fail(job, "given up")  # e.g. its worker died on another machine
    publish_requests_left_waiting.call_local()
    assert _published(bills) == [True, False]
    assert jobs.latest(publish_requests.KIND).status is JobStatus.SUCCEEDED


def test_a_document_that_cannot_be_published_says_why_and_leaves_the_queue(client, connected):
    bills = _ready_bills(client, connected)
    Document.update(account_id=None).where(Document.id == bills[1].id).execute()
    client.post("/documents/bulk", data={
        "document_ids": [str(bill.id) for bill in bills], "action": "publish",
        "csrf_token": csrf_token(client, "/documents/")})
    assert _published(bills) == [True, False]
    assert "category" in i18n.in_words(Document.get_by_id(bills[1].id).publish_error)
    assert "1 could not be" in i18n.in_words(jobs.latest(publish_requests.KIND).message)
    assert not publish_requests.requested().exists()


def test_a_bulk_publish_pauses_when_zohos_day_is_spent_and_carries_on_after_the_reset(
        client, connected, sandbox, monkeypatch):
    """Zoho's 429 code 45 in the middle of a selection: what was published stays published,
    the rest waits (requested, not failed) and goes after the reset, each bill once."""
    first, *rest = bills = _ready_bills(client, connected, third=True)
    org = connected.organization_id
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", per_minute=100_000)
    before = spent_today(sandbox, org)
    _publish_selected(client, [first])
    per_bill = spent_today(sandbox, org) - before
    # Today's calls are enough for one more bill, not two (another app spent the rest).
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits",
                  daily=spent_today(sandbox, org) + per_bill)

    page = _publish_selected(client, rest)
    assert _published(bills) == [True, True, False]
    waiting = Document.get_by_id(rest[1].id)
    assert waiting.status is DocumentStatus.READY and waiting.publish_error == ""
    assert waiting.publish_requested_at is not None  # still asked for
    paused = jobs.latest(publish_requests.KIND)
    assert paused.paused_until > utcnow()
    banner = re.sub(r"\s+", " ", page)
    assert "Paused:" in banner and "1 document published." in banner
    assert re.search(r"the 1 document left is published after the reset, in \d+ (h|min)\.",
                     banner), banner
    # Asked again during the pause: queued behind it, no call spent before the reset.
    assert "Paused:" in _publish_selected(client, [rest[1]])
    publish_requests_left_waiting.call_local()
    assert jobs.latest(publish_requests.KIND).id == paused.id
    assert ZohoQuota.get(ZohoQuota.organization_id == org).refused_45 == 1

    advance(monkeypatch, sandbox, past_the_reset())
    publish_requests_left_waiting.call_local()
    assert _published(bills) == [True, True, True]
    resumed = jobs.latest(publish_requests.KIND)
    assert resumed.id != paused.id and resumed.paused_until is None
    assert i18n.in_words(resumed.message) == "1 document published."
    vendor = known_vendor(connected)
    in_zoho = zoho_as_user(sandbox).get("/bills", params={"vendor_id": vendor.zoho_id})["bills"]
    assert sorted(bill["bill_number"] for bill in in_zoho
                  if bill["bill_number"] in {b.number for b in bills}) == sorted(
        b.number for b in bills)


def test_one_document_published_on_a_spent_day_is_not_marked_failed(client, connected, sandbox):
    bills = _ready_bills(client, connected)
    org = connected.organization_id
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", daily=spent_today(sandbox, org))
    page = client.post(f"/documents/{bills[0].id}/publish", data={
        "csrf_token": csrf_token(client, f"/documents/{bills[0].id}")}, follow_redirects=True)
    assert "daily API calls for this organisation" in page.text
    document = Document.get_by_id(bills[0].id)
    assert document.status is DocumentStatus.READY and document.publish_state == ""


def test_an_auto_publish_on_a_spent_day_is_tried_again_after_the_reset(
        client, connected, sandbox):
    from jobs.documents import publish_automatically
    from jobs.queue import huey
    from models import ConnectionSettings
    from tests.test_documents import auto_publishing_supplier

    vendor = auto_publishing_supplier(connected)
    ConnectionSettings.update(auto_publish=True).execute()
    org = connected.organization_id
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", daily=spent_today(sandbox, org))
    upload(client, ("b.pdf", samples.text_pdf(supplier_name=vendor.name)))
    document = Document.get()
    assert document.status is DocumentStatus.READY and document.publish_error == ""
    retry = [task for task in huey.read_schedule(datetime.datetime(2100, 1, 1))
             if task.name == publish_automatically.task_class.__name__]
    assert len(retry) == 1 and retry[0].args == (document.id, 1)
    # Booked for after Zoho's reset (midnight UTC), not in a minute.
    hours = (retry[0].eta - datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
             ).total_seconds() / 3600
    assert past_the_reset() - 0.2 < hours < past_the_reset() + 0.1, hours
