"""What monitoring reads: the figures `/metrics` serves in Prometheus' text format, and the
log lines' format (plain text, or one JSON object a line with BOOKBRIDGE_LOG_FORMAT=json).

Each family of figures is one aggregate query, so a scrape stays cheap however many bank
lines and documents the database holds. Zoho's calls and 429s (by code) are lasting totals
per organisation, counted by the client on the organisation's ZohoQuota row together with
the daily quota its answers report (services.zoho_quota); the per-minute budget keeps one
row per minute for a day, so its figures are the calls of the current minute and what is
left of it.
"""

import datetime
import json
import logging
import sys

from peewee import fn

from models import (
    ApiBudget,
    BankTransaction,
    Document,
    Job,
    QontoAccount,
    QontoConnection,
    ZohoConnection,
    ZohoQuota,
    utcnow,
)
from models.bank import QontoStatus
from models.zoho import ConnectionStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def escape_label(value) -> str:
    """A label value as the exposition format wants it: backslash, quote, newline escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


class _Family:
    def __init__(self, name: str, kind: str, help_text: str):
        self.name, self.kind, self.help_text = name, kind, help_text
        self.samples: list[tuple[dict, float]] = []

    def add(self, value, **labels) -> None:
        self.samples.append((labels, value))

    def lines(self):
        yield f"# HELP {self.name} {_escape_help(self.help_text)}"
        yield f"# TYPE {self.name} {self.kind}"
        for labels, value in self.samples:
            inside = ",".join(f'{key}="{escape_label(text)}"' for key, text in labels.items())
            yield f"{self.name}{{{inside}}} {_number(value)}" if inside \
                else f"{self.name} {_number(value)}"


def _number(value) -> str:
    if isinstance(value, float) and not value.is_integer():
        return repr(value)
    return str(int(value))


def _timestamp(moment: datetime.datetime) -> float:
    """Seconds since the epoch of a stored (naive UTC) time."""
    return moment.replace(tzinfo=datetime.UTC).timestamp()


def collect(calls_per_minute: int) -> list[_Family]:
    """Every family, read from the database (no row is created)."""
    jobs = _Family("bookbridge_jobs", "gauge", "Background jobs by kind and status.")
    for kind, status, count in (Job.select(Job.kind, Job.status, fn.COUNT(Job.id))
                                .group_by(Job.kind, Job.status).tuples()):
        jobs.add(count, kind=kind, status=_enum_value(status))

    documents = _Family("bookbridge_documents", "gauge", "Documents by status.")
    for status, count in (Document.select(Document.status, fn.COUNT(Document.id))
                          .group_by(Document.status).tuples()):
        documents.add(count, status=_enum_value(status))

    lines = _Family("bookbridge_bank_lines", "gauge", "Qonto bank lines by push state.")
    for state, count in (BankTransaction
                         .select(BankTransaction.push_state, fn.COUNT(BankTransaction.id))
                         .group_by(BankTransaction.push_state).tuples()):
        lines.add(count, push_state=_enum_value(state))

    synced = _Family("bookbridge_last_successful_sync_timestamp_seconds", "gauge",
                     "When each Qonto account last finished a sync, in Unix seconds.")
    for name, qonto_id, moment in (QontoAccount
                                   .select(QontoAccount.name, QontoAccount.qonto_id,
                                           QontoAccount.last_synced_at)
                                   .where(QontoAccount.last_synced_at.is_null(False))
                                   .order_by(QontoAccount.id).tuples()):
        synced.add(_timestamp(moment), account=name, qonto_id=qonto_id)

    zoho = (ZohoConnection.select(ZohoConnection.status, ZohoConnection.organization_id)
            .order_by(ZohoConnection.id).first())
    zoho_connected = zoho is not None and zoho.status is ConnectionStatus.CONNECTED
    qonto = QontoConnection.select(QontoConnection.status).order_by(QontoConnection.id).first()
    qonto_connected = qonto is not None and qonto.status is QontoStatus.CONNECTED
    connected = _Family("bookbridge_zoho_connected", "gauge",
                        "1 when Zoho Books is connected, else 0.")
    connected.add(int(zoho_connected))
    bank = _Family("bookbridge_qonto_connected", "gauge", "1 when Qonto is connected, else 0.")
    bank.add(int(qonto_connected))

    minute = utcnow().replace(second=0, microsecond=0)
    spent = _Family("bookbridge_zoho_calls_this_minute", "gauge",
                    "Zoho Books calls spent in the current minute, per organisation.")
    by_organisation = dict(ApiBudget.select(ApiBudget.organization_id, ApiBudget.calls)
                           .where(ApiBudget.minute == minute).tuples())
    for organisation, calls in sorted(by_organisation.items()):
        spent.add(calls, organization_id=organisation)
    left = _Family("bookbridge_zoho_quota_remaining", "gauge",
                   "Zoho Books calls Bookbridge may still make this minute (connected "
                   "organisation; absent when not connected).")
    if zoho_connected:
        left.add(max(0, calls_per_minute - by_organisation.get(zoho.organization_id, 0)))

    return [jobs, documents, lines, synced, connected, bank, spent, left, *_daily_quota()]


def _daily_quota() -> list[_Family]:
    """Lasting Zoho call and 429 totals, and today's daily quota, per organisation."""
    calls = _Family("bookbridge_zoho_calls_total", "counter",
                    "Zoho Books calls answered, per organisation, since installation.")
    refused = _Family("bookbridge_zoho_rate_limited_total", "counter",
                      "Zoho Books 429 answers per organisation and Zoho code (44 per "
                      "minute, 45 daily plan cap, 1070 too many at once).")
    left = _Family("bookbridge_zoho_daily_quota_remaining", "gauge",
                   "Zoho Books calls left today by Zoho's last answer (absent before the "
                   "first answer of the day, or without Zoho's X-Rate-Limit headers).")
    limit = _Family("bookbridge_zoho_daily_quota_limit", "gauge",
                    "The daily Zoho Books call cap of the organisation's plan.")
    now = utcnow()
    for row in ZohoQuota.select().order_by(ZohoQuota.organization_id):
        organisation = row.organization_id
        calls.add(row.calls, organization_id=organisation)
        for code in (44, 45, 1070):
            refused.add(getattr(row, f"refused_{code}"), organization_id=organisation,
                        code=str(code))
        if row.daily_limit is not None:
            limit.add(row.daily_limit, organization_id=organisation)
            today = row.resets_at > now if row.resets_at else row.read_at.date() == now.date()
            if today:
                left.add(row.remaining, organization_id=organisation)
    return [calls, refused, left, limit]


def _enum_value(value) -> str:
    return getattr(value, "value", value)


def render(families) -> str:
    return "".join(line + "\n" for family in families for line in family.lines())


# -- logs -------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO-8601 UTC), level, logger, message, exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        entry = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def use_json_logs() -> None:
    """Log this process as one JSON object a line on stderr (BOOKBRIDGE_LOG_FORMAT=json),
    replacing the handler an earlier call added. The handlers huey's consumer put on its own
    logger get the JSON format too, and stop passing records to the root logger (which would
    print them twice)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "bookbridge_json", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.bookbridge_json = True
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    consumer = logging.getLogger("huey")
    if consumer.handlers:
        for own in consumer.handlers:
            own.setFormatter(JsonFormatter())
        consumer.propagate = False
