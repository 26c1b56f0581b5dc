"""Benchmark: reading documents (per path and for a batch of 200) and publishing them.

    .venv/bin/python -m bench.documents [--batch 200] [--repeat 15]

Extraction runs in-process on documents the tests' own generators make. Publishing runs
against the sandbox in its own process (Zoho's limits lifted) and counts the Zoho calls one
published document costs, for a supplier Zoho already knows and for a new one.
"""

import argparse
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ["BOOKBRIDGE_HUEY_IMMEDIATE"] = "1"

from app import create_app  # noqa: E402
from bench.bank_import import Sandbox  # noqa: E402
from models import Document, Role, ZohoAccount, ZohoConnection, ZohoContact  # noqa: E402
from services import document_processing, document_store  # noqa: E402
from services.extraction import extract  # noqa: E402
from tests import documents as samples  # noqa: E402
from tests.conftest import csrf_token  # noqa: E402
from tests.factories import DEFAULT_PASSWORD, make_user  # noqa: E402
from tests.zoho_flow import connect  # noqa: E402

PATHS = {
    "e-invoice (Factur-X PDF)": (lambda n: samples.factur_x_pdf(number=f"FX-{n}"),
                                 "application/pdf"),
    "text PDF": (lambda n: samples.text_pdf(title=f"Facture N° FR-{n}"), "application/pdf"),
    "OCR (scanned PNG)": (lambda n: samples.scanned_png(seed=n), "image/png"),
}
# The batch: mostly text PDFs, some e-invoices, some phone photos of receipts.
BATCH_MIX = {"text PDF": 0.5, "e-invoice (Factur-X PDF)": 0.3, "OCR (scanned PNG)": 0.2}


def time_paths(repeat: int) -> None:
    print("| path | method found | median per document | runs |")
    print("|---|---|---|---|")
    for label, (make, media_type) in PATHS.items():
        content = make(0)
        timings, method = [], ""
        for _ in range(repeat):
            started = time.perf_counter()
            method = extract(content, media_type).method
            timings.append(time.perf_counter() - started)
        print(f"| {label} | {method} | {statistics.median(timings) * 1000:.1f} ms | {repeat} |")


def batch(workdir: Path, size: int) -> None:
    """The same batch read one at a time and READ_CONCURRENCY (2) at a time, in one run so
    the ratio holds on a noisy machine."""
    contents = []
    for label, share in BATCH_MIX.items():
        make, _ = PATHS[label]
        contents += [make(n) for n in range(int(size * share))]
    mix = ", ".join(f"{int(size * share)} {label}" for label, share in BATCH_MIX.items())
    print(f"\nBatch of {len(contents)} ({mix}); load before: {os.getloadavg()[0]:.2f}")
    timings = {}
    for threads in (1, 2):
        app = create_app({"DATA_DIR": str(workdir / f"batch-{threads}"),
                          "READ_CONCURRENCY": threads})
        with app.app_context():
            started = time.perf_counter()
            for n, content in enumerate(contents):
                document_store.add(app.config, content, f"doc-{n}", source="upload")
            job, _ = document_processing.request()
            read = document_processing.run(app.config, job.id)
            timings[threads] = time.perf_counter() - started
        print(f"- {threads} at a time: {timings[threads]:.1f} s, "
              f"{len(read) / timings[threads] * 60:.0f} documents per minute")
    print(f"- speed-up: {timings[1] / timings[2]:.2f} x; load after: {os.getloadavg()[0]:.2f}")


def publishing_calls(workdir: Path) -> None:
    sandbox = Sandbox(workdir / "sandbox")
    try:
        app = create_app({
            "DATA_DIR": str(workdir / "publish"), "ZOHO_CLIENT_ID": sandbox.client_id,
            "ZOHO_CLIENT_SECRET": sandbox.client_secret, "ZOHO_ACCOUNTS_URL": sandbox.url,
            "ZOHO_REDIRECT_URI": "http://localhost/connections/zoho/callback",
            "ZOHO_CALLS_PER_MINUTE": 1_000_000})
        client = app.test_client()
        make_user(email="bench@example.com", role=Role.ADMIN)
        client.post("/login", data={"email": "bench@example.com", "password": DEFAULT_PASSWORD,
                                    "csrf_token": csrf_token(client, "/login")})
        connect(client)
        org = ZohoConnection.current().organization_id
        known = ZohoContact.usable(org).where(ZohoContact.contact_type == "vendor").first()
        account = ZohoAccount.usable(org).where(ZohoAccount.account_type == "expense").first()
        print("\n| publishing a bill with its file | Zoho calls | which |")
        print("|---|---|---|")
        # Each supplier with its own identifiers: VAT number and IBAN recognise a supplier.
        for n, (label, supplier, vat, iban) in enumerate((
                ("known supplier", known.name, "FR22424761419",
                 "FR76 3000 6000 0112 3456 7890 189"),
                ("new supplier", "ACME SARL", "FR40303265045",
                 "FR76 1027 8060 3100 0205 2870 146"))):
            content = samples.text_pdf(supplier_name=supplier, supplier_vat=vat, iban=iban,
                                       siret=f"{vat[4:7]} {vat[7:10]} {vat[10:13]} 00011",
                                       title=f"Facture N° PB-{n}")
            client.post("/documents/upload", data={
                "csrf_token": csrf_token(client, "/documents/"),
                "files": [(io.BytesIO(content), f"{label}.pdf")]},
                content_type="multipart/form-data")
            document = Document.select().order_by(Document.id.desc()).get()
            Document.update(account_id=account.zoho_id).where(
                Document.id == document.id).execute()
            sandbox.admin("POST", "/sandbox/stats/reset")
            client.post(f"/documents/{document.id}/publish", data={
                "csrf_token": csrf_token(client, "/documents/"), "confirm_new_supplier": "yes"})
            calls = sandbox.admin("GET", f"/sandbox/stats?organization_id={org}")["calls"]
            published = Document.get_by_id(document.id)
            assert published.status.value == "published", (
                published.status, published.publish_error, published.duplicate_reason,
                published.warnings)
            print(f"| {label} | {sum(calls.values())} | {', '.join(sorted(calls))} |")
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        time_paths(args.repeat)
        batch(Path(workdir), args.batch)
        publishing_calls(Path(workdir))


if __name__ == "__main__":
    main()
