"""The Qonto bank feed against both sandboxes over real HTTP."""

import datetime
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import requests

import clock
from integrations.qonto import QontoInvalidRequest
from jobs.bank import sync_bank, sync_bank_when_due
from models import (
    AuditEvent,
    BankTransaction,
    CategorisationRule,
    Job,
    PushState,
    QontoAccount,
    QontoConnection,
    QontoStatus,
    ReceiptUpload,
    SyncRun,
    ZohoAccount,
    db,
    utcnow,
)
from services import bank_schedule, i18n, jobs, qonto
from tests.bank_flow import (
    connect_qonto,
    qonto_completed,
    qonto_info,
    signed_total,
    sync_now,
    zoho_as_user,
    zoho_lines,
)
from tests.conftest import csrf_token
from tests.translation_checks import english_in, own_text
from tests.zoho_flow import connect, zoho_write_times_out

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def zoho_connected(client, auth, admin, sandbox):
    auth.login()
    connect(client, "Atelier Lumière SAS")
    # Imports make hundreds of calls; Zoho's 100 a minute is tested in test_list_refresh.
    org = sandbox.org_ids()[0]
    sandbox.admin("POST", f"/sandbox/orgs/{org}/limits", per_minute=100_000, daily=1_000_000)


def _booking_date(record) -> datetime.date:
    moment = datetime.datetime.fromisoformat(record["settled_at"].replace("Z", "+00:00"))
    return moment.astimezone(PARIS).date()


def assert_zoho_holds_exactly_qonto(sandbox, since: datetime.date) -> int:
    """Per account: Zoho's lines are exactly Qonto's completed transactions since `since`."""
    total = 0
    for account in QontoAccount.select().where(QontoAccount.included):
        expected = [r for r in qonto_completed(sandbox, account, since)
                    if _booking_date(r) >= since]
        in_zoho = zoho_lines(sandbox, account)
        assert len(in_zoho) == len(expected), account.name
        assert signed_total(in_zoho) == signed_total(expected, side_key="side"), account.name
        markers = Counter(line["description"].rsplit("[Qonto ", 1)[1] for line in in_zoho)
        assert max(markers.values()) == 1, "a transaction was pushed twice"
        total += len(expected)
    return total


def test_wrong_key_is_refused_and_nothing_is_stored(client, zoho_connected, sandbox):
    page = connect_qonto(client, sandbox, secret_key="wrong").text
    assert "Qonto refused this login and secret key" in page
    connection = QontoConnection.current()
    assert connection.status is QontoStatus.DISCONNECTED and connection.secret_key is None


def test_consent_is_required(client, zoho_connected, sandbox):
    page = connect_qonto(client, sandbox, consent="").text
    assert "Tick the consent box" in page
    assert not QontoConnection.current().is_connected


def test_two_years_of_history_land_exactly_once(client, zoho_connected, sandbox):
    since = clock.now().date() - datetime.timedelta(days=730)
    page = connect_qonto(client, sandbox, history_start=since).text
    assert "Qonto is connected" in page
    run = SyncRun.select().order_by(SyncRun.id.desc()).get()
    assert run.status == "succeeded", run.error
    assert len(run.stats) == 3
    pushed = assert_zoho_holds_exactly_qonto(sandbox, since)
    assert pushed > 2000
    assert sum(stats["pushed"] for stats in run.stats.values()) == pushed

    sandbox.admin("POST", "/sandbox/stats/reset")
    sync_now(client)
    second = SyncRun.select().order_by(SyncRun.id.desc()).get()
    assert second.status == "succeeded"
    assert sum(stats["pushed"] for stats in second.stats.values()) == 0
    writes = {path: n for path, n in sandbox.admin("GET", "/sandbox/stats")["calls"].items()
              if not path.startswith("GET")}
    assert writes == {}, writes
    assert assert_zoho_holds_exactly_qonto(sandbox, since) == pushed


