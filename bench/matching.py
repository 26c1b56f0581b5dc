"""Benchmark: match proposals, how often they are right and how fast they are computed.

    .venv/bin/python -m bench.matching [--seed 8] [--skip-speed] [--documents 10000]
                                      [--lines 100000] [--misses 0]

(a) Precision and recall. The Qonto sandbox's two years of history (sandbox/qonto/generator,
its own seed, up to 2026-06-17) become bank lines, as the bank sync stores them. Receipts
and bills are generated for most debits that need one, as people send them: the supplier's
name in one of its printed variants, the date 0-3 days before a card payment and up to 10
days before a transfer or a direct debit, card payments abroad in their local currency,
some receipts showing the card's last digits, bills carrying the number the transfer quotes;
and documents no line pays (paid elsewhere), some of them distractors with a real line's
amount in the same week from another supplier. Then `propose()` runs once over everything
and the bench reports the share of true pairs proposed first, and the wrong auto-matches
at several thresholds.

(b) Speed: 10,000 documents against 100,000 open lines (the sandbox generator's shapes,
re-dated over two years by its bulk mode, all of them open: the worst case), timing
`propose()` for everything, then for one document and for one line, with the machine load
beside every time and the peak RSS (VmHWM).

Everything happens in a temporary data directory whose database the real migrations built.
"""

import argparse
import datetime
import os
import random
import tempfile
import time
import zoneinfo
from pathlib import Path

os.environ["BOOKBRIDGE_HUEY_IMMEDIATE"] = "1"

from peewee import chunked  # noqa: E402

from app import create_app  # noqa: E402
from models import (  # noqa: E402
    BankTransaction,
    Document,
    DocumentStatus,
    MatchProposal,
    MatchSettings,
    PushState,
    QontoAccount,
    StoredFile,
    SupplierRule,
    db,
)
from models.documents import duplicate_key  # noqa: E402
from sandbox.qonto import catalog  # noqa: E402
from sandbox.qonto import generator as qonto  # noqa: E402
from services import matching  # noqa: E402

NOW = datetime.datetime(2026, 6, 17, 10, tzinfo=datetime.UTC)
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
THRESHOLDS = (60, 70, 75, 80, 85, 90, 95)
WRONG_TARGET = 0.01
RECEIPT_SHARE = 0.85  # of the debits that need a document, those that got one
CARD_DIGITS_SHARE = 0.35  # card receipts printing the card's last 4 digits
ELSEWHERE_SHARE = 0.05  # documents paid from elsewhere (no line), per receipt
DISTRACTOR_SHARE = 0.05  # same amount, same week, another supplier, per receipt
# Debits nobody sends a document for (salaries, transfers between own accounts, recalls).
NO_DOCUMENT = ("salary", "treasury_and_interco", "refund")
INSERT_CHUNK = 300


# -- bank lines from the sandbox's generator --------------------------------------------------


def _booking_date(epoch: float) -> datetime.date:
    return datetime.datetime.fromtimestamp(epoch, PARIS).date()


def line_row(event: dict, account_ids: dict[int, int]) -> dict:
    """The columns the bank sync stores for a completed sandbox transaction, already pushed
    to Zoho and not categorised (services.bank_lines.row_fields)."""
    foreign = event["local_currency"] != "EUR"
    return {
        "account": account_ids[event["account"]], "qonto_id": event["id"],
        "transaction_id": f"{catalog.LOGIN}-{event['account']}-{event['seq']}",
        "status": "completed", "side": event["side"], "amount_cents": event["amount_cents"],
        "currency": "EUR",
        "local_amount_cents": event["local_amount_cents"] if foreign else None,
        "local_currency": event["local_currency"] if foreign else "",
        "label": event["label"], "counterparty": event["clean_name"] or event["label"],
        "reference": event["reference"] or "", "operation_type": event["operation_type"],
        "category": event["category"], "card_last_digits": event["card_last_digits"] or "",
        "qonto_updated_at": datetime.datetime.fromtimestamp(event["final_at"], datetime.UTC),
        "booking_date": _booking_date(event["final_at"]),
        "emitted_at": datetime.datetime.fromtimestamp(event["emitted"], datetime.UTC),
        "push_state": PushState.PUSHED, "zoho_status": "uncategorized",
    }


