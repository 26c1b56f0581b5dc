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


def batch(app, size: int) -> None:
    contents = []
    for label, share in BATCH_MIX.items():
        make, _ = PATHS[label]
        contents += [make(n) for n in range(int(size * share))]
    started = time.perf_counter()
    for n, content in enumerate(contents):
        document_store.add(app.config, content, f"doc-{n}", source="upload")
    job, _ = document_processing.request()
    read = document_processing.run(app.config, job.id)
    elapsed = time.perf_counter() - started
    mix = ", ".join(f"{int(size * share)} {label}" for label, share in BATCH_MIX.items())
    print(f"\nBatch of {len(read)} ({mix}): {elapsed:.1f} s, "
          f"{len(read) / elapsed * 60:.0f} documents per minute (one worker thread)")


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
        for n, (label, supplier) in enumerate((("known supplier", known.name),
                                               ("new supplier", "ACME SARL"))):
            content = samples.text_pdf(supplier_name=supplier, title=f"Facture N° PB-{n}")
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
        app = create_app({"DATA_DIR": str(Path(workdir) / "batch")})
        batch(app, args.batch)
        publishing_calls(Path(workdir))


if __name__ == "__main__":
    main()
