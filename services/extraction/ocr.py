"""OCR with the Tesseract binary, after light clean-up of the image with Pillow.

Tesseract is called directly rather than through pytesseract: that wrapper only shells out
too (through temporary files), while a direct call lets us pipe the image on stdin, set a
timeout and the thread count, and tell "not installed" from "failed" without another
dependency.
"""

import functools
import io
import os
import shutil
import subprocess

from PIL import Image, ImageOps, UnidentifiedImageError

from services.i18n import stored_message

MAX_PIXELS = 40_000_000  # an A4 page at 600 dpi is 35 megapixels
DRAFT_ABOVE_PIXELS = 12_000_000  # larger JPEGs are decoded at half size (still >= 300 dpi)
MIN_WIDTH = 1000  # when no text line can be measured, enlarge narrower images to this
LINE_HEIGHT = 32  # pixels per line of text: Tesseract's sweet spot (about 300 dpi, 10 pt)
MIN_SCALE, MAX_SCALE = 0.2, 2.5
LINE_SAMPLE = 1200  # images taller than this are measured on a narrowed copy
INK_LEVEL = 128  # grey levels below this count as ink once contrast is stretched
CROP_THUMBNAIL = 800  # pixels a side of the thumbnail that finds the text on the page
CROP_IF_BELOW = 0.6  # crop only when the text covers less than this share of the page
CROP_MARGIN = 12  # thumbnail pixels kept around the text
DESKEW_THUMBNAIL = 600
# Below this many degrees Tesseract follows the slant itself, and a rotation only blurs
# the letters: on the receipts corpus, straightening from 1 degree rather than 0.5 read
# one more seller, date and fully right receipt, and rotates 6 of 40 pages instead of 16.
MIN_SKEW = 1.0
# Small text is enlarged with Lanczos: bicubic read two fewer totals on the corpus.
ENLARGE_WITH = Image.Resampling.LANCZOS
MAX_SKEW = 6  # degrees; a worse skew is a turned page, see read_text
# Below this share of word-like tokens a reading is gibberish (see word_share).
GIBBERISH_BELOW = 0.3
# Tesseract's page segmentation: 6 reads the page as one block of lines. On the receipts
# corpus it reads dates far better than 4 (one column of varying sizes): 36 of 40 against 30.
PAGE_SEGMENTATION = "6"
TIMEOUT_SECONDS = 120
LANGUAGES = ("fra", "eng")


class OcrError(RuntimeError):
    """OCR could not run or failed; the message is meant for the person who uploaded."""


def tesseract() -> str | None:
    """The path of the tesseract binary, or None when it is not installed."""
    return shutil.which("tesseract")


@functools.cache
def languages() -> str:
    """The '+'-joined languages to ask for: fra+eng, or whichever of them is installed."""
    listed = subprocess.run([tesseract(), "--list-langs"], capture_output=True, text=True,
                            timeout=30, check=False).stdout.split()
    return "+".join(lang for lang in LANGUAGES if lang in listed) or "eng"


def open_image(content: bytes) -> Image.Image:
    """A decoded image, refusing files that are not images or have too many pixels."""
    try:
        image = Image.open(io.BytesIO(content))
        # The header gives the size before any pixel is decoded; our cap is well below
        # Pillow's own bomb limit (and checked here, not via its process-wide warnings).
        if image.width * image.height > MAX_PIXELS:
            raise OcrError(stored_message(
                "This image is too large to read (%(width)s×%(height)s pixels); scan it at a "
                "lower resolution.", width=image.width, height=image.height))
        if image.format == "JPEG" and image.width * image.height > DRAFT_ABOVE_PIXELS:
            # A 600 dpi scan: let the JPEG decoder halve it (or more) while decoding, far
            # cheaper than decoding 35 megapixels and shrinking them afterwards.
            image.draft("L", (image.width // 2, image.height // 2))
        image.load()
        return image
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
            SyntaxError) as error:
        raise OcrError(stored_message("This image is damaged or not a JPEG or PNG and could "
                                      "not be read.")) from error


def prepare(image: Image.Image) -> Image.Image:
    """A grey, upright, high-contrast copy of `image` at a size Tesseract reads well.

    Each step works on a small thumbnail to decide and touches the full image once, so
    the preparation costs a fraction of the OCR itself.
    """
    if image.width * image.height > MAX_PIXELS:
        raise OcrError(stored_message(
            "This image is too large to read; scan it at a lower resolution."))
    image = ImageOps.exif_transpose(image)  # phone photos are often stored sideways
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(white, image)
    gray = image.convert("L")
    gray = gray.crop(content_box(gray))
    gray = resize_for_ocr(gray)
    gray = ImageOps.autocontrast(gray, cutoff=1)
    angle = skew_angle(gray)
    if angle:
        gray = gray.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True,
                           fillcolor=255)
    return gray