def test_accounts_are_matched_by_bank_name_and_iban_digits(client, zoho_connected, sandbox):
    main = qonto_info(sandbox)["bank_accounts"][0]
    existing = zoho_as_user(sandbox).post("/bankaccounts", json={
        "account_name": "Old Qonto", "account_type": "bank", "bank_name": "Qonto",
        "account_number": "XXXX" + main["iban"][-4:]})["bankaccount"]
    connect_qonto(client, sandbox)
    linked = QontoAccount.get(QontoAccount.qonto_id == main["id"])
    assert linked.zoho_account_id == existing["account_id"] and linked.link_origin == "matched"
    others = QontoAccount.select().where(QontoAccount.qonto_id != main["id"])
    assert all(account.link_origin == "created" for account in others)

    zoho_as_user(sandbox).put(f"/bankaccounts/{existing['account_id']}", json={
        "account_name": "Renamed in Zoho", "account_type": "bank"})
    sync_now(client)
    relinked = QontoAccount.get_by_id(linked.id)
    assert relinked.zoho_account_id == existing["account_id"]
    assert relinked.zoho_account_name == "Renamed in Zoho"


def test_admin_relinks_and_a_deleted_zoho_account_is_reported(client, zoho_connected, sandbox):
    connect_qonto(client, sandbox)
    account = QontoAccount.select().order_by(QontoAccount.id).first()
    automatic = account.zoho_account_id
    spare = zoho_as_user(sandbox).post("/bankaccounts", json={
        "account_name": "Spare account", "account_type": "bank"})["bankaccount"]
    client.post("/connections/zoho/refresh", data={"csrf_token": csrf_token(client)})
    client.post(f"/bank/accounts/{account.id}", data={
        "zoho_account_id": spare["account_id"], "included": "yes",
        "csrf_token": csrf_token(client)})
    assert QontoAccount.get_by_id(account.id).link_origin == "chosen"

    zoho_as_user(sandbox).delete(f"/bankaccounts/{spare['account_id']}")
    sync_now(client)
    account = QontoAccount.get_by_id(account.id)
    assert account.zoho_account_id == automatic and account.link_origin == "matched"
    assert "no longer exists" in account.link_problem
    assert "no longer exists" in client.get("/connections/").text


def test_an_account_left_out_is_not_synced(client, zoho_connected, sandbox):
    connect_qonto(client, sandbox)
    account = QontoAccount.select().order_by(QontoAccount.id).first()
    client.post(f"/bank/accounts/{account.id}", data={"zoho_account_id": "",
                                                      "csrf_token": csrf_token(client)})
    assert QontoAccount.get_by_id(account.id).included is False
    _add_qonto_transaction(sandbox, account.qonto_id, status="completed", label="Left out")
    sync_now(client)
    assert not BankTransaction.select().where(BankTransaction.label == "Left out").exists()


def _add_qonto_transaction(sandbox, account_id, **fields):
    body = {"bank_account_id": account_id, "side": "debit", "amount_cents": 4321,
            "label": "Boulangerie Test", "status": "pending", **fields}
    return sandbox.admin("POST", "/sandbox/qonto/transactions", **body)["transaction"]


@pytest.mark.calendar
def test_pending_waits_declined_never_goes(client, zoho_connected, sandbox):
    connect_qonto(client, sandbox)
    account = QontoAccount.select().order_by(QontoAccount.id).first()
    pending = _add_qonto_transaction(sandbox, account.qonto_id)
    declined = _add_qonto_transaction(sandbox, account.qonto_id, label="Refused card")
    sync_now(client)
    assert BankTransaction.get(BankTransaction.qonto_id == pending["id"]).push_state \
        is PushState.WAITING
    sandbox.admin("POST", f"/sandbox/qonto/transactions/{pending['id']}/complete")
    sandbox.admin("POST", f"/sandbox/qonto/transactions/{declined['id']}/decline")
    sync_now(client)
    assert BankTransaction.get(BankTransaction.qonto_id == pending["id"]).push_state \
        is PushState.PUSHED
    assert BankTransaction.get(BankTransaction.qonto_id == declined["id"]).push_state \
        is PushState.NEVER
    labels = [line["description"] for line in zoho_lines(sandbox, account)]
    assert sum("Boulangerie Test" in label for label in labels) == 1
    assert not any("Refused card" in label for label in labels)