def history_events(seed: int) -> list[dict]:
    """The sandbox's two years up to NOW, completed transactions only."""
    now = NOW.timestamp()
    return [event for event in qonto.history(seed, now)
            if event["final_status"] == "completed" and event["final_at"] <= now]


# -- documents people send for them --------------------------------------------------------------


class Receipts:
    """Generates the documents of bank lines (seeded: the same lines give the same ones)."""

    def __init__(self, rng: random.Random, suppliers: list[str]):
        self.rng = rng
        self.suppliers = suppliers  # every supplier name, for distractors

    def variant(self, clean: str, label: str) -> str:
        """The supplier's name as a receipt prints it."""
        rng = self.rng
        choices = [clean, clean.upper(), f"{clean} SAS", f"{clean} - Paris 11e", label.title(),
                   self._misread(clean), self._legal_name()]
        return rng.choices(choices, weights=(40, 15, 15, 10, 10, 10, 8))[0]

    def _legal_name(self) -> str:
        """The company behind the brand, a name the bank label never shows."""
        rng = self.rng
        return (f"{rng.choice(('SAS', 'SARL', 'SNC'))} "
                f"{rng.choice(('Dumas', 'Perrin', 'Roche', 'Collin', 'Marchand'))} "
                f"{rng.choice(('Restauration', 'Distribution', 'Services', 'Commerce'))}")

    def _misread(self, name: str) -> str:
        """One letter misread, as OCR does now and then."""
        letters = [index for index, ch in enumerate(name) if ch.isalpha()]
        if len(letters) < 6:
            return name
        index = self.rng.choice(letters[1:])
        return name[:index] + ("l" if name[index] != "l" else "i") + name[index + 1:]

    def for_line(self, line: dict, sent: bool = False) -> dict | None:
        """The document of one debit line, or None when nobody sent one (unless `sent`)."""
        rng = self.rng
        if line["category"] in NO_DOCUMENT or (not sent and rng.random() >= RECEIPT_SHARE):
            return None
        kind = line["operation_type"]
        name = self.variant(line["counterparty"], line["label"])
        booked = line["booking_date"]
        document = {"supplier_name": name, "currency": "EUR",
                    "total_cents": line["amount_cents"], "number": "", "text": name,
                    "document_type": "invoice", "due_date": None}
        if kind == "card":
            # Card receipts carry the purchase date: the line books 0-3 days later.
            document["issue_date"] = min(_booking_date(line["emitted_at"].timestamp()), booked)
            document["document_type"] = "receipt"
            if line["local_currency"]:
                document.update(currency=line["local_currency"],
                                total_cents=line["local_amount_cents"])
            if rng.random() < CARD_DIGITS_SHARE:
                masked = rng.choice(("CB **** {}", "XXXX XXXX XXXX {}", "Carte ...{}"))
                document["text"] += "\n" + masked.format(line["card_last_digits"])
        else:
            document["issue_date"] = booked - datetime.timedelta(days=rng.randint(0, 10))
            if kind == "transfer" and line["reference"]:
                number = line["reference"]
                document["number"] = number if rng.random() < 0.7 else number.replace("-", " ")
            else:
                document["number"] = f"FA{rng.randint(10_000, 99_999)}"
            if rng.random() < 0.5:
                document["due_date"] = document["issue_date"] + datetime.timedelta(days=30)
        return document

    def paid_elsewhere(self, like: dict, distractor: bool) -> dict:
        """A document no line pays: a distractor has `like`'s amount in the same week from
        another supplier; the others a random amount and date."""
        rng = self.rng
        other = rng.choice([name for name in self.suppliers
                            if matching.likeness(matching.fold_name(name),
                                                 matching.fold_name(like["supplier_name"]))
                            < matching.LIKENESS_FLOOR])
        shift = datetime.timedelta(days=rng.randint(-3, 3))
        if distractor:
            return dict(like, supplier_name=other, text=other, number="",
                        issue_date=like["issue_date"] + shift, due_date=None)
        return dict(like, supplier_name=other, text=other, number="",
                    total_cents=rng.randint(300, 300_000), due_date=None,
                    issue_date=like["issue_date"] + datetime.timedelta(
                        days=rng.randint(-60, 60)))


# -- the database --------------------------------------------------------------------------------


def new_app(data_dir: Path):
    return create_app({"DATA_DIR": str(data_dir)})


