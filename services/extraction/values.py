"""Reading amounts, dates and identifiers written the French or the English way."""

import datetime
import re
import unicodedata
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")

# Thousands may be grouped by a space (also no-break and narrow no-break), a dot, a comma or
# an apostrophe (Swiss); the decimal part is one or two digits after a comma or a dot.
AMOUNT = r"[-−]?\d{1,3}(?:[ \u00a0\u202f.,']\d{3})+(?:[.,]\d{1,2})?|[-−]?\d+(?:[.,]\d{1,2})?"
AMOUNT_RE = re.compile(rf"(?<![\d.,])(?:{AMOUNT})(?![\d]|[.,]\d)")

# Month names and common abbreviations in French, English, German, Dutch, Spanish and
# Italian, written without accents (dates are matched on text folded the same way).
_MONTH_NAMES = {
    1: "jan janv janvier january januar januari enero ene gennaio gen",
    2: "feb fev fevr fevrier february februar februari febrero febbraio",
    3: "mar mars march marz maerz maart mrt marzo",
    4: "apr avr avril april abril abr aprile",
    5: "may mai mei mayo maggio mag",
    6: "jun juin june juni junio giugno giu",
    7: "jul juil juillet july juli julio luglio lug",
    8: "aug aou aout august augustus agosto ago",
    9: "sep sept septembre september septiembre setiembre settembre set",
    10: "oct octobre october okt oktober octubre ottobre ott",
    11: "nov novembre november noviembre",
    12: "dec decembre december dez dezember diciembre dic dicembre",
}
MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names.split()}
# Documents print the accented forms; parse_date drops accents before the look-up.
ACCENTED_MONTHS = ["février", "févr", "fév", "märz", "août", "aoû", "décembre", "déc"]
MONTH_WORD = "|".join(sorted([*MONTHS, *ACCENTED_MONTHS], key=len, reverse=True))
# "12/03/2026", "2026-03-12", "12 mars 2026", "3. August 2014", "3 de agosto de 2014",
# "August 3 , 2014", "March 12th, 2026", "03 MAR 2018", "25 Dec 18".
DATE = (rf"\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}[/.\-]\d{{1,2}}[/.\-]\d{{2,4}}"
        rf"|\d{{1,2}}(?:er|st|nd|rd|th)?\.?[\s\-]*(?:de\s+)?(?:{MONTH_WORD})\b\.?"
        rf"(?:[\s\-,]*(?:de\s+)?\d{{4}}|[\s\-]\d{{2}}(?![\d:]))"
        rf"|(?:{MONTH_WORD})\b\.?\s*\d{{1,2}}(?:st|nd|rd|th)?\s*,?\s*\d{{4}}")
DATE_RE = re.compile(rf"(?<![\d\w])(?:{DATE})(?!\d)", re.IGNORECASE)


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
    text = _unaccented(raw.strip().lower()).replace(",", " ")
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
            day, year = (numbers if numbers[1] > 31 or numbers[0] <= 31 else numbers[::-1])
            return datetime.date(year + 2000 if year < 100 else year, months[0], day)
    except ValueError:
        return None
    return None


def _unaccented(text: str) -> str:
    return "".join(char for char in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(char))


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
