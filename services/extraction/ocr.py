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

MAX_PIXELS = 40_000_000  # an A4 page at 600 dpi is 35 megapixels
MIN_WIDTH = 1600  # Tesseract reads small print best at about 300 dpi
TIMEOUT_SECONDS = 120
LANGUAGES = ("fra", "eng")
DESKEW_ANGLES = [step / 4 for step in range(-24, 25)]  # -6° to +6° by quarter degrees


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
            raise OcrError(f"This image is too large to read ({image.width}×{image.height} "
                           "pixels); scan it at a lower resolution.")
        image.load()
        return image
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
            SyntaxError) as error:
        raise OcrError("This image is damaged or not a JPEG or PNG and could not be "
                       "read.") from error


def prepare(image: Image.Image) -> Image.Image:
    """A grey, upright, high-contrast copy of `image` at a size Tesseract reads well."""
    if image.width * image.height > MAX_PIXELS:
        raise OcrError("This image is too large to read; scan it at a lower resolution.")
    image = ImageOps.exif_transpose(image)  # phone photos are often stored sideways
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(white, image)
    gray = ImageOps.autocontrast(image.convert("L"), cutoff=1)
    if gray.width < MIN_WIDTH:
        scale = MIN_WIDTH / gray.width
        gray = gray.resize((MIN_WIDTH, round(gray.height * scale)), Image.Resampling.LANCZOS)
    angle = skew_angle(gray)
    if angle:
        gray = gray.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True,
                           fillcolor=255)
    return gray


def skew_angle(gray: Image.Image) -> float:
    """The rotation that makes text lines horizontal, found from row-ink profiles.

    When lines are level, rows alternate between ink and paper, so the per-row ink profile
    varies most; we try small angles on a thumbnail and keep the sharpest profile.
    """
    small = gray.copy()
    small.thumbnail((800, 800))
    ink = small.point(lambda level: 255 if level < 128 else 0)

    def sharpness(angle: float) -> float:
        turned = ink.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=0)
        rows = turned.resize((1, turned.height), Image.Resampling.BOX).tobytes()
        return sum((rows[i + 1] - rows[i]) ** 2 for i in range(len(rows) - 1))

    best = max(DESKEW_ANGLES, key=sharpness)
    return best if abs(best) >= 0.5 else 0.0


def read_text(image: Image.Image) -> str:
    """The text Tesseract reads in `image` (languages fra+eng when installed)."""
    binary = tesseract()
    if binary is None:
        raise OcrError("Text recognition (OCR) is not installed on this server, so scans "
                       "and photos cannot be read yet.")
    buffer = io.BytesIO()
    prepare(image).save(buffer, format="PNG")
    # One thread per page: the server runs several workers, and OpenMP threads fight.
    env = {**os.environ, "OMP_THREAD_LIMIT": os.environ.get("OMP_THREAD_LIMIT", "1")}
    command = [binary, "stdin", "stdout", "-l", languages(), "--psm", "4", "--dpi", "300"]
    try:
        done = subprocess.run(command, input=buffer.getvalue(), capture_output=True,
                              timeout=TIMEOUT_SECONDS, env=env, check=False)
    except subprocess.TimeoutExpired as error:
        raise OcrError("Reading this scan took too long; try a smaller or clearer "
                       "image.") from error
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        raise OcrError(f"Text recognition (OCR) failed on this image ({' '.join(detail)}).")
    return done.stdout.decode("utf-8", "replace")