def insert(model, rows) -> None:
    for chunk in chunked(rows, INSERT_CHUNK):
        model.insert_many(chunk).execute()


def store_accounts() -> dict[int, int]:
    insert(QontoAccount, [{"qonto_id": uuid, "name": name, "currency": "EUR"}
                          for _position, uuid, name, *_rest in catalog.ACCOUNTS])
    by_uuid = {account.qonto_id: account.id for account in QontoAccount.select()}
    return {position: by_uuid[uuid] for position, uuid, *_rest in catalog.ACCOUNTS}


def distractor_lines(events: list[dict], rng: random.Random) -> list[dict]:
    """Debits of another merchant for the same amount in the same week as some card
    payments: nobody sends a document for them, and they must not take one."""
    cards = [event for event in events if event["side"] == "debit"
             and event["operation_type"] == "card"]
    merchants = sorted({(event["label"], event["clean_name"]) for event in cards})
    extra = []
    for event in cards:
        if rng.random() >= DISTRACTOR_SHARE:
            continue
        label, clean = rng.choice([m for m in merchants if m[1] != event["clean_name"]])
        shift = rng.uniform(-3, 3) * qonto.DAY
        extra.append(dict(event, id=qonto.new_uuid(rng), seq=event["seq"] + 10_000_000,
                          label=label, clean_name=clean, emitted=event["emitted"] + shift,
                          final_at=event["final_at"] + shift,
                          card_last_digits=rng.choice(catalog.MEMBERS)[2]))
    return extra


def store_lines(events, account_ids) -> list[dict]:
    """Insert the lines; returns their rows, each with its id."""
    rows = [line_row(event, account_ids) for event in events]
    insert(BankTransaction, rows)
    ids = {line.qonto_id: line.id for line in BankTransaction.select(
        BankTransaction.id, BankTransaction.qonto_id)}
    for row in rows:
        row["id"] = ids[row["qonto_id"]]
    return rows


def store_documents(documents: list[dict], seed: int) -> list[int]:
    """Insert the documents (ready to publish, each with its own file); returns their ids
    in the same order."""
    rng = random.Random(f"files:{seed}")
    first = (StoredFile.select(StoredFile.id).order_by(StoredFile.id.desc()).scalar() or 0)
    insert(StoredFile, [{"sha256": f"{rng.getrandbits(256):064x}", "size": 1000,
                         "media_type": "application/pdf"} for _ in documents])
    files = [row.id for row in StoredFile.select(StoredFile.id).where(StoredFile.id > first)
             .order_by(StoredFile.id)]
    last = Document.select(Document.id).order_by(Document.id.desc()).scalar() or 0
    insert(Document, [dict(document, file=file, status=DocumentStatus.READY, kind="cost",
                           supplier_key=duplicate_key(document["supplier_name"]),
                           number_key=duplicate_key(document["number"]))
                      for document, file in zip(documents, files, strict=True)])
    return [row.id for row in Document.select(Document.id).where(Document.id > last)
            .order_by(Document.id)]


def store_rules(lines: list[dict]) -> int:
    """A supplier rule for every third card merchant, knowing its bank label as an alias."""
    seen = {}
    for line in lines:
        if line["operation_type"] == "card":
            seen.setdefault(line["counterparty"], line["label"])
    rules = [{"name": name, "aliases": [label]} for name, label in sorted(seen.items())[::3]]
    insert(SupplierRule, rules)
    return len(rules)


# -- (a) precision and recall --------------------------------------------------------------------