def _ink(gray: Image.Image, size: int) -> Image.Image:
    """A thumbnail of `gray` at most `size` pixels a side: 255 where there is ink, else 0."""
    small = gray.copy()
    small.thumbnail((size, size), Image.Resampling.BOX)
    small = ImageOps.autocontrast(small, cutoff=1)
    return small.point(lambda level: 255 if level < INK_LEVEL else 0)


def _profile(ink: Image.Image, axis: str) -> list[int]:
    """Ink pixels per column ('x') or per row ('y') of a 0/255 image."""
    if axis == "x":
        squeezed = ink.resize((ink.width, 1), Image.Resampling.BOX)
        return [level * ink.height // 255 for level in squeezed.tobytes()]
    squeezed = ink.resize((1, ink.height), Image.Resampling.BOX)
    return [level * ink.width // 255 for level in squeezed.tobytes()]


def _dense_span(profile: list[int]) -> tuple[int, int]:
    """First and last index where ink is dense: scanner dust and stray specks are not."""
    threshold = max(2, max(profile, default=0) // 10)
    dense = [index for index, count in enumerate(profile) if count >= threshold]
    return (dense[0], dense[-1] + 1) if dense else (0, len(profile))


def content_box(gray: Image.Image) -> tuple[int, int, int, int]:
    """The part of the page that holds the text, e.g. a till receipt on an A4 scan.

    Returns the whole image unless the text covers clearly less than the page, so a
    normal photo or page is left as it is.
    """
    ink = _ink(gray, CROP_THUMBNAIL)
    left, right = _dense_span(_profile(ink, "x"))
    top, bottom = _dense_span(_profile(ink.crop((left, 0, right, ink.height)), "y"))
    if (right - left) * (bottom - top) > CROP_IF_BELOW * ink.width * ink.height:
        return (0, 0, gray.width, gray.height)
    scale = gray.width / ink.width
    margin = round(CROP_MARGIN * scale)
    return (max(0, round(left * scale) - margin), max(0, round(top * scale) - margin),
            min(gray.width, round(right * scale) + margin),
            min(gray.height, round(bottom * scale) + margin))


def text_line_height(gray: Image.Image) -> int | None:
    """The usual height in pixels of a line of text, from the runs of inked rows."""
    ink = _ink(gray, max(gray.size)) if max(gray.size) <= LINE_SAMPLE else None
    if ink is None:  # measure on a copy reduced in width only, keeping every row
        narrow = gray.resize((LINE_SAMPLE // 2, gray.height), Image.Resampling.BOX)
        ink = ImageOps.autocontrast(narrow, cutoff=1).point(
            lambda level: 255 if level < INK_LEVEL else 0)
    rows = _profile(ink, "y")
    inked = [count >= max(1, ink.width // 100) for count in rows]
    runs, length = [], 0
    for flag in [*inked, False]:
        if flag:
            length += 1
        elif length:
            runs.append(length)
            length = 0
    runs = [run for run in runs if run >= 3]  # a rule or a speck is not a line of text
    if len(runs) < 3:
        return None
    return sorted(runs)[len(runs) // 2]


def resize_for_ocr(gray: Image.Image) -> Image.Image:
    """`gray` scaled so a line of text is about LINE_HEIGHT pixels high.

    A 600 dpi scan has letters too large for Tesseract's models (and is slow to read);
    a small phone crop has them too small. When no text line can be measured, the width
    decides instead.
    """
    height = text_line_height(gray)
    if height is not None:
        scale = LINE_HEIGHT / height
    elif gray.width < MIN_WIDTH:
        scale = MIN_WIDTH / gray.width
    else:
        scale = 1.0
    scale = min(max(scale, MIN_SCALE), MAX_SCALE)
    if abs(scale - 1) < 0.15:
        return gray
    size = (max(1, round(gray.width * scale)), max(1, round(gray.height * scale)))
    method = ENLARGE_WITH if scale > 1 else Image.Resampling.BOX
    return gray.resize(size, method)


def skew_angle(gray: Image.Image) -> float:
    """The rotation that makes text lines horizontal, found from row-ink profiles.

    When lines are level, rows alternate between ink and paper, so the per-row ink profile
    varies most. A coarse pass over whole degrees, then a fine one around the best, on a
    thumbnail: about 15 small rotations instead of 49.
    """
    ink = _ink(gray, DESKEW_THUMBNAIL)

    def sharpness(angle: float) -> int:
        turned = ink.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=0)
        rows = turned.resize((1, turned.height), Image.Resampling.BOX).tobytes()
        return sum((rows[i + 1] - rows[i]) ** 2 for i in range(len(rows) - 1))

    coarse = max(range(-MAX_SKEW, MAX_SKEW + 1), key=lambda angle: (sharpness(angle),
                                                                     -abs(angle)))
    fine = [coarse + step / 4 for step in (-3, -2, -1, 0, 1, 2, 3)]
    best = max(fine, key=lambda angle: (sharpness(angle), -abs(angle)))
    return best if abs(best) >= MIN_SKEW else 0.0


def read_text(image: Image.Image) -> str:
    """The text Tesseract reads in `image` (languages fra+eng when installed).

    A page photographed sideways reads as gibberish. Only then is Tesseract's own
    orientation detection asked how to turn it (it costs about half a reading, so it is
    not run on every page), and the turned page read again. (An upside-down page reads as
    plausible nonsense, so it is not caught this way.)
    """
    if tesseract() is None:
        raise OcrError(stored_message("Text recognition (OCR) is not installed on this server, "
                                      "so scans and photos cannot be read yet."))
    page = prepare(image)
    found = _run_tesseract(page, ["-l", languages(), "--psm", PAGE_SEGMENTATION])
    if word_share(found) >= GIBBERISH_BELOW:
        return found
    turn = orientation(page)
    if not turn:
        return found
    turned = _run_tesseract(page.rotate(-turn, expand=True),  # Pillow turns anticlockwise
                            ["-l", languages(), "--psm", PAGE_SEGMENTATION])
    return turned if word_share(turned) > word_share(found) else found


def word_share(found: str) -> float:
    """The share of what Tesseract read that looks like words or amounts: tokens of three
    letters or digits or more. Real receipts score well above GIBBERISH_BELOW; a sideways
    page reads as specks such as 'Oo © — |' and scores far below."""
    tokens = found.split()
    if not tokens:
        return 0.0
    return sum(sum(char.isalnum() for char in token) >= 3 for token in tokens) / len(tokens)


def orientation(page: Image.Image) -> int:
    """Degrees to turn `page` clockwise so its text stands upright (0, 90, 180 or 270),
    by Tesseract's orientation detection; 0 when it cannot tell."""
    try:
        report = _run_tesseract(page, ["--psm", "0"])
    except OcrError:  # no osd.traineddata, or too little text to judge
        return 0
    for line in report.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "Rotate" and value.strip() in ("90", "180", "270"):
            return int(value)
    return 0


def _run_tesseract(page: Image.Image, options: list[str]) -> str:
    """What the tesseract binary prints for `page` with these options."""
    buffer = io.BytesIO()
    # Uncompressed PGM: Tesseract reads it as fast as PNG and we skip the compression.
    page.save(buffer, format="PPM")
    # One thread per page: the server runs several workers, and OpenMP threads fight.
    env = {**os.environ, "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT", "1")}
    command = [tesseract(), "stdin", "stdout", *options, "--dpi", "300"]
    try:
        done = subprocess.run(command, input=buffer.getvalue(), capture_output=True,
                              timeout=TIMEOUT_SECONDS, env=env, check=False)
    except subprocess.TimeoutExpired as error:
        raise OcrError(stored_message("Reading this scan took too long; try a smaller or "
                                      "clearer image.")) from error
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        raise OcrError(stored_message("Text recognition (OCR) failed on this image (%(detail)s).",
                                      detail=" ".join(detail)))
    return done.stdout.decode("utf-8", "replace")
