"""Extraction accuracy on the shared corpus of real documents never drops below the floor.

The corpus (../shared/corpus, or $BOOKBRIDGE_CORPUS_DIR) is not part of the repository;
without it this test is skipped. bench/corpus_floor.json holds, per kind of document and
per field, how many files were read right when the floor was last raised
(`python -m bench.corpus --write-floor`); any figure below it fails here.
"""

import json
import shutil

import pytest

from bench import corpus

pytestmark = pytest.mark.skipif(
    not (corpus.corpus_dir() / "files").is_dir(),
    reason=f"no document corpus at {corpus.corpus_dir()} (set BOOKBRIDGE_CORPUS_DIR)")


def _kinds(floor: dict) -> list[str]:
    """The kinds to score: receipts need OCR, so without tesseract they are left out."""
    kinds = list(floor)
    if not shutil.which("tesseract"):
        kinds = [kind for kind in kinds if kind != "receipt"]
    return kinds


def test_corpus_accuracy_never_drops_below_the_floor():
    floor = json.loads(corpus.FLOOR_FILE.read_text())
    table = corpus.score(_kinds(floor), jobs=2)
    reached = corpus.floor_of(table)

    drops = []
    for kind in _kinds(floor):
        for name, minimum in floor[kind].items():
            got = reached.get(kind, {}).get(name, 0)
            if got < minimum:
                drops.append(f"{kind} {name}: {got} right, the floor is {minimum}")
    assert not drops, "Extraction got worse on the corpus:\n" + "\n".join(drops) + (
        "\nRun `python -m bench.corpus --show-misses` to see which files.")