def test_timeout_after_zoho_accepted_does_not_push_twice(app, client, zoho_connected, sandbox):
    connect_qonto(client, sandbox)
    account = QontoAccount.select().order_by(QontoAccount.id).first()
    for n in range(3):
        _add_qonto_transaction(sandbox, account.qonto_id, status="completed",
                               label=f"Late answer {n}")
    with zoho_write_times_out(app, sandbox, "POST /bankstatements"):
        sync_now(client)
    job = jobs.latest("bank_sync")
    assert job.status.value == "waiting" and "checks whether it went through" in job.message
    sync_bank.call_local(job.id)  # Huey's retry
    assert jobs.latest("bank_sync").status.value == "succeeded"
    descriptions = [line["description"] for line in zoho_lines(sandbox, account)]
    for n in range(3):
        assert sum(f"Late answer {n}" in d for d in descriptions) == 1


def test_flaky_zoho_still_ends_exactly(client, zoho_connected, sandbox):
    since = clock.now().date() - datetime.timedelta(days=120)
    sandbox.admin("POST", "/sandbox/faults", error_rate=0.1, seed=7)
    try:
        connect_qonto(client, sandbox, history_start=since)
        for _ in range(20):
            job = jobs.latest("bank_sync")
            if job.status.value == "succeeded" and not BankTransaction.select().where(
                    BankTransaction.push_state.in_([PushState.READY, PushState.SENDING])
            ).exists():
                break
            sandbox.admin("POST", "/sandbox/faults", error_rate=0.1, force_429=2)
            if job.is_active:
                sync_bank.call_local(job.id)  # what Huey's retry does a minute later
            else:
                client.post("/bank/history", data={"history_start": since.isoformat(),
                                                   "csrf_token": csrf_token(client)})
    finally:
        sandbox.admin("DELETE", "/sandbox/faults")
    assert assert_zoho_holds_exactly_qonto(sandbox, since) > 100


def test_rules_categorise_and_receipts_follow_once(client, zoho_connected, sandbox):
    since = clock.now().date() - datetime.timedelta(days=60)
    expense = ZohoAccount.select().where(ZohoAccount.account_type == "expense").first()
    client.post("/bank/rules/", data={
        "name": "Card payments", "condition_field_0": "label", "condition_op_0": "matches",
        "condition_value_0": ".", "side": "debit", "operation_type": "card",
        "zoho_account_id": expense.zoho_id, "enabled": "yes", "stop_processing": "yes",
        "csrf_token": csrf_token(client)})
    rule = CategorisationRule.get()
    preview = client.get("/bank/rules/").text
    assert "matches 0 of the last 0 transactions" in preview

    connect_qonto(client, sandbox, history_start=since)
    categorised = BankTransaction.select().where(BankTransaction.categorized_by == rule)
    assert categorised.count() > 0
    assert all(line.operation_type == "card" and line.side == "debit" for line in categorised)
    fired = AuditEvent.select().where(AuditEvent.action == "bank.rule_fired")
    assert fired.count() == categorised.count()
    assert fired.first().after["rule_version"] == 1

    with_receipts = [line for line in categorised if line.attachment_ids]
    assert with_receipts
    zoho = zoho_as_user(sandbox)
    for line in with_receipts[:5]:
        documents = zoho.get(f"/banktransactions/{line.zoho_transaction_id}")[
            "banktransaction"]["documents"]
        assert len(documents) == len(line.attachment_ids)
    uploads = ReceiptUpload.select().where(ReceiptUpload.state == "done").count()

    sync_now(client)
    assert ReceiptUpload.select().count() == uploads
    assert "matches" in client.get("/bank/rules/").text


