"""A Bookbridge with years of history, built in seconds, for `bench.scale` and its test.

`build(data_dir, sizes)` makes a data directory whose database the real migrations created,
then fills it through the models with multi-row inserts: Zoho lists (contacts, chart of
accounts, taxes, bank accounts, items), three Qonto accounts with their bank lines, push
batches, daily sync runs and jobs, documents in every status (some duplicates), supplier
and bank rules, users and the activity log, spread over two years before now. Values are
drawn from a seeded generator, so a size always gives the same state.

`PAGES` lists the requests both measure, and `edit_form` reads the review page's
form as a browser would send it back.
"""

import dataclasses
import datetime
import random
from html.parser import HTMLParser
from pathlib import Path

from peewee import chunked

import clock
from models import (
    AuditEvent,
    BankTransaction,
    CategorisationRule,
    ConnectionSettings,
    ConnectionStatus,
    Document,
    DocumentStatus,
    Job,
    JobStatus,
    PushBatch,
    PushState,
    QontoAccount,
    QontoConnection,
    QontoStatus,
    Role,
    StoredFile,
    SupplierRule,
    SyncFailure,
    SyncRun,
    User,
    ZohoAccount,
    ZohoBankAccount,
    ZohoConnection,
    ZohoContact,
    ZohoCurrency,
    ZohoItem,
    ZohoTax,
    db,
)
from models.audit import area_of
from models.documents import duplicate_key
from services import lists

ORGANIZATION_ID = "600000042"
EMAIL = "bench@example.com"
PASSWORD = "correct horse battery"
HISTORY_DAYS = 730
QONTO_ACCOUNTS = 3
PUSH_BATCH_SIZE = 200  # lines per POST /bankstatements, as bank_sync sends them
INSERT_CHUNK = 400  # rows per INSERT: under SQLite's bound-variable limit for wide tables

FIRST_WORDS = ("Papeterie", "Boulangerie", "Garage", "Imprimerie", "Transports", "Cabinet",
               "Atelier", "Pharmacie", "Librairie", "Fromagerie", "Menuiserie", "Agence",
               "Hôtel", "Brasserie", "Quincaillerie", "Studio", "Laboratoire", "Serrurerie",
               "Pépinière", "Comptoir")
SECOND_WORDS = ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard",
                "Roux", "Fournier", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau",
                "Vincent", "Muller", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer",
                "Garnier", "Chevalier", "Clément")
LEGAL_FORMS = ("SARL", "SAS", "SA", "EURL", "")
AUDIT_ACTIONS = ("document.edit", "document.publish", "document.archive", "bank.sync",
                 "bank.categorise", "rule.save", "supplier.save", "lists.refresh",
                 "zoho.publish", "settings.update", "user.login")
