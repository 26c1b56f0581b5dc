"""Tidy a file made by `pwmigrate generate`: explicit imports, no TODO lines, a docstring.

    .venv/bin/python scripts/tidy_migration.py migrations/0003_name.py "What it changes."
"""

import re
import sys
from pathlib import Path


def tidy(path: Path, summary: str) -> None:
    text = path.read_text()
    text = re.sub(r"# TODO: .*\n", "", text)
    names = set(re.findall(r"\b([A-Z][A-Za-z]*Field)\(", text)) - {"JSONField"}
    if "(Model)" in text:
        names.add("Model")
    names = sorted(names)
    text = text.replace("from peewee import *", "from peewee import " + ", ".join(names))
    docstring = f'"""{summary}\n\nPython-side defaults (timestamps) are set by the models.\n"""\n'
    text = re.sub(r"^# Generated from a schema diff on .*\n", docstring, text)
    path.write_text(text)


if __name__ == "__main__":
    tidy(Path(sys.argv[1]), sys.argv[2])
