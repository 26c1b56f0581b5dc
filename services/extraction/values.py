"""Reading amounts, dates and identifiers written the French or the English way."""

import datetime
import re
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")

# Thousands may be grouped by a space (also no-break and narrow no-break), a dot, a comma or
# an apostrophe (Swiss); the decimal part is one or two digits after a comma or a dot.
AMOUNT = r"[-−]?\d{1,3}(?:[ \u00a0\u202f.,']\d{3})+(?:[.,]\d{1,2})?|[-−]?\d+(?:[.,]\d{1,2})?"
AMOUNT_RE = re.compile(rf"(?<![\d.,])(?:{AMOUNT})(?![\d]|[.,]\d)")

MONTHS = {
    "jan": 1, "janv": 1, "janvier": 1, "january": 1,
    "feb": 2, "fev": 2, "fév": 2, "févr": 2, "fevr": 2, "février": 2, "fevrier": 2,
    "february": 2,
    "mar": 3, "mars": 3, "march": 3,
    "apr": 4, "avr": 4, "avril": 4, "april": 4,
    "may": 5, "mai": 5,
    "jun": 6, "juin": 6, "june": 6,
    "jul": 7, "juil": 7, "juillet": 7, "july": 7,
    "aug": 8, "aou": 8, "aoû": 8, "août": 8, "aout": 8, "august": 8,
    "sep": 9, "sept": 9, "septembre": 9, "september": 9,
    "oct": 10, "octobre": 10, "october": 10,
    "nov": 11, "novembre": 11, "november": 11,
    "dec": 12, "déc": 12, "décembre": 12, "decembre": 12, "december": 12,
}
MONTH_WORD = "|".join(sorted(MONTHS, key=len, reverse=True))
DATE = (rf"\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}[/.\-]\d{{1,2}}[/.\-]\d{{2,4}}"
        rf"|\d{{1,2}}(?:er)?\.?\s+(?:{MONTH_WORD})\.?\s+\d{{4}}"
        rf"|(?:{MONTH_WORD})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}")
DATE_RE = re.compile(rf"(?<!\d)(?:{DATE})(?!\d)", re.IGNORECASE)


def parse_amount(raw: str) -> Decimal | None:
    """'1 234,56', '1,234.56', '1.234,56', '-12.5' and the like as a Decimal; None if not one."""
    text = raw.strip().replace("−", "-")
    for space in (" ", "\u00a0", "\u202f", "'"):
        text = text.replace(space, "")
    last = max(text.rfind(","), text.rfind("."))
    if last >= 0 and len(text) - last - 1 in (1, 2):
        whole, decimals = text[:last], text[last + 1:]
    else:
        whole, decimals = text, ""  # "1,234" or "1.234": a thousands separator, not decimals
    whole = whole.replace(",", "").replace(".", "")
    try:
        return Decimal(f"{whole}.{decimals or '0'}").quantize(CENT)
    except InvalidOperation:
        return None


def parse_rate(raw: str) -> Decimal | None:
    """A VAT rate such as '20', '5,5' or '5.50' as a Decimal without trailing zeros."""
    try:
        rate = Decimal(raw.strip().replace(",", "."))
    except InvalidOperation:
        return None
    return plain(rate)


def plain(number: Decimal) -> Decimal:
    """`number` without trailing zeros: 20.00 -> 20, 5.50 -> 5.5 (never 2E+1)."""
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


def parse_date(raw: str, day_first: bool = True) -> datetime.date | None:
    """A date written '12/03/2026', '2026-03-12', '12 mars 2026' or 'March 12, 2026'."""
    text = raw.strip().lower().replace(",", " ")
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
            return datetime.date(*map(int, text.split("-")))
        numeric = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})", text)
        if numeric:
            return _numeric_date(*map(int, numeric.groups()), day_first=day_first)
        words = re.findall(r"[^\W\d_]+|\d+", text)
        numbers = [int(word) for word in words if word.isdigit()]
        months = [MONTHS[word] for word in words if word in MONTHS]
        if len(numbers) == 2 and months:
            day, year = (numbers if numbers[1] > 31 else numbers[::-1])
            return datetime.date(year, months[0], day)
    except ValueError:
        return None
    return None


def _numeric_date(first: int, second: int, year: int, day_first: bool) -> datetime.date:
    if year < 100:
        year += 2000
    # An impossible month settles the order whatever the document's language suggests.
    if first > 12 or (day_first and second <= 12):
        return datetime.date(year, second, first)
    return datetime.date(year, first, second)


def format_amount(amount: Decimal, french: bool = False) -> str:
    """An amount for a warning: '1,250.00', or '1 250,00' to match a French document."""
    english = f"{amount:,.2f}"
    if not french:
        return english
    return english.replace(",", " ").replace(".", ",")


def iban_valid(iban: str) -> bool:
    """True when `iban` (spaces allowed) has a plausible shape and its mod-97 check holds."""
    compact = re.sub(r"\s", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    digits = "".join(str(int(char, 36)) for char in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def french_vat_from_siren(siren: str) -> str:
    """The French VAT number of a company, computed from its SIREN (first 9 SIRET digits)."""
    key = (12 + 3 * (int(siren) % 97)) % 97
    return f"FR{key:02d}{siren}"
