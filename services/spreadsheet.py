"""Cells of the CSV exports (Activity, the matching lists)."""


def safe_cell(text: str | None) -> str:
    """Text a spreadsheet shows as text: a leading =, +, - or @ would run as a formula, and
    outside text reaches the exports (mail senders, bank labels, file names)."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
