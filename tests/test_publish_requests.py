"""Publishing a selection is a stored request worked through by a job: nothing is lost when
the worker dies, and no web request holds the Zoho writer lock for minutes."""

from jobs.documents import publish_requests_left_waiting
from jobs.recovery import resume_interrupted_jobs
from models import Document, DocumentStatus, Job, JobStatus, ZohoAccount, utcnow
from services import i18n, jobs, publish_requests, publishing
from tests import documents as samples
from tests.conftest import csrf_token
from tests.test_documents import upload
from tests.test_durable_work import _dead_pid
from tests.zoho_flow import known_vendor


def _ready_bills(client, connection) -> list[Document]:
    """Two ready bills of a supplier Zoho Books knows, different enough not to be twins."""
    vendor = known_vendor(connection)
    upload(client, ("march.pdf", samples.text_pdf(supplier_name=vendor.name)),
           ("may.pdf", samples.text_pdf(
               supplier_name=vendor.name, title="Facture N° FR-2026-0250",
               issue_date="20/05/2026", due_date="19/06/2026",
               item=("Hébergement VPS Elite", "1", "200,00 €", "200,00 €", "20 %"),
               net="200,00 €", tax="40,00 €", total="240,00 €")))
    account = ZohoAccount.usable(connection.organization_id).where(
        ZohoAccount.account_type == "expense").first()
    for document in list(Document.select()):  # each request closes the connection
        client.post(f"/documents/{document.id}", data={
            "account_id": account.zoho_id, "csrf_token": csrf_token(client, "/documents/")})
    bills = list(Document.select().order_by(Document.id))
    assert [bill.status for bill in bills] == [DocumentStatus.READY] * 2
    return bills


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
