"""Deterministic Qonto history: one seeded RNG per calendar day, so a day's transactions are
the same whenever they are generated (at a reset, or later by ``advance``).

An *event* is a transaction's whole life: when it is emitted, when it reaches its final
status (completed or declined) and when its receipts get uploaded. ``state_at`` gives the
transaction as seen at a given instant, so history and time passing use one code path.
"""

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from sandbox.qonto import catalog as cat

DAY = 86400.0
HOUR = 3600.0
SEED = 20240601
EPOCH_ORDINAL = date(2015, 1, 1).toordinal()
SEQ_PER_DAY = 64  # per account and day; transaction_id numbers stay unique and ordered
HISTORY_DAYS = 730
LOOKBACK_DAYS = 12  # an event may be emitted this long after the day that generated it
BULK_SEQ_BASE = 50_000_000


def new_uuid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _day_start(day):
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def _business_day(day, day_of_month):
    """True when ``day`` is the first business day on or after ``day_of_month``."""
    target = date(day.year, day.month, min(day_of_month, 28))
    while target.weekday() >= 5:
        target += timedelta(days=1)
    return day == target


def _cents(rng, low, high):
    return int(round(rng.uniform(low, high) * 100))


class _Day:
    """Builds the events that one calendar day generates."""

    def __init__(self, seed, day):
        self.rng = random.Random(f"qonto:{seed}:{day.isoformat()}")
        self.day = day
        self.start = _day_start(day)
        self.counters = {}
        self.events = []

    def at(self, low_hour, high_hour):
        return self.start + self.rng.uniform(low_hour * HOUR, high_hour * HOUR)

    def add(self, account, side, operation_type, label, amount_cents, emitted, **fields):
        rng = self.rng
        number = self.counters.get(account, 0)
        self.counters[account] = number + 1
        seq = (self.day.toordinal() - EPOCH_ORDINAL) * SEQ_PER_DAY + number
        event = {
            "id": new_uuid(rng), "account": account, "seq": seq, "side": side,
            "operation_type": operation_type, "label": label, "clean_name": label,
            "amount_cents": amount_cents, "local_amount_cents": amount_cents,
            "local_currency": "EUR", "emitted": emitted, "final_at": emitted + 1.2,
            "final_status": "completed", "category": "other_expense", "reference": None,
            "note": None, "vat_rate": None, "initiator_id": None, "card_last_digits": None,
            "counterparty": None, "attachments": [], "label_ids": [],
            "attachment_required": side == "debit", "attachment_lost": False,
        }
        event.update(fields)
        if side == "debit" and event["attachment_required"] and rng.random() < 0.25:
            labels = list(cat.LABELS)
            event["label_ids"] = [labels[rng.randrange(1, 3) if account == cat.PROJECTS
                                         else rng.randrange(len(labels))]]
        self.events.append(event)
        return event

    def receipts(self, event, kinds, delay_hours):
        """~60 % of debits get one or two receipts, uploaded ``delay`` after emission."""
        rng = self.rng
        if event["final_status"] == "declined" or rng.random() >= 0.6:
            if event["operation_type"] == "card" and rng.random() < 0.03:
                event["attachment_lost"] = True
            return
        for _ in range(1 if rng.random() < 0.85 else 2):
            delay = min(rng.expovariate(1 / (delay_hours * HOUR)), 5 * DAY) + 30
            event["attachments"].append((new_uuid(rng), delay, rng.choice(kinds)))

    def card(self, merchant):
        rng = self.rng
        label, clean, category, currency, low, high, vat, _weight, account = merchant
        member = rng.choice(cat.MEMBERS)
        amount = _cents(rng, low, high)
        local = amount
        if currency != "EUR":
            rate = cat.FX_RATES[currency] * rng.uniform(0.97, 1.03)
            local = int(round(amount / rate))
        emitted = self.at(7.5, 22)
        roll = rng.random()
        if roll < 0.02:  # refused at authorisation
            final_status, final_at = "declined", emitted + 2.5
        elif roll < 0.03:  # authorisation reversed later
            final_status, final_at = "declined", emitted + rng.uniform(1.5, 3) * DAY
        else:
            final_status, final_at = "completed", emitted + rng.uniform(0.6, 3.0) * DAY
        event = self.add(account, "debit", "card", label, amount, emitted, clean_name=clean,
                         category=category, local_amount_cents=local, local_currency=currency,
                         vat_rate=vat if currency == "EUR" else None, initiator_id=member[0],
                         card_last_digits=member[2], final_status=final_status,
                         final_at=final_at)
        self.receipts(event, ("pdf", "png"), 8)
        if final_status == "completed" and rng.random() < 0.006:
            when = final_at + rng.uniform(1, 8) * DAY
            self.add(account, "credit", "card", label, amount, when, clean_name=clean,
                     category="refund", local_amount_cents=local, local_currency=currency,
                     initiator_id=member[0], card_last_digits=member[2], final_at=when + DAY)

    def subscription(self, entry):
        label, clean, category, currency, local, _day, vat = entry
        rate = cat.FX_RATES.get(currency, 1.0) * self.rng.uniform(0.98, 1.02)
        amount = local if currency == "EUR" else int(round(local * rate))
        member = cat.MEMBERS[0]
        emitted = self.at(1, 6)
        event = self.add(cat.MAIN, "debit", "card", label, amount, emitted, clean_name=clean,
                         category=category, local_amount_cents=local, local_currency=currency,
                         vat_rate=vat if currency == "EUR" else None, initiator_id=member[0],
                         card_last_digits=member[2], final_at=emitted + 1.1 * DAY)
        self.receipts(event, ("pdf",), 2)

    def supplier_transfer(self, supplier):
        rng = self.rng
        name, category, low, high, vat, account, prefix = supplier
        reference = f"{prefix}-{self.day.year}-{rng.randint(1, 999):04d}"
        emitted = self.at(8, 18)
        event = self.add(account, "debit", "transfer", name, _cents(rng, low, high), emitted,
                         category=category, reference=reference, vat_rate=vat,
                         initiator_id=rng.choice(cat.MEMBERS[:2])[0],
                         counterparty=cat.counterparty_bank(name),
                         final_at=emitted + rng.uniform(2, 40))
        self.receipts(event, ("pdf",), 0.05)

    def income(self, customer):
        rng = self.rng
        name, low, high, account = customer
        reference = f"Facture F-{self.day.year}-{rng.randint(1, 480):04d}"
        event = self.add(account, "credit", "income", name, _cents(rng, low, high),
                         self.at(6, 20), category="sales", reference=reference,
                         counterparty=cat.counterparty_bank(name))
        if rng.random() < 0.02:  # recalled by the payer's bank a few days later
            when = event["emitted"] + rng.uniform(2, 6) * DAY
            self.add(account, "debit", "recall", name, event["amount_cents"], when,
                     category="refund", reference=f"RECALL {reference}",
                     counterparty=event["counterparty"], attachment_required=False)

    def direct_debit(self, entry, account=cat.MAIN):
        rng = self.rng
        name, category, low, high, vat, _day = entry
        month = self.day.strftime("%Y-%m")
        event = self.add(account, "debit", "direct_debit", name, _cents(rng, low, high),
                         self.at(3, 6), category=category, vat_rate=vat or None,
                         reference=f"{cat.slugify(name)[:12].upper()} {month} RUM-{month}",
                         counterparty=cat.counterparty_bank(name))
        self.receipts(event, ("pdf",), 30)

    def monthly(self):
        day, rng = self.day, self.rng
        if day.day == 1:
            event = self.add(cat.MAIN, "debit", "qonto_fee", "Qonto", 5880, self.at(10, 11),
                             clean_name="Qonto", category="subscription", vat_rate=20.0,
                             reference=f"Abonnement Essential {day.strftime('%m/%Y')}")
            event["attachments"].append((new_uuid(rng), 40.0, "pdf"))
        for entry in cat.SUBSCRIPTIONS:
            if day.day == entry[5]:
                self.subscription(entry)
        for entry in cat.DIRECT_DEBITS:
            if _business_day(day, entry[5]):
                self.direct_debit(entry)
        if _business_day(day, 15):
            self.interco(_cents(rng, 5000, 8000))
        if _business_day(day, 20):
            self.direct_debit(("DGFIP TVA", "tax", 4000, 7000, 0.0, 20), cat.VAT_RESERVE)
        if _business_day(day, 28):
            for name, cents in cat.EMPLOYEES:
                self.add(cat.MAIN, "debit", "transfer", name, cents, self.at(8, 9),
                         category="salary", reference=f"Salaire {day.strftime('%m/%Y')}",
                         counterparty=cat.counterparty_bank(name), attachment_required=False,
                         initiator_id=cat.MEMBERS[0][0])

    def interco(self, cents):
        emitted = self.at(9, 10)
        reference = f"Provision TVA {self.day.strftime('%m/%Y')}"
        accounts = {position: cat.account_iban(number)
                    for position, _i, _n, number, _m, _o in cat.ACCOUNTS}
        common = {"category": "treasury_and_interco", "reference": reference,
                  "attachment_required": False}
        self.add(cat.MAIN, "debit", "transfer", "Atelier Lumière SAS", cents, emitted,
                 counterparty=(accounts[cat.VAT_RESERVE], cat.QONTO_BIC),
                 initiator_id=cat.MEMBERS[0][0], **common)
        self.add(cat.VAT_RESERVE, "credit", "income", "Atelier Lumière SAS", cents,
                 emitted + 0.4, counterparty=(accounts[cat.MAIN], cat.QONTO_BIC), **common)

    def build(self):
        rng, weekend = self.rng, self.day.weekday() >= 5
        self.monthly()
        for account, weekday_counts, weekend_counts in (
                (cat.MAIN, (0, 1, 2, 3, 4, 5), (0, 0, 1, 1, 2)),
                (cat.PROJECTS, (0, 0, 1, 1, 2, 2), (0, 0, 0, 0, 1))):
            merchants = [m for m in cat.CARD_MERCHANTS if m[8] == account]
            weights = [m[7] for m in merchants]
            for _ in range(rng.choice(weekend_counts if weekend else weekday_counts)):
                self.card(rng.choices(merchants, weights)[0])
        if not weekend:
            for account, transfer_rate, income_rate in ((cat.MAIN, 0.55, 0.36),
                                                        (cat.PROJECTS, 0.22, 0.2)):
                if rng.random() < transfer_rate:
                    self.supplier_transfer(rng.choice(
                        [s for s in cat.SUPPLIERS if s[5] == account]))
                if rng.random() < income_rate:
                    self.income(rng.choice([c for c in cat.CUSTOMERS if c[3] == account]))
        return self.events