def test_receipts_follow_a_line_categorised_by_hand(client, zoho_connected, sandbox):
    connect_qonto(client, sandbox)
    account = QontoAccount.select().order_by(QontoAccount.id).first()
    added = _add_qonto_transaction(sandbox, account.qonto_id, status="completed",
                                   label="Fournitures Martin")
    sandbox.admin("POST", f"/sandbox/qonto/transactions/{added['id']}/attachments")
    sync_now(client)
    line = BankTransaction.get(BankTransaction.qonto_id == added["id"])
    assert line.push_state is PushState.PUSHED
    assert "Fournitures Martin" in client.get("/bank/waiting/").text  # waiting for a category

    zoho = zoho_as_user(sandbox)
    zoho_line = next(z for z in zoho_lines(sandbox, account)
                     if "Fournitures Martin" in z["description"])
    expense = ZohoAccount.select().where(ZohoAccount.account_type == "expense").first()
    zoho.post(f"/banktransactions/uncategorized/{zoho_line['transaction_id']}"
              "/categorize/expenses", json={"account_id": expense.zoho_id})
    sync_now(client)
    documents = zoho.get(f"/banktransactions/{zoho_line['transaction_id']}")[
        "banktransaction"]["documents"]
    assert len(documents) == 1
    assert "Fournitures Martin" not in client.get("/bank/waiting/").text


def test_disconnect_keeps_history_and_reconnect_pushes_nothing_again(client, zoho_connected,
                                                                    sandbox):
    connect_qonto(client, sandbox, history_start=clock.now().date()
                  - datetime.timedelta(days=30))
    pushed = BankTransaction.select().where(BankTransaction.push_state == PushState.PUSHED)
    before = pushed.count()
    page = client.post("/bank/qonto/disconnect", data={"csrf_token": csrf_token(client)},
                       follow_redirects=True).text
    assert "Qonto is disconnected" in page
    assert QontoConnection.current().secret_key is None
    assert pushed.count() == before
    sandbox.admin("POST", "/sandbox/stats/reset")
    connect_qonto(client, sandbox)
    posts = sandbox.admin("GET", "/sandbox/stats")["calls"].get("POST /bankstatements", 0)
    assert posts == 0
    assert pushed.count() == before


def test_revoked_key_stops_the_schedule_with_a_banner(client, zoho_connected, sandbox,
                                                      bookkeeper, auth):
    connect_qonto(client, sandbox)
    sandbox.admin("POST", "/sandbox/qonto/rotate-key")
    sync_now(client)
    connection = QontoConnection.current()
    assert connection.status is QontoStatus.BROKEN
    assert "Qonto bank feed is stopped" in client.get("/activity/").text
    QontoConnection.update(next_sync_at=utcnow() - datetime.timedelta(minutes=1)).execute()
    before = Job.select().count()
    sync_bank_when_due.call_local()
    assert Job.select().count() == before


@pytest.mark.calendar
def test_daily_schedule_runs_when_due(client, zoho_connected, sandbox):
    connect_qonto(client, sandbox)
    connection = QontoConnection.current()
    assert connection.next_sync_at > utcnow()
    QontoConnection.update(next_sync_at=utcnow() - datetime.timedelta(minutes=1)).execute()
    sync_bank_when_due.call_local()
    job = jobs.latest("bank_sync")
    assert job.trigger == "schedule" and job.status.value == "succeeded"
    assert QontoConnection.current().next_sync_at > utcnow()


def test_next_run_is_2030_in_the_organisations_time_zone():
    paris = ZoneInfo("Europe/Paris")
    winter = bank_schedule.next_run("20:30", paris, datetime.datetime(2026, 1, 15, 12, 0))
    assert winter == datetime.datetime(2026, 1, 15, 19, 30)
    summer = bank_schedule.next_run("20:30", paris, datetime.datetime(2026, 7, 15, 19, 0))
    assert summer == datetime.datetime(2026, 7, 16, 18, 30)
    assert bank_schedule.local_date(datetime.datetime(2026, 3, 31, 22, 30), paris) == \
        datetime.date(2026, 4, 1)


