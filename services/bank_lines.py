"""Turning Qonto transactions into local rows and Zoho statement lines, and back."""

import datetime
import re
from decimal import Decimal

from models import BankTransaction, PushState

# Appended to every statement line's description, so a line can be found in Zoho again
# (the statement import returns no ids, and Zoho documents no field echoing ours).
MARKER = re.compile(r"\[Qonto ([^\]]+)\]\s*$")


def parse_time(value: str | None) -> datetime.datetime | None:
    """Qonto's ISO-8601 UTC timestamp as a naive UTC datetime."""
    if not value:
        return None
    moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment


def cents(record: dict, name: str) -> int | None:
    if record.get(f"{name}_cents") is not None:
        return int(record[f"{name}_cents"])
    if record.get(name) is None:
        return None
    return int((Decimal(str(record[name])) * 100).to_integral_value())


def with_marker(description: str, transaction_id: str, limit: int = 2000) -> str:
    """The description with our marker at the end, shortened first so the marker stays."""
    marker = f" [Qonto {transaction_id}]"
    return description[:limit - len(marker)] + marker


def marker_of(description: str) -> str | None:
    match = MARKER.search(description or "")
    return match.group(1) if match else None


def row_fields(record: dict, booking_date: datetime.date) -> dict:
    """The local columns of one Qonto transaction (push state decided elsewhere)."""
    local_currency = record.get("local_currency") or ""
    currency = record.get("currency") or "EUR"
    return {
        "qonto_id": record["id"],
        "transaction_id": record.get("transaction_id") or record["id"],
        "status": record.get("status") or "completed",
        "side": record.get("side") or "debit",
        "amount_cents": cents(record, "amount") or 0,
        "currency": currency,
        "local_amount_cents": cents(record, "local_amount") if local_currency != currency
        else None,
        "local_currency": local_currency if local_currency != currency else "",
        "label": (record.get("label") or "")[:255],
        "counterparty": (record.get("clean_counterparty_name") or record.get("label") or "")[:255],
        "reference": record.get("reference") or "",
        "note": record.get("note") or "",
        "operation_type": record.get("operation_type") or "",
        "category": record.get("category") or "",
        "emitted_at": parse_time(record.get("emitted_at")),
        "settled_at": parse_time(record.get("settled_at")),
        "qonto_updated_at": parse_time(record.get("updated_at")) or parse_time(
            record.get("emitted_at")),
        "booking_date": booking_date,
        "attachment_ids": list(record.get("attachment_ids") or []),
    }


def next_push_state(status: str, current: PushState | None) -> PushState:
    """Where a transaction stands after Qonto reported `status` for it."""
    if current in (PushState.PUSHED, PushState.SENDING):
        return current  # already in Zoho (or on its way): never sent twice
    if status == "completed":
        return PushState.FAILED if current is PushState.FAILED else PushState.READY
    if status == "pending":
        return PushState.WAITING
    return PushState.NEVER  # declined, reversed, unknown: never pushed


def money(amount_cents: int) -> str:
    return f"{Decimal(amount_cents) / 100:.2f}"


def statement_line(line: BankTransaction) -> dict:
    """One line of POST /bankstatements."""
    parts = [line.label]
    if line.note:
        parts.append(line.note)
    if line.local_currency:
        parts.append(f"original amount {money(line.local_amount_cents or 0)} "
                     f"{line.local_currency}")
    description = " · ".join(part for part in parts if part)
    return {
        "transaction_id": line.transaction_id,
        "date": line.booking_date.isoformat(),
        "debit_or_credit": line.side,
        "amount": Decimal(line.amount_cents) / 100,
        "payee": line.counterparty,
        "description": with_marker(description, line.transaction_id),
        "reference_number": line.reference[:100],
    }
