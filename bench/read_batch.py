"""Benchmark: how fast one batch of 200 mixed documents is read, by the code of any tree.

    .venv/bin/python -m bench.read_batch [--tree DIR] [--threads N]

`--tree` points at another checkout (e.g. `git worktree add /tmp/before <commit>`) to time
an earlier release on the same machine, back to back: only the reading is timed, not the
storing. The batch is 100 text PDFs, 60 Factur-X PDFs and 40 scanned receipts, made by
that tree's own test generators.
"""

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    tree = args.tree.resolve()
    os.chdir(tree)
    sys.path.insert(0, str(tree))
    os.environ["BOOKBRIDGE_HUEY_IMMEDIATE"] = "1"
    logging.disable(logging.INFO)
    from app import create_app
    from services import document_processing, document_store
    from tests import documents as samples

    contents = ([samples.text_pdf(title=f"Facture N° FR-{n}") for n in range(100)]
                + [samples.factur_x_pdf(number=f"FX-{n}") for n in range(60)]
                + [samples.scanned_png(seed=n) for n in range(40)])
    with tempfile.TemporaryDirectory() as workdir:
        app = create_app({"DATA_DIR": workdir, "READ_CONCURRENCY": args.threads})
        with app.app_context():
            for n, content in enumerate(contents):
                document_store.add(app.config, content, f"doc-{n}", source="upload")
            load = os.getloadavg()[0]
            job, _ = document_processing.request()
            started = time.perf_counter()
            read = document_processing.run(app.config, job.id)
            elapsed = time.perf_counter() - started
    print(f"{tree}: {len(read)} documents read in {elapsed:.1f} s, "
          f"{len(read) / elapsed * 60:.0f} a minute ({args.threads} at a time if this tree "
          f"reads in parallel; load average {load:.2f} before)")


if __name__ == "__main__":
    main()