def test_bookkeeper_cannot_connect_or_sync(client, auth, admin, bookkeeper, sandbox):
    auth.login("books@example.com")
    token = csrf_token(client)
    for path in ("/bank/qonto/connect", "/bank/qonto/disconnect", "/bank/sync",
                 "/bank/history", "/bank/schedule"):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path


def test_sync_time_is_validated(client, zoho_connected, sandbox):
    connect_qonto(client, sandbox)
    page = client.post("/bank/schedule", data={"sync_time": "25:00",
                                               "csrf_token": csrf_token(client)},
                       follow_redirects=True).text
    assert "HH:MM" in page
    client.post("/bank/schedule", data={"sync_time": "07:15", "csrf_token": csrf_token(client)})
    assert QontoConnection.current().sync_time == "07:15"


def test_the_sandbox_secret_is_never_rendered(client, zoho_connected, sandbox):
    connect_qonto(client, sandbox)
    secret = qonto_info(sandbox)["secret_key"]
    connections = client.get("/connections/").text
    assert secret not in connections.replace("key <code>sandbox-qonto-secret</code>", "")
    assert requests.get(sandbox.url + "/sandbox/qonto", timeout=5).ok



@pytest.mark.calendar
def test_extending_history_back_imports_only_what_is_missing(client, zoho_connected, sandbox):
    recent = clock.now().date() - datetime.timedelta(days=60)
    connect_qonto(client, sandbox, history_start=recent)
    first = assert_zoho_holds_exactly_qonto(sandbox, recent)
    older = clock.now().date() - datetime.timedelta(days=150)
    client.post("/bank/history", data={"history_start": older.isoformat(),
                                       "csrf_token": csrf_token(client)})
    run = SyncRun.select().order_by(SyncRun.id.desc()).get()
    total = assert_zoho_holds_exactly_qonto(sandbox, older)
    assert total > first
    assert sum(stats["pushed"] for stats in run.stats.values()) == total - first
    assert all(a.history_start == older for a in QontoAccount.select())


def test_foreign_currency_keeps_the_original_amount(client, zoho_connected, sandbox):
    connect_qonto(client, sandbox)
    account = QontoAccount.select().order_by(QontoAccount.id).first()
    _add_qonto_transaction(sandbox, account.qonto_id, status="completed", label="Figma Inc",
                           amount_cents=1840, local_amount_cents=2000, local_currency="USD")
    sync_now(client)
    line = BankTransaction.get(BankTransaction.label == "Figma Inc")
    assert (line.local_amount_cents, line.local_currency) == (2000, "USD")
    zoho_line = next(z for z in zoho_lines(sandbox, account) if "Figma Inc" in z["description"])
    assert "original amount 20.00 USD" in zoho_line["description"]
    assert str(zoho_line["amount"]) == "18.4"


