"""GET /metrics (Prometheus text format, behind a bearer token) and JSON logs."""

import datetime
import io
import json
import logging
import re
import uuid

import pytest

from models import (
    ApiBudget,
    BankTransaction,
    Document,
    Job,
    JobStatus,
    QontoAccount,
    QontoConnection,
    StoredFile,
    utcnow,
)
from models.bank import PushState, QontoStatus
from models.documents import DocumentStatus

TOKEN = "s3cret-metrics-token"

# One sample line of the text exposition format 0.0.4: a metric name, optional labels whose
# values escape backslash, quote and newline, and a number.
_LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*=" + _LABEL_VALUE
SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"(?:\{(?P<labels>" + _LABEL + r"(?:," + _LABEL + r")*)?\})?"
    r" (?P<value>[-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|NaN|[-+]Inf))$")
HELP = re.compile(r"^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$")
TYPE = re.compile(r"^# TYPE (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*) "
                  r"(?:counter|gauge|histogram|summary|untyped)$")
PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\\"n])", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def parse(text: str) -> dict:
    """{(name, frozenset of (label, value)): number}, checking every line's shape and that
    each sample follows its family's TYPE line."""
    assert text.endswith("\n")
    samples, typed = {}, set()
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP"):
            assert HELP.match(line), line
        elif line.startswith("# TYPE"):
            match = TYPE.match(line)
            assert match, line
            typed.add(match["name"])
        else:
            match = SAMPLE.match(line)
            assert match, line
            assert match["name"] in typed, line
            labels = frozenset((key, _unescape(value))
                               for key, value in PAIR.findall(match["labels"] or ""))
            key = (match["name"], labels)
            assert key not in samples, line
            samples[key] = float(match["value"])
    return samples


def scrape(client, token=TOKEN):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def family(samples, name) -> dict:
    return {dict(labels).get("status") or dict(labels).get("push_state") or labels: value
            for (sample, labels), value in samples.items() if sample == name}


@pytest.fixture
def metrics_on(app):
    app.config["METRICS_TOKEN"] = TOKEN
    return app


def test_off_without_a_token(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
    f"Bearer {TOKEN[:-1]}",
])
def test_refused_without_the_right_token(metrics_on, client, header):
    headers = {} if header is None else {"Authorization": header}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.data == b""  # no detail
    assert "bookbridge" not in response.text


def test_no_session_needed_and_no_redirect(metrics_on, client):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.location is None
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_empty_database_parses(metrics_on, client):
    samples = scrape(client)
    assert samples[("bookbridge_zoho_connected", frozenset())] == 0
    assert samples[("bookbridge_qonto_connected", frozenset())] == 0
    assert family(samples, "bookbridge_documents") == {}
    # Reading the figures created nothing.
    assert QontoConnection.select().count() == 0


def _account(name, synced_at):
    return QontoAccount.create(qonto_id=str(uuid.uuid4()), name=name, last_synced_at=synced_at)


def _line(account, state):
    return BankTransaction.create(
        account=account, qonto_id=str(uuid.uuid4()), status="completed", side="debit",
        amount_cents=1234, qonto_updated_at=utcnow(), booking_date=datetime.date(2026, 6, 1),
        push_state=state)


def _document(status):
    stored = StoredFile.create(sha256=uuid.uuid4().hex, media_type="application/pdf", size=1)
    return Document.create(file=stored, status=status)


def test_numbers_match_the_database(metrics_on, client):
    for status, count in ((JobStatus.SUCCEEDED, 3), (JobStatus.FAILED, 1),
                          (JobStatus.RUNNING, 2)):
        for _ in range(count):
            Job.create(kind="bank_sync", status=status)
    Job.create(kind="list_refresh", status=JobStatus.QUEUED)
    for status, count in ((DocumentStatus.TO_REVIEW, 4), (DocumentStatus.PUBLISHED, 2)):
        for _ in range(count):
            _document(status)
    synced = datetime.datetime(2026, 6, 16, 20, 30, 5)
    main = _account("Main", synced)
    never = _account("Never synced", None)
    for state, count in ((PushState.PUSHED, 5), (PushState.READY, 2), (PushState.FAILED, 1)):
        for _ in range(count):
            _line(main, state)
    _line(never, PushState.WAITING)
    QontoConnection.create(status=QontoStatus.CONNECTED)

    samples = scrape(client)

    jobs = {(dict(labels)["kind"], dict(labels)["status"]): value
            for (name, labels), value in samples.items() if name == "bookbridge_jobs"}
    assert jobs == {("bank_sync", "succeeded"): 3, ("bank_sync", "failed"): 1,
                    ("bank_sync", "running"): 2, ("list_refresh", "queued"): 1}
    assert family(samples, "bookbridge_documents") == {"to_review": 4, "published": 2}
    assert family(samples, "bookbridge_bank_lines") == {
        "pushed": 5, "ready": 2, "failed": 1, "waiting": 1}
    # The same counts as the database, whatever the sums.
    assert sum(jobs.values()) == Job.select().count()
    assert sum(family(samples, "bookbridge_bank_lines").values()) == \
        BankTransaction.select().count()
    last_sync = {dict(labels)["account"]: value for (name, labels), value in samples.items()
                 if name == "bookbridge_last_successful_sync_timestamp_seconds"}
    assert last_sync == {
        "Main": synced.replace(tzinfo=datetime.UTC).timestamp()}
    assert samples[("bookbridge_qonto_connected", frozenset())] == 1
    assert samples[("bookbridge_zoho_connected", frozenset())] == 0
    assert not [key for key in samples if key[0] == "bookbridge_zoho_quota_remaining"]