OPERATION_TYPES = ("card", "transfer", "direct_debit", "income", "qonto_fee")
QONTO_CATEGORIES = ("office_supply", "restaurant_and_bar", "transport", "utility", "tax",
                    "hardware_and_equipment", "marketing", "salary", "other_expense")


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How many rows of each kind; `scaled` multiplies them all (at least one of each)."""

    bank_lines: int
    documents: int
    audit_events: int
    contacts: int
    accounts: int
    taxes: int
    bank_accounts: int
    items: int
    bank_rules: int
    supplier_rules: int
    sync_runs: int
    sync_failures: int
    users: int

    def scaled(self, factor: float, keep: tuple[str, ...] = ()) -> "Sizes":
        """Every size times `factor` (at least one), except the fields named in `keep`."""
        return Sizes(**{field.name: getattr(self, field.name) if field.name in keep
                        else max(1, round(getattr(self, field.name) * factor))
                        for field in dataclasses.fields(self)})


# What a company configures rather than accumulates: the same on its first day and after
# two years. The bench's small state keeps these, so a page's ratio measures the history's
# growth, not 36 rules against 1. (The query-count guard scales them too, to catch a
# query per rule.)
CONFIGURATION = ("taxes", "bank_accounts", "bank_rules", "supplier_rules", "users")


# Two years of a busy small company (the sizes issue 9 was measured at).
LARGE = Sizes(bank_lines=100_000, documents=10_000, audit_events=91_000, contacts=5_060,
              accounts=1_153, taxes=24, bank_accounts=6, items=500, bank_rules=36,
              supplier_rules=48, sync_runs=HISTORY_DAYS, sync_failures=40, users=5)
SMALL = LARGE.scaled(0.01, keep=CONFIGURATION)


@dataclasses.dataclass(frozen=True)
class State:
    """What the measurements need to know about a built state."""

    data_dir: Path
    sizes: Sizes
    document_id: int  # the latest document to review: a suspected duplicate, with a rule
    bank_rule_id: int
    supplier_rule_id: int
    search: str  # a word of supplier names, as someone types it in the document search


def build(data_dir: Path, sizes: Sizes, config: dict | None = None):
    """Create and fill a data directory; returns (the Flask app bound to it, the State)."""
    from app import create_app

    data_dir = Path(data_dir)
    app = create_app({"DATA_DIR": str(data_dir), **(config or {})})
    with db.atomic():
        state = _Filler(sizes, random.Random(20260617)).fill(data_dir)
    # What a list refresh leaves beside the lists: name keys, identifiers, counts.
    lists.rebuild_derived(ZohoConnection.current().organization_id)
    db.close()  # the web server opens its own connections
    return app, state


def _insert(model, rows) -> None:
    for chunk in chunked(rows, INSERT_CHUNK):
        model.insert_many(chunk).execute()


def _ids(model) -> list[int]:
    return [row.id for row in model.select(model.id).order_by(model.id)]


class _Filler:
    """Fills one state; each method owns one area, in the order foreign keys need."""

    def __init__(self, sizes: Sizes, rng: random.Random):
        self.sizes = sizes
        self.rng = rng
        self.now = clock.utcnow().replace(microsecond=0)
        self.start = self.now - datetime.timedelta(days=HISTORY_DAYS)

    def fill(self, data_dir: Path) -> State:
        self.admin_id = self._users()
        self._connections()
        self._zoho_lists()
        self._qonto_accounts()
        self.bank_rule_ids = self._bank_rules()
        self._bank_lines()
        self._sync_runs()
        self.supplier_rule_ids = self._supplier_rules()
        document_id = self._documents()
        self._audit_events()
        return State(data_dir=data_dir, sizes=self.sizes, document_id=document_id,
                     bank_rule_id=self.bank_rule_ids[len(self.bank_rule_ids) // 2],
                     supplier_rule_id=self.supplier_rule_ids[0],
                     search=self.vendor_names[0].split()[0])

    def _moment(self, fraction: float) -> datetime.datetime:
        """The moment `fraction` of the way through the history (0 = two years ago)."""
        return self.start + datetime.timedelta(seconds=int(fraction * HISTORY_DAYS * 86400))

    # -- people and connections --------------------------------------------------------------

    def _users(self) -> int:
        from services import accounts

        admin = accounts.create_user(EMAIL, PASSWORD, Role.ADMIN, name="Bench Admin")
        # The others share the admin's hash: one argon2 hash, not one per user.
        _insert(User, [{"email": f"colleague{n}@example.com", "name": f"Colleague {n}",
                        "password_hash": admin.password_hash, "role": Role.BOOKKEEPER,
                        "last_login_at": self._moment(self.rng.random())}
                       for n in range(1, self.sizes.users)])
        return admin.id

    def _connections(self) -> None:
        ZohoConnection.create(
            status=ConnectionStatus.CONNECTED, data_centre="eu",
            accounts_server="https://accounts.zoho.eu", api_domain="https://www.zohoapis.eu",
            organization_id=ORGANIZATION_ID, organization_name="Atelier Lumière SAS",
            currency_code="EUR", time_zone="Europe/Paris", connected_by=self.admin_id,
            connected_at=self.start, last_list_refresh_at=self.now)
        ConnectionSettings.create()
        QontoConnection.create(
            status=QontoStatus.CONNECTED, login="atelier-lumiere-4821",
            organization_name="Atelier Lumière", consented_by=self.admin_id,
            consented_at=self.start, last_sync_at=self.now - datetime.timedelta(hours=14),
            next_sync_at=self.now + datetime.timedelta(hours=10))

    # -- Zoho lists ----------------------------------------------------------------------------

    def _cached(self, prefix: str, index: int, name: str, **fields) -> dict:
        zoho_id = f"{prefix}{index:09d}"
        # What Zoho's list call returns for a record, kept as `data` like the refresh does.
        data = {"id": zoho_id, "name": name, "status": "active", "created_time":
                self.start.isoformat(), "last_modified_time": self.now.isoformat(),
                **{key: str(value) for key, value in fields.items()}}
        return {"organization_id": ORGANIZATION_ID, "zoho_id": zoho_id, "name": name,
                "refreshed_at": self.now, "data": data, **fields}

    def _zoho_lists(self) -> None:
        sizes = self.sizes
        contacts = []
        for n in range(sizes.contacts):
            name = _company_name(n)
            vendor = n % 10 < 7
            contacts.append(self._cached(
                "46000", n, name, contact_type="vendor" if vendor else "customer",
                company_name=name, email=f"compta{n}@example.fr", currency_code="EUR",
                vat_number=f"FR{n:011d}" if n % 3 == 0 else ""))
        _insert(ZohoContact, contacts)
        self.vendors = [row for row in contacts if row["contact_type"] == "vendor"]
        self.vendor_names = [row["name"] for row in self.vendors]
        accounts = [self._cached("46100", n, f"{_ACCOUNT_NAMES[n % len(_ACCOUNT_NAMES)]} {n}",
                                 code=str(600000 + n), account_type="expense")
                    for n in range(sizes.accounts)]
        _insert(ZohoAccount, accounts)
        self.account_ids = [row["zoho_id"] for row in accounts]
        rates = (20, 10, 5.5, 2.1, 0, 8.5)
        taxes = [self._cached("46200", n, f"TVA {rates[n % len(rates)]} %"
                              + (f" ({n // len(rates)})" if n >= len(rates) else ""),
                              percentage=rates[n % len(rates)], tax_type="tax",
                              is_default=n == 0)
                 for n in range(sizes.taxes)]
        _insert(ZohoTax, taxes)
        self.tax_ids = [row["zoho_id"] for row in taxes]
        banks = [self._cached("46300", n, f"Qonto {n}", account_type="bank",
                              account_number=f"FR76 3000 {n:04d}", bank_name="Qonto",
                              currency_code="EUR")
                 for n in range(max(sizes.bank_accounts, QONTO_ACCOUNTS))]
        _insert(ZohoBankAccount, banks)
        self.bank_account_ids = [row["zoho_id"] for row in banks]
        _insert(ZohoItem, [self._cached("46400", n, f"Article {n}", rate=n % 300 + 0.5)
                           for n in range(sizes.items)])
        _insert(ZohoCurrency, [self._cached("46500", n, code, code=code, is_base=n == 0)
                               for n, code in enumerate(("EUR", "USD", "GBP"))])

    # -- the bank feed ---------------------------------------------------------------------------

    def _qonto_accounts(self) -> None:
        _insert(QontoAccount, [{
            "qonto_id": f"qonto-account-{n}", "name": ("Main account", "Savings", "Cards")[n],
            "iban": f"FR76 1695 8000 01{n:02d} 0000 0000 000", "zoho_account_id":
            self.bank_account_ids[n], "zoho_account_name": f"Qonto {n}",
            "link_origin": "matched", "history_start": self.start.date(),
            "cursors": {"completed": self.now.isoformat()}, "last_synced_at": self.now}
            for n in range(QONTO_ACCOUNTS)])
        self.qonto_account_ids = _ids(QontoAccount)

    def _bank_rules(self) -> list[int]:
        _insert(CategorisationRule, [{
            "position": n, "name": f"{self.vendor_names[n % len(self.vendor_names)]} costs",
            "conditions": [{"field": "counterparty", "op": "contains",
                            "value": self.vendor_names[n % len(self.vendor_names)]},
                           {"field": "label", "op": "contains", "value": "CB"}][: 1 + n % 2],
            "side": "debit", "zoho_account_id": self.rng.choice(self.account_ids),
            "tax_id": self.tax_ids[0], "contact_id": self.vendors[n % len(self.vendors)][
                "zoho_id"], "created_by": self.admin_id, "updated_at": self.now}
            for n in range(self.sizes.bank_rules)])
        return _ids(CategorisationRule)

    def _bank_lines(self) -> None:
        """Lines over two years, oldest first; all but the last days pushed in batches."""
        total, rng = self.sizes.bank_lines, self.rng
        lines = []
        for n in range(total):
            account = self.qonto_account_ids[n % QONTO_ACCOUNTS]
            settled = self._moment(n / total)
            counterparty = rng.choice(self.vendor_names)
            status = "completed" if n % 50 else rng.choice(("pending", "declined"))
            recent = settled > self.now - datetime.timedelta(days=1)
            if status == "declined":
                state = PushState.NEVER
            elif status == "pending":
                state = PushState.WAITING
            elif recent:
                state = PushState.READY
            else:
                state = PushState.FAILED if n % 997 == 0 else PushState.PUSHED
            pushed = state is PushState.PUSHED
            categorised = pushed and n % 7 != 0
            lines.append({
                "account": account, "qonto_id": f"{rng.getrandbits(128):032x}",
                "transaction_id": f"atelier-lumiere-4821-{account}-{n}", "status": status,
                "side": "credit" if n % 9 == 0 else "debit",
                "amount_cents": rng.randint(100, 500_000), "label": f"CB {counterparty}",
                "counterparty": counterparty, "reference": f"Facture {n}",
                "operation_type": OPERATION_TYPES[n % len(OPERATION_TYPES)],
                "category": QONTO_CATEGORIES[n % len(QONTO_CATEGORIES)],
                "emitted_at": settled, "settled_at": settled if status != "pending" else None,
                "qonto_updated_at": settled, "booking_date": settled.date(),
                "attachment_ids": [f"att-{n}"] if n % 3 == 0 else [], "push_state": state,
                "pushed_at": settled if pushed else None, "push_batch": None,
                "zoho_transaction_id": f"47000{n:09d}" if pushed else None,
                "zoho_status": ("categorized" if categorised else "uncategorized")
                if pushed else "",
                "categorized_by": self.bank_rule_ids[n % len(self.bank_rule_ids)]
                if categorised and n % 2 else None,
                "categorized_at": settled if categorised else None,
                "last_error": "Zoho refused the line: invalid date" if state is
                PushState.FAILED else ""})
        self._push_batches(lines)
        _insert(BankTransaction, lines)

    def _push_batches(self, lines: list[dict]) -> None:
        """One confirmed ledger batch per PUSH_BATCH_SIZE pushed lines of an account."""
        for account in self.qonto_account_ids:
            pushed = [line for line in lines
                      if line["account"] == account and line["push_state"] is PushState.PUSHED]
            for group in chunked(pushed, PUSH_BATCH_SIZE):
                batch = PushBatch.create(
                    account=account, zoho_account_id=self.bank_account_ids[0],
                    state="confirmed", line_count=len(group),
                    start_date=group[0]["booking_date"], end_date=group[-1]["booking_date"],
                    created_at=group[-1]["settled_at"], settled_at=group[-1]["settled_at"])
                for line in group:
                    line["push_batch"] = batch.id

    def _sync_runs(self) -> None:
        """A daily run with its job, plus the list refreshes and document jobs of the days."""
        runs = self.sizes.sync_runs
        kinds = ("bank_sync", "refresh_lists", "extract_documents", "publish_documents")
        _insert(Job, [{
            "kind": kinds[n % len(kinds)], "status": JobStatus.SUCCEEDED,
            "trigger": "schedule", "percent": 100, "counts": {"fetched": n % 200},
            "created_at": self._moment(n / (runs * 4)), "started_at":
            self._moment(n / (runs * 4)), "finished_at": self._moment(n / (runs * 4))}
            for n in range(runs * 4)])
        bank_jobs = [job.id for job in Job.select(Job.id).where(Job.kind == "bank_sync")]
        names = ("Main account", "Savings", "Cards")
        _insert(SyncRun, [{
            "job": bank_jobs[n % len(bank_jobs)], "trigger": "schedule",
            "started_at": self._moment(n / runs), "finished_at": self._moment(n / runs),
            "status": "succeeded" if n % 40 else "failed",
            "error": "" if n % 40 else "Zoho Books did not answer in time.",
            "stats": {str(account): {"name": names[index], "fetched": 46, "new": 45,
                                     "updated": 1, "pushed": 45, "duplicates": 0,
                                     "categorised": 30, "receipts": 12, "failed": 0}
                      for index, account in enumerate(self.qonto_account_ids)}}
            for n in range(runs)])
        latest_run = SyncRun.select(SyncRun.id).order_by(SyncRun.id.desc()).first()
        failed_lines = [line.id for line in BankTransaction.select(BankTransaction.id).where(
            BankTransaction.push_state == PushState.FAILED)]
        _insert(SyncFailure, [{
            "run": latest_run.id, "account": self.qonto_account_ids[n % QONTO_ACCOUNTS],
            "transaction": failed_lines[n % len(failed_lines)] if failed_lines else None,
            "stage": ("push", "categorise", "receipt")[n % 3],
            "reason": "Zoho Books refused it: the account is locked for this period."}
            for n in range(self.sizes.sync_failures)])

    # -- documents -----------------------------------------------------------------------------

    def _supplier_rules(self) -> list[int]:
        _insert(SupplierRule, [{
            "name": name, "aliases": [name.upper()], "contact_id": self.vendors[n]["zoho_id"],
            "account_id": self.account_ids[n % len(self.account_ids)],
            "tax_id": self.tax_ids[0], "payment": "bill", "payment_terms_days": 30,
            "created_by": self.admin_id, "updated_at": self.now}
            for n, name in enumerate(self.vendor_names[:self.sizes.supplier_rules])])
        return _ids(SupplierRule)

    def _documents(self) -> int:
        """Documents over two years; returns the id of the last one, which is to review as a
        suspected duplicate of an earlier bill of the same supplier and number."""
        total, rng = self.sizes.documents, self.rng
        # A company buys from a few hundred suppliers, not from every contact.
        suppliers = self.vendors[:max(3, len(self.vendors) // 20)]
        _insert(StoredFile, [{"sha256": f"{rng.getrandbits(256):064x}",
                              "media_type": "application/pdf",
                              "size": rng.randint(20_000, 900_000),
                              "created_at": self._moment(n / total)} for n in range(total)])
        files = _ids(StoredFile)
        # Suppliers take turns, counted from the last document, so that one is always from
        # the first supplier (the one with a supplier rule) whatever the size.
        step = len(suppliers)
        rows = [self._document(n, total, suppliers[(total - 1 - n) % step], files[n])
                for n in range(total)]
        rows[-1].update(status=DocumentStatus.TO_REVIEW)
        # Every 31st document, and the last, repeats the number of its supplier's previous
        # one (`step` documents earlier): each is flagged as a duplicate of that one.
        repeats = [index for index in [*range(30, total - 1, 31), total - 1] if index >= step]
        for index in repeats:
            rows[index]["number"] = rows[index - step]["number"]
        for row in rows:  # the duplicate keys Document.save() would set
            row.update(supplier_key=duplicate_key(row["supplier_name"]),
                       number_key=duplicate_key(row["number"]))
        _insert(Document, rows)
        ids = _ids(Document)
        for index in repeats:
            Document.update(duplicate_of=ids[index - step],
                            duplicate_reason="same supplier and number").where(
                Document.id == ids[index]).execute()
        return ids[-1]

    def _document(self, n: int, total: int, supplier: dict, file_id: int) -> dict:
        rng = self.rng
        created = self._moment(n / total)
        # Old documents are mostly published; the recent ones still wait for a person.
        if n / total < 0.9:
            status = (DocumentStatus.PUBLISHED if n % 12 else DocumentStatus.ARCHIVED)
        else:
            status = (DocumentStatus.TO_REVIEW, DocumentStatus.READY, DocumentStatus.FAILED,
                      DocumentStatus.TO_REVIEW, DocumentStatus.READY)[n % 5]
        net = rng.randint(500, 400_000)
        tax = net * 20 // 100
        number = f"F{created.year}-{n:06d}"
        published = status is DocumentStatus.PUBLISHED
        text = (f"{supplier['name']}\nFACTURE N° {number}\nDate : {created.date()}\n"
                + "Désignation  Qté  PU HT  Montant HT\n" * 8
                + f"Total HT {net / 100:.2f}\nTVA 20 % {tax / 100:.2f}\n"
                f"Total TTC {(net + tax) / 100:.2f}\nIBAN FR76 3000 4000 0500 0000 1234 567\n")
        return {
            "file": file_id, "status": status, "source": ("upload", "folder", "mail")[n % 3],
            "source_detail": f"facture-{n}.pdf", "filename": f"facture-{n}.pdf",
            "uploaded_by": self.admin_id if n % 3 == 0 else None, "created_at": created,
            "updated_at": created, "method": ("text", "ocr", "e-invoice")[n % 3],
            "text": text, "supplier_name": supplier["name"],
            "supplier_vat": supplier["vat_number"], "contact_id": supplier["zoho_id"],
            "recognition": {"by": "name", "value": supplier["name"],
                            "contact_id": supplier["zoho_id"]},
            "number": number, "issue_date": created.date(),
            "due_date": created.date() + datetime.timedelta(days=30), "currency": "EUR",
            "net_cents": net, "tax_cents": tax, "total_cents": net + tax,
            "vat_breakdown": [{"rate": "20", "base": f"{net / 100:.2f}",
                               "tax": f"{tax / 100:.2f}"}],
            "tax_id": self.tax_ids[0], "account_id": self.account_ids[n % len(
                self.account_ids)],
            "lines": [{"description": "Fournitures", "quantity": "1",
                       "unit_price": f"{net / 100:.2f}", "net": f"{net / 100:.2f}",
                       "vat_rate": "20"}],
            "sources": {"supplier_name": "text", "number": "text", "total_cents": "text"},
            "confidence": {"supplier_name": 0.93, "number": 0.88, "total_cents": 0.97},
            "publish_state": "published" if published else "",
            "zoho_type": "bill" if published else "",
            "zoho_id": f"48000{n:09d}" if published else None,
            "zoho_number": number if published else "",
            "published_at": created if published else None,
        }

    # -- the activity log ----------------------------------------------------------------------

    def _audit_events(self) -> None:
        total = self.sizes.audit_events
        _insert(AuditEvent, [{
            "at": self._moment(n / total), "user": self.admin_id if n % 4 == 0 else None,
            "actor": "user" if n % 4 == 0 else ("worker", "scheduler")[n % 2],
            "action": AUDIT_ACTIONS[n % len(AUDIT_ACTIONS)],
            "area": area_of(AUDIT_ACTIONS[n % len(AUDIT_ACTIONS)]), "subject": f"facture-{n}.pdf",
            "before": {"number": f"F-{n}"} if n % 5 == 0 else None,
            "after": {"number": f"F-{n}-b", "status": "ready"} if n % 5 == 0 else None,
            "zoho_id": f"48000{n:09d}" if n % 3 == 0 else None,
            "detail": "" if n % 6 else "Published as bill to Zoho Books."}
            for n in range(total)])


_ACCOUNT_NAMES = ("Fournitures de bureau", "Frais postaux", "Honoraires", "Locations",
                  "Entretien et réparations", "Assurances", "Publicité", "Déplacements",
                  "Frais bancaires", "Télécommunications", "Sous-traitance", "Carburant")


def _company_name(n: int) -> str:
    """A distinct, French-looking company name for every n."""
    first = FIRST_WORDS[n % len(FIRST_WORDS)]
    second = SECOND_WORDS[(n // len(FIRST_WORDS)) % len(SECOND_WORDS)]
    form = LEGAL_FORMS[n % len(LEGAL_FORMS)]
    rank = n // (len(FIRST_WORDS) * len(SECOND_WORDS))
    return " ".join(part for part in (first, second, str(rank + 1) if rank else "", form)
                    if part)


# -- what is measured ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Page:
    name: str
    path: str  # with {document_id}, {search}... filled from the State
    method: str = "GET"

    def url(self, state: State) -> str:
        return self.path.format(**vars(state))


# Every page of the navigation (base.html), the pages issue 9 names, and a document edit.
PAGES = (
    Page("Documents", "/documents/"),
    Page("Documents, search", "/documents/?q={search}"),
    Page("Documents, published", "/documents/?status=published"),
    # Settled per row (up to 500 candidates read): statements must not grow with the data.
    Page("Documents, tax differences", "/documents/?problem=tax"),
    Page("Documents, low confidence", "/documents/?problem=low_confidence"),
    Page("Document review", "/documents/{document_id}"),
    Page("Document edit (POST)", "/documents/{document_id}", "POST"),
    Page("Suppliers", "/suppliers/"),
    Page("Supplier edit", "/suppliers/{supplier_rule_id}"),
    Page("Connections", "/connections/"),
    Page("Connection settings", "/connections/settings/"),
    Page("Bank feed", "/bank/"),
    Page("Bank lines", "/bank/lines/"),
    # Labels are "CB <supplier>": the documents' search word is in some of them.
    Page("Bank lines, search", "/bank/lines/?q={search}"),
    Page("Bank rules", "/bank/rules/"),
    Page("Bank rule edit", "/bank/rules/{bank_rule_id}"),
    Page("Receipt missing", "/matching/lines/"),
    Page("Not paid yet", "/matching/documents/"),
    Page("Activity", "/activity/"),
    Page("Intake", "/intake/"),
    Page("Users", "/users/"),
    Page("Password", "/account/password"),
)


def edit_form(review_html: str, action: str, round_number: int) -> dict:
    """The review form as a browser sends it, with the description changed (so every edit
    really saves, and runs the checks that follow an edit)."""
    reader = _FormReader(action)
    reader.feed(review_html)
    if not reader.found:
        raise ValueError(f"no form posting to {action} on the review page")
    fields = dict(reader.fields)
    fields["description"] = f"Checked by the scale bench, round {round_number}"
    return fields


class _FormReader(HTMLParser):
    """The successful controls of the form whose action is `action`: inputs, checked boxes,
    selected options (or a select's first), textareas."""

    def __init__(self, action: str):
        super().__init__(convert_charrefs=True)
        self.action, self.found, self.inside = action, False, False
        self.fields: list[tuple[str, str]] = []
        self._select, self._first_option, self._chosen = None, None, None
        self._textarea, self._text = None, []

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = attrs.get("action") == self.action and \
                attrs.get("method", "").lower() == "post"
            self.found = self.found or self.inside
        elif not self.inside:
            return
        elif tag == "input" and attrs.get("name") and "disabled" not in attrs:
            kind = attrs.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind not in ("submit", "button", "file", "image", "reset"):
                self.fields.append((attrs["name"], attrs.get("value", "")))
        elif tag == "select" and attrs.get("name"):
            self._select, self._first_option, self._chosen = attrs["name"], None, None
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            self._first_option = value if self._first_option is None else self._first_option
            if "selected" in attrs:
                self._chosen = value
        elif tag == "textarea" and attrs.get("name"):
            self._textarea, self._text = attrs["name"], []

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            chosen = self._chosen if self._chosen is not None else self._first_option
            self.fields.append((self._select, chosen or ""))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, "".join(self._text)))
            self._textarea = None