def day_events(seed, day):
    return _Day(seed, day).build()


def events_between(seed, start, end):
    """Events emitted in the half-open window (start, end], in epoch seconds."""
    first = datetime.fromtimestamp(start, UTC).date() - timedelta(days=LOOKBACK_DAYS)
    last = datetime.fromtimestamp(end, UTC).date()
    events = []
    day = first
    while day <= last:
        events.extend(e for e in day_events(seed, day) if start < e["emitted"] <= end)
        day += timedelta(days=1)
    return events


def history(seed, now, days=HISTORY_DAYS):
    return events_between(seed, now - days * DAY, now)


def state_at(event, now):
    """(status, settled_at, updated_at, visible attachments) of an event at ``now``."""
    if now < event["final_at"]:
        status, settled, updated = "pending", None, event["emitted"] + 0.35
    else:
        status = event["final_status"]
        settled = event["final_at"] if status == "completed" else None
        updated = event["final_at"] + 0.35
    attachments = [(att_id, event["emitted"] + delay, kind)
                   for att_id, delay, kind in event["attachments"]
                   if event["emitted"] + delay <= now]
    for _att_id, created, _kind in attachments:
        updated = max(updated, created)
    return status, settled, updated, attachments


def bulk_events(seed, per_account, start, now):
    """``per_account`` completed transactions per account, evenly spread over [start, now]."""
    rng = random.Random(f"qonto-bulk:{seed}:{per_account}:{start}")
    step = (now - start) / max(per_account, 1)
    template_day = _Day(seed, date(2024, 1, 2))
    samples = []
    for _ in range(60):  # a varied pool of shapes, re-dated below
        template_day.build()
        template_day.day += timedelta(days=1)
    samples = [e for e in template_day.events if e["final_status"] == "completed"]
    events = []
    for account, *_rest in cat.ACCOUNTS:
        for n in range(per_account):
            sample = samples[rng.randrange(len(samples))]
            emitted = start + n * step + rng.uniform(0, step * 0.5)
            attachments = [(new_uuid(rng), delay, kind)
                           for _i, delay, kind in sample["attachments"]]
            events.append(dict(
                sample, id=new_uuid(rng), account=account, seq=BULK_SEQ_BASE + n,
                emitted=emitted, final_at=emitted + min(step * 0.4, 60.0),
                attachments=attachments))
    return events