def test_label_values_are_escaped(metrics_on, client):
    tricky = 'Compte "pro" \\ épargne\nsecond line'
    account = _account(tricky, datetime.datetime(2026, 6, 17, 8, 0))
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert 'account="Compte \\"pro\\" \\\\ épargne\\nsecond line"' in response.text
    samples = parse(response.text)  # every line still one sample
    key = ("bookbridge_last_successful_sync_timestamp_seconds",
           frozenset({("account", tricky), ("qonto_id", account.qonto_id)}))
    assert key in samples


def test_zoho_connection_and_quota(metrics_on, client, connected, app):
    minute = utcnow().replace(second=0, microsecond=0)
    ApiBudget.create(organization_id="other-org", minute=minute, calls=7)
    samples = scrape(client)
    assert samples[("bookbridge_zoho_connected", frozenset())] == 1
    spent = {dict(labels)["organization_id"]: value for (name, labels), value
             in samples.items() if name == "bookbridge_zoho_calls_this_minute"}
    assert spent["other-org"] == 7
    ours = spent.get(connected.organization_id, 0)
    assert samples[("bookbridge_zoho_quota_remaining", frozenset())] == \
        app.config["ZOHO_CALLS_PER_MINUTE"] - ours


def test_one_query_per_family(app):
    """The scrape's cost does not grow with rows: a fixed number of statements."""
    from app import create_app

    for _ in range(3):
        _document(DocumentStatus.READY)
        _line(_account("A", utcnow()), PushState.READY)
    counted = create_app({"TESTING": True, "DATA_DIR": app.config["DATA_DIR"],
                          "COUNT_QUERIES": True, "METRICS_TOKEN": TOKEN})
    response = counted.test_client().get("/metrics",
                                         headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert int(response.headers["X-Query-Count"]) <= 8


# -- JSON logs --------------------------------------------------------------------------------


@pytest.fixture
def json_root():
    """The root logger as create_app leaves it with LOG_FORMAT=json; restored afterwards."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
    root.setLevel(level)


def test_json_logs_are_one_object_a_line(app, json_root, tmp_path):
    from app import create_app

    json_app = create_app({"TESTING": True, "DATA_DIR": app.config["DATA_DIR"],
                           "LOG_FORMAT": "json"})
    ours = [h for h in json_root.handlers if getattr(h, "bookbridge_json", False)]
    assert len(ours) == 1  # a second app in the same process replaces, not adds
    stream = io.StringIO()
    ours[0].setStream(stream)

    json_app.logger.info("sync %s finished\nwith a second line", "Main")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("jobs.bank").exception("sync failed")

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["level"] == "INFO" and first["logger"] == json_app.logger.name
    assert first["message"] == "sync Main finished\nwith a second line"
    moment = datetime.datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert moment.utcoffset() == datetime.timedelta(0)
    assert second["level"] == "ERROR" and second["logger"] == "jobs.bank"
    assert "ValueError: boom" in second["exc_info"] and "Traceback" in second["exc_info"]


def test_text_logs_stay_the_default(app):
    assert app.config["LOG_FORMAT"] == "text"
    assert not [h for h in logging.getLogger().handlers if getattr(h, "bookbridge_json", False)]


def test_zoho_calls_and_429s_are_lasting_totals(metrics_on, client, connected, sandbox):
    """Every call Zoho answered is counted, 429s by code, and the daily quota as Zoho's
    answers report it (the sandbox's Free plan: 1,000 a day)."""
    from tests.test_daily_quota import refresh

    org = connected.organization_id
    labels = frozenset({("organization_id", org)})
    before = scrape(client).get(("bookbridge_zoho_calls_total", labels), 0)
    sandbox.admin("POST", "/sandbox/stats/reset")
    sandbox.admin("POST", "/sandbox/faults", force_429=2)  # two per-minute refusals

    assert "Refresh complete" in refresh(client).text
    samples = scrape(client)
    answered = sandbox.admin("GET", f"/sandbox/stats?organization_id={org}")["total"]
    assert samples[("bookbridge_zoho_calls_total", labels)] - before == answered
    refused = {dict(key)["code"]: value for (name, key), value in samples.items()
               if name == "bookbridge_zoho_rate_limited_total"}
    assert refused == {"44": 2, "45": 0, "1070": 0}
    spent = sandbox.admin("GET", f"/sandbox/orgs/{org}/limits")["spent_today"]
    assert samples[("bookbridge_zoho_daily_quota_limit", labels)] == 1000
    assert samples[("bookbridge_zoho_daily_quota_remaining", labels)] == 1000 - spent
