"""Shrink the page screenshots for git and write their index (docs/screenshots/README.md).

    .venv/bin/python scripts/screenshots_index.py docs/screenshots

The browser tests save `<language>-<width>-<page>.png` (full pages); this keeps each under
a screen height of 4,000 px, reduces it to 128 colours (text stays sharp; a screenshot has few
colours) and lists them by page.
"""

import sys
from collections import defaultdict
from pathlib import Path

from PIL import Image

MAX_HEIGHT = 4000
LANGUAGES = {"en": "English", "fr": "Français"}
WIDTHS = ("375", "1280")


def shrink(path: Path) -> None:
    with Image.open(path) as image:
        image = image.convert("RGB")
        if image.height > MAX_HEIGHT:
            image = image.crop((0, 0, image.width, MAX_HEIGHT))
        image = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT,
                               dither=Image.Dither.NONE)
        image.save(path, optimize=True)


def index(folder: Path) -> str:
    pages = defaultdict(dict)
    for path in sorted(folder.glob("*.png")):
        language, width, page = path.stem.split("-", 2)
        pages[page][(language, width)] = path.name
    header = "| Page | " + " | ".join(f"{LANGUAGES[lang]} {width} px" for lang in LANGUAGES
                                     for width in WIDTHS) + " |"
    lines = [
        "# Every page, in English and French, on a phone and a desktop",
        "",
        "Made by `make screenshots` (the browser tests' walk through every page, after their "
        "flows have filled the lists with the demo's documents, bank lines and rules).",
        "",
        header,
        "|" + " --- |" * (1 + len(LANGUAGES) * len(WIDTHS)),
    ]
    for page, shots in sorted(pages.items()):
        cells = [f"[view]({shots[(lang, width)]})" if (lang, width) in shots else "—"
                 for lang in LANGUAGES for width in WIDTHS]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(folder: str) -> None:
    root = Path(folder)
    for path in root.glob("*.png"):
        shrink(path)
    (root / "README.md").write_text(index(root), encoding="utf-8")
    total = sum(path.stat().st_size for path in root.glob("*.png"))
    print(f"{len(list(root.glob('*.png')))} screenshots, {total / 1e6:.1f} MB in {root}")


if __name__ == "__main__":
    main(sys.argv[1])