def precision(seed: int, work: Path, misses: int) -> dict:
    new_app(work / "precision")
    rng = random.Random(seed)
    with db.atomic():
        events = history_events(qonto.SEED)
        distractors = distractor_lines(events, rng)
        lines = store_lines(events + distractors, store_accounts())
        rules = store_rules(lines)
        decoys = {event["id"] for event in distractors}
        debits = [line for line in lines if line["side"] == "debit"
                  and line["qonto_id"] not in decoys]
        receipts = Receipts(rng, sorted({line["counterparty"] for line in debits}))
        documents, true_lines = [], []
        for line in debits:
            document = receipts.for_line(line)
            if document is not None:
                documents.append(document)
                true_lines.append(line["id"])
                if rng.random() < ELSEWHERE_SHARE:
                    documents.append(receipts.paid_elsewhere(document, distractor=False))
                    true_lines.append(None)
            # A distractor may stand beside the line's own receipt or in for a missing one.
            if line["category"] not in NO_DOCUMENT and rng.random() < DISTRACTOR_SHARE:
                like = document or receipts.for_line(line, sent=True)
                documents.append(receipts.paid_elsewhere(like, distractor=True))
                true_lines.append(None)
        ids = store_documents(documents, seed)
    truth = {document_id: line_id for document_id, line_id in zip(ids, true_lines,
                                                                   strict=True)}
    started = time.perf_counter()
    written = matching.propose()
    seconds = time.perf_counter() - started
    pairs = truth_pairs(truth)
    best = {row.document_id: row.line_id for row in MatchProposal.select(
        MatchProposal.document, MatchProposal.line).where(MatchProposal.best_for_document)}
    proposed = {(row.document_id, row.line_id) for row in MatchProposal.select(
        MatchProposal.document, MatchProposal.line)}
    first = sum(best.get(document) == line for document, line in pairs)
    result = {"lines": len(lines), "debits": len(debits), "decoys": len(decoys),
              "documents": len(ids),
              "rules": rules, "true_pairs": len(pairs), "proposals": written,
              "seconds": seconds, "load": os.getloadavg()[0],
              "first": first / len(pairs),
              "anywhere": sum(pair in proposed for pair in pairs) / len(pairs),
              "thresholds": [auto_accept_at(threshold, pairs) for threshold in THRESHOLDS]}
    if misses:
        show_misses(pairs, best, misses)
    return result


def truth_pairs(truth: dict) -> set[tuple[int, int]]:
    return {(document, line) for document, line in truth.items() if line is not None}


def auto_accept_at(threshold: int, pairs: set) -> dict:
    settings = MatchSettings.current()
    settings.auto_accept_score = threshold
    settings.save()
    accepted = [(proposal.document_id, proposal.line_id)
                for proposal in matching.auto_accept_candidates()]
    wrong = sum(pair not in pairs for pair in accepted)
    return {"threshold": threshold, "accepted": len(accepted), "wrong": wrong,
            "wrong_share": wrong / len(accepted) if accepted else 0.0,
            "covered": (len(accepted) - wrong) / len(pairs)}


def show_misses(pairs, best, count) -> None:
    """Print true pairs that were not proposed first, with what was, to tune the weights."""
    shown = 0
    for document_id, line_id in sorted(pairs):
        if best.get(document_id) == line_id or shown >= count:
            continue
        shown += 1
        document = Document.get_by_id(document_id)
        line = BankTransaction.get_by_id(line_id)
        settings = MatchSettings.current()
        print(f"- {document.supplier_name!r} {document.total_cents} {document.currency} "
              f"{document.issue_date} no {document.number!r}")
        print(f"  true line {line.id} {line.label!r} {line.booking_date} "
              f"{line.amount_cents}/{line.local_amount_cents}: "
              f"{matching.score(document, line, settings)}")
        other = best.get(document_id)
        if other:
            other = BankTransaction.get_by_id(other)
            print(f"  first: {other.id} {other.label!r} {other.booking_date}: "
                  f"{matching.score(document, other, settings)}")


# -- (b) speed -----------------------------------------------------------------------------------