def test_lines_waiting_for_a_category_are_paged_newest_first_with_the_total(client, auth,
                                                                             admin):
    """Read from a partial index in SQL: flat however many lines were imported."""
    auth.login()
    account = QontoAccount.create(qonto_id="acc-waiting", name="Compte courant")
    first = datetime.date(2025, 1, 1)
    rows = []
    for day in range(400):  # one line a day, most of them not waiting
        waiting = day % 3 == 0
        rows.append({"account": account.id, "qonto_id": f"q-{day}", "status": "completed",
                     "side": "debit", "amount_cents": 1000 + day, "label": f"Achat {day}",
                     "qonto_updated_at": utcnow(),
                     "booking_date": first + datetime.timedelta(days=day),
                     "push_state": PushState.PUSHED if day % 2 == 0 or waiting
                     else PushState.READY,
                     "attachment_ids": ["receipt"] if waiting or day % 5 == 0 else [],
                     "zoho_status": "uncategorized" if waiting else "categorized"})
    BankTransaction.insert_many(rows).execute()
    expected = [row for row in rows if row["zoho_status"] == "uncategorized"]

    page = client.get("/bank/waiting/").text
    assert f"{len(expected)} lines with receipts wait for a category." in page
    section = page[page.index('id="waiting-lines"'):]
    section = section[:section.index("</table>")]
    newest, fiftieth = expected[-1], expected[-50]
    assert newest["label"] + "<" in section and fiftieth["label"] + "<" in section
    assert expected[-51]["label"] + "<" not in section  # on the next page
    assert section.index(newest["label"]) < section.index(fiftieth["label"])
    if client.application.config.get("DATABASE_URL"):
        return  # SQLite's plan below; PostgreSQL's planner reads 400 rows as it likes
    plan = BankTransaction.receipts_waiting().order_by(
        BankTransaction.booking_date.desc(), BankTransaction.id.desc()).limit(100)
    sql, params = plan.sql()
    steps = " ".join(row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert "banktransaction_receipts_waiting" in steps and "TEMP B-TREE" not in steps


def test_a_long_waiting_list_is_counted_exactly(client, auth, admin):
    """Counted on the partial index of just these lines: exact, however long the list."""
    auth.login()
    account = QontoAccount.create(qonto_id="acc-many-waiting", name="Compte courant")
    first = datetime.date(2025, 1, 1)
    BankTransaction.insert_many([
        {"account": account.id, "qonto_id": f"w-{n}", "status": "completed", "side": "debit",
         "amount_cents": 500 + n, "label": f"Ticket {n}", "qonto_updated_at": utcnow(),
         "booking_date": first + datetime.timedelta(days=n % 300),
         "push_state": PushState.PUSHED, "attachment_ids": ["receipt"],
         "zoho_status": "uncategorized"} for n in range(1001)]).execute()
    page = client.get("/bank/waiting/").text
    assert "1,001 lines with receipts wait for a category." in page
    BankTransaction.delete().where(BankTransaction.qonto_id == "w-0").execute()
    page = client.get("/bank/waiting/").text
    assert "1,000 lines with receipts wait for a category." in page


# -- read in French -------------------------------------------------------------------------

def test_the_qonto_card_and_its_sync_read_in_french(client, zoho_connected, sandbox):
    """A French admin connects Qonto: the refusal, the card, the sync's outcome and the
    history are in French; names from Qonto stay as Qonto has them."""
    client.set_cookie("bookbridge_language", "fr")
    page = connect_qonto(client, sandbox, secret_key="wrong").text
    assert "Qonto a refusé cet identifiant et cette clé secrète" in page
    assert "Votre saisie est conservée ci-dessous" in page
    assert "Qonto refused" not in page
    page = connect_qonto(client, sandbox).text
    assert "Qonto est connecté à " in page and "La première synchronisation a commencé." in page
    card = client.get("/connections/").text
    assert "Organisation Qonto" in card and "Synchroniser maintenant" in card
    assert "Prochaine synchronisation quotidienne" in card
    # The first sync ran: its outcome, kept in English on the job, is read in French.
    assert "récupérées" in card and "envoyées à Zoho Books" in card, card
    assert "pushed to Zoho Books" not in card and i18n.STORED_PREFIX not in card
    runs = client.get("/bank/").text
    assert ">réussie<" in runs and "Synchroniser maintenant" in runs
    assert not english_in(own_text(runs)), english_in(own_text(runs))


def test_what_qonto_errors_mean_is_what_the_integration_says(app):
    """services.qonto says Qonto's errors in the reader's language; in English it says
    exactly what integrations.qonto says (which knows no Flask, so keeps its own copy)."""
    invalid = QontoInvalidRequest(422, "invalid", "settled_at_to is before settled_at_from")
    errors = [kind(500, None, "") for kind in qonto.QONTO_REASONS] + [invalid]
    with app.test_request_context():
        for error in errors:
            assert i18n.in_words(qonto.reason(error)) == error.user_message, type(error)
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert i18n.in_words(qonto.reason(invalid)).startswith(
            "Qonto a rejeté la demande de Bookbridge\u00a0: settled_at_to is before")
        for error in errors:
            assert i18n.in_words(qonto.reason(error)) != error.user_message, type(error)
