"""What our OCR step costs over the bare Tesseract engine, per receipt of the real corpus.

    .venv/bin/python -m bench.ocr [--limit N] [--rounds R]

For each receipt in ../shared/corpus/files/receipt (or $BOOKBRIDGE_CORPUS_DIR/files), one
after the other in one process:

- bare: the tesseract binary on the file as it is, with the flags our code uses
  (languages, --psm, --dpi, one thread);
- ours: the whole OCR step the app runs, `ocr.read_text(ocr.open_image(content))`:
  decoding, preparation (crop, scale, orientation, skew) and the same engine call;
- prepare: the preparation alone, inside "ours", to see where the time goes.

Times are CPU seconds (ours: this process's plus the tesseract child's), which a busy
machine barely changes, unlike wall-clock seconds (the total wall ratio is printed too).
The ratio per file is ours / bare, summarised as median and p95, with the load average
beside the figures. With --rounds R each file is timed R times and its fastest run kept.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.corpus import corpus_dir, corpus_files


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_seconds() -> float:
    """CPU time used so far by this process and by its finished children (tesseract)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bare_engine(content: bytes) -> tuple[float, float]:
    """CPU and wall seconds for tesseract to read `content` untouched, with our flags."""
    from services.extraction import ocr

    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    command = [ocr.tesseract(), "stdin", "stdout", "-l", ocr.languages(), "--psm",
               ocr.PAGE_SEGMENTATION, "--dpi", "300"]
    cpu, wall = cpu_seconds(), time.perf_counter()
    subprocess.run(command, input=content, capture_output=True, env=env, check=True)
    return cpu_seconds() - cpu, time.perf_counter() - wall


def our_step(content: bytes) -> tuple[float, float, float]:
    """CPU and wall seconds of our whole OCR step on `content`, and the CPU seconds of
    its preparation alone."""
    from services.extraction import ocr

    cpu, wall = cpu_seconds(), time.perf_counter()
    image = ocr.open_image(content)
    ocr.read_text(image)
    cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    prepare_cpu = cpu_seconds()
    ocr.prepare(image)
    return cpu, wall, cpu_seconds() - prepare_cpu


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N receipts")
    parser.add_argument("--rounds", type=int, default=1, help="keep each file's fastest run")
    args = parser.parse_args()
    from services.extraction import ocr

    if ocr.tesseract() is None:
        sys.exit("tesseract is not installed.")
    if not (corpus_dir() / "files").is_dir():
        sys.exit(f"No corpus at {corpus_dir()}; set BOOKBRIDGE_CORPUS_DIR.")
    files = corpus_files(["receipt"])[:args.limit]
    ocr.languages()  # cached: its one-off --list-langs call is not part of any timing
    print(f"load average before: {load_average()}")
    print("CPU seconds per receipt: bare engine, our whole step, our preparation alone")
    print(f"{'file':<20} {'bare':>6} {'ours':>6} {'prep':>6} {'ratio':>6}")
    ratios, totals = [], {"bare": 0.0, "ours": 0.0, "bare wall": 0.0, "ours wall": 0.0}
    for path in files:
        content = path.read_bytes()
        bares = [bare_engine(content) for _ in range(args.rounds)]
        ours_runs = [our_step(content) for _ in range(args.rounds)]
        bare, bare_wall = min(bares)
        ours, ours_wall, prep = min(ours_runs)
        ratios.append(ours / bare)
        for name, value in (("bare", bare), ("ours", ours), ("bare wall", bare_wall),
                            ("ours wall", ours_wall)):
            totals[name] += value
        print(f"{path.name:<20} {bare:6.2f} {ours:6.2f} {prep:6.2f} {ours / bare:6.2f}",
              flush=True)
    print(f"{len(files)} receipts, CPU: bare {totals['bare']:.1f} s, ours "
          f"{totals['ours']:.1f} s ({totals['ours'] / totals['bare']:.2f} x in total); "
          f"ratio per file median {statistics.median(ratios):.2f} x, p95 "
          f"{percentile(ratios, 0.95):.2f} x")
    print(f"wall clock: bare {totals['bare wall']:.1f} s, ours {totals['ours wall']:.1f} s "
          f"({totals['ours wall'] / totals['bare wall']:.2f} x in total)")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