def speed(seed: int, work: Path, document_count: int, line_count: int) -> dict:
    new_app(work / "speed")
    rng = random.Random(seed)
    start = (NOW - datetime.timedelta(days=qonto.HISTORY_DAYS)).timestamp()
    per_account = -(-line_count // len(catalog.ACCOUNTS))
    events = qonto.bulk_events(qonto.SEED, per_account, start, NOW.timestamp())
    for event in events:  # bulk events repeat a pool of shapes: each needs its own id
        event["id"] = qonto.new_uuid(rng)
    events = events[:line_count]
    built = time.perf_counter()
    with db.atomic():
        lines = store_lines(events, store_accounts())
        store_rules(lines)
        debits = [line for line in lines if line["side"] == "debit"]
        receipts = Receipts(rng, sorted({line["counterparty"] for line in debits}))
        documents = []
        for line in rng.sample(debits, len(debits)):
            document = receipts.for_line(line)
            if document is not None:
                documents.append(document)
            if len(documents) == document_count:
                break
        store_documents(documents, seed)
    built = time.perf_counter() - built
    db.close()  # as a worker starts: its own connection, nothing cached
    _reset_vm_hwm()
    rss_before = _vm_hwm_kib()
    timings = {}
    load = os.getloadavg()[0]
    started = time.perf_counter()
    written = matching.propose()
    timings["everything"] = (time.perf_counter() - started, load)
    rss_peak = _vm_hwm_kib()
    one_document = Document.select(Document.id).order_by(Document.id.desc()).scalar()
    one_line = MatchProposal.select(MatchProposal.line).order_by(MatchProposal.id).scalar()
    for name, call in (("one document", lambda: matching.propose(document_ids=[one_document])),
                       ("one line", lambda: matching.propose(line_ids=[one_line]))):
        load = os.getloadavg()[0]
        started = time.perf_counter()
        call()
        timings[name] = (time.perf_counter() - started, load)
    return {"lines": BankTransaction.select().count(),
            "open_lines": matching.open_lines().count(),
            "documents": matching.open_documents().count(), "proposals": written,
            "build_seconds": built, "timings": timings,
            "rss_before_mib": rss_before / 1024, "rss_peak_mib": rss_peak / 1024}


def _vm_hwm_kib() -> int:
    """This process's peak resident memory so far (VmHWM), in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _reset_vm_hwm() -> None:
    """Start VmHWM again from the current RSS (Linux: "5" to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass  # not Linux, or not allowed: the peak then includes building the state


# -- report --------------------------------------------------------------------------------------


def recommend(thresholds: list[dict]) -> dict | None:
    """The lowest threshold whose wrong auto-matches stay within the target and that asks
    for more than the same amount on a close date (a coincidence, however rare here: real
    books have more round amounts than generated ones)."""
    coincidence = matching.AMOUNT_POINTS + matching.DATE_POINTS
    fitting = [row for row in thresholds if row["accepted"] and row["threshold"] > coincidence
               and row["wrong_share"] <= WRONG_TARGET]
    return min(fitting, key=lambda row: row["threshold"]) if fitting else None


def print_precision(result: dict) -> None:
    print(f"(a) Precision on the sandbox's two years: {result['lines']} lines "
          f"({result['debits']} debits, {result['decoys']} decoys: another merchant, same "
          f"amount, same week), {result['documents']} documents "
          f"({result['true_pairs']} with their true line), {result['rules']} supplier rules")
    print(f"    propose(): {result['proposals']} proposals in {result['seconds']:.2f} s "
          f"(load {result['load']:.2f})")
    print(f"    true pairs proposed first: {result['first']:.1%} (target >= 95 %); "
          f"proposed at all: {result['anywhere']:.1%}")
    print("    auto-accept threshold | accepted | wrong | wrong share | true pairs covered")
    for row in result["thresholds"]:
        print(f"    {row['threshold']:>21} | {row['accepted']:>8} | {row['wrong']:>5} | "
              f"{row['wrong_share']:>11.2%} | {row['covered']:>18.1%}")
    chosen = recommend(result["thresholds"])
    if chosen:
        print(f"    recommended threshold: {chosen['threshold']} ({chosen['wrong_share']:.2%} "
              f"wrong, {chosen['covered']:.1%} of true pairs settled without a person)")
    else:
        print("    no threshold keeps wrong auto-matches within 1 %")


def print_speed(result: dict) -> None:
    print(f"(b) Speed: {result['documents']} open documents x {result['open_lines']} open lines "
          f"(state built in {result['build_seconds']:.1f} s)")
    for name, (seconds, load) in result["timings"].items():
        print(f"    propose({name}): {seconds:.2f} s (load {load:.2f})")
    print(f"    proposals written: {result['proposals']}; peak RSS (VmHWM) during "
          f"propose(): {result['rss_peak_mib']:.0f} MiB (from {result['rss_before_mib']:.0f} "
          f"MiB before)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=8, help="seed of the generated documents")
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-precision", action="store_true")
    parser.add_argument("--misses", type=int, default=0,
                        help="print this many true pairs not proposed first")
    args = parser.parse_args()
    print(f"load at start: {os.getloadavg()[0]:.2f}; cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-matching-") as work:
        work = Path(work)
        if not args.skip_precision:
            print_precision(precision(args.seed, work, args.misses))
            db.close()
        if not args.skip_speed:
            print_speed(speed(args.seed, work, args.documents, args.lines))
            db.close()


if __name__ == "__main__":
    main()
