"""Writes wait, never fail: people save while jobs write (issue 10, item 5).

Before transactions began IMMEDIATE, a person's read-then-write save failed at once with
"database is locked" (a 500) whenever a job wrote in between (5 of 135 writes). Here three
people keep saving settings, a document and a supplier rule from their own threads while a
list refresh, a history import and document extraction run in others, all over the real
SQLite file and the sandbox; every save must succeed and the last one of each must stick.
"""

import datetime
import io
import threading

import clock
from models import ConnectionSettings, Document, Job, JobStatus, SupplierRule
from services import supplier_rules
from tests import documents
from tests.bank_flow import connect_qonto
from tests.conftest import csrf_token
from tests.factories import DEFAULT_PASSWORD

MIN_SAVES = 25


class Person(threading.Thread):
    """One signed-in browser saving one form over and over until the jobs have ended."""

    def __init__(self, app, email, save, jobs_done):
        super().__init__(daemon=True)
        self.client = app.test_client()
        self.client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD,
                                         "csrf_token": csrf_token(self.client, "/login")})
        self.token = csrf_token(self.client)
        self.save, self.jobs_done = save, jobs_done
        self.saves, self.errors, self.last = 0, [], None

    def run(self):
        while self.saves < MIN_SAVES or not self.jobs_done.is_set():
            try:
                path, data, self.last = self.save(self.saves)
                response = self.client.post(path, data={**data, "csrf_token": self.token})
                if response.status_code != 303:
                    self.errors.append(f"{path}: {response.status_code}")
            except Exception as error:  # noqa: BLE001 — the test reports every failure
                self.errors.append(f"{type(error).__name__}: {error}")
            self.saves += 1


class Worker(threading.Thread):
    """Jobs started the way people start them, each run to its end in this thread."""

    def __init__(self, app, email, steps, jobs_done=None):
        super().__init__(daemon=True)
        self.client = app.test_client()
        self.client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD,
                                         "csrf_token": csrf_token(self.client, "/login")})
        self.token = csrf_token(self.client)
        self.steps, self.jobs_done, self.errors = steps, jobs_done, []

    def run(self):
        try:
            for path, data in self.steps:
                response = self.client.post(path, data={**data, "csrf_token": self.token})
                if response.status_code >= 400:
                    self.errors.append(f"{path}: {response.status_code}")
        except Exception as error:  # noqa: BLE001
            self.errors.append(f"{type(error).__name__}: {error}")
        finally:
            if self.jobs_done:
                self.jobs_done.set()


def _uploads(count):
    for index in range(count):
        pdf = documents.text_pdf(number=f"FA-2026-{index:04d}", item=(
            f"Serveur dédié {index}", "1", "100,00", "100,00", "20 %"))
        yield "/documents/upload", {"files": (io.BytesIO(pdf), f"facture-{index}.pdf")}


def test_saves_wait_for_the_jobs_and_none_is_lost(app, client, connected, admin, bookkeeper,
                                                  sandbox):
    org = sandbox.org_ids()[0]
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", per_minute=100_000, daily=1_000_000)
    connect_qonto(client, sandbox)
    client.post("/documents/upload", data={
        "files": (io.BytesIO(documents.text_pdf()), "edited.pdf"),
        "csrf_token": csrf_token(client)})
    edited = Document.get()
    rule = supplier_rules.save(admin, {"name": "Scaleway SAS", "payment": "bill"})
    since = clock.now().date() - datetime.timedelta(days=150)

    jobs_done = threading.Event()
    bank = Worker(app, admin.email, [
        ("/connections/zoho/refresh", {}),
        ("/bank/history", {"history_start": since.isoformat()}),
        ("/connections/zoho/refresh", {}),
        ("/bank/sync", {}),
    ], jobs_done)
    reader = Worker(app, bookkeeper.email, _uploads(6))
    people = [
        Person(app, admin.email, lambda n: ("/connections/settings/", {
            **({"warn_new_supplier": "y"} if n % 2 else {}), "default_cost_tax_id": "",
            "default_sales_tax_id": ""}, n % 2 == 1), jobs_done),
        Person(app, bookkeeper.email, lambda n: (f"/documents/{edited.id}", {
            "number": f"EDIT-{n}", "description": f"edit {n}"}, f"EDIT-{n}"), jobs_done),
        Person(app, bookkeeper.email, lambda n: (f"/suppliers/{rule.id}", {
            "name": "Scaleway SAS", "payment": "bill", "payment_terms_days": str(n % 60),
            "aliases": f"Scaleway {n}"}, n % 60), jobs_done),
    ]
    for thread in [bank, reader, *people]:
        thread.start()
    for thread in [bank, reader, *people]:
        thread.join(timeout=240)
        assert not thread.is_alive(), "a thread is still waiting"

    assert bank.errors == [] and reader.errors == []
    for person in people:
        assert person.errors == [], person.errors
        assert person.saves >= MIN_SAVES
    settings_saver, document_editor, supplier_editor = people
    assert ConnectionSettings.current().warn_new_supplier is settings_saver.last
    assert Document.get_by_id(edited.id).number == document_editor.last
    assert SupplierRule.get_by_id(rule.id).payment_terms_days == supplier_editor.last
    # The jobs wrote all the while, and none of them failed either.
    ran = {job.kind for job in Job.select()}
    assert {"refresh_lists", "bank_sync", "extract_documents"} <= ran
    failed = Job.select().where(Job.status == JobStatus.FAILED)
    assert [job.error for job in failed] == []
    # The 6 uploads and the edited one; receipts attached in Qonto came in as documents too.
    assert Document.select().where(Document.source != "qonto").count() == 7
