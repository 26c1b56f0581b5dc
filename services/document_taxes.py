"""Taxes that match the document: each VAT rate it shows mapped to a Zoho tax of that rate.

What Bookbridge sends Zoho is a tax code per line; Zoho computes the tax. Before anything
is sent, the tax Zoho will compute is compared with the tax the document shows: a rate that
differs, or an amount more than a cent apart, holds the document until a person chooses the
matching tax (offered) or confirms the difference on purpose.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from models import Document, ZohoConnection, ZohoTax
from services import i18n
from services.i18n import money_value, stored_message, stored_plural_message

CENT = Decimal("0.01")
TOLERANCE = CENT  # rounding on the document may differ from Zoho's by a cent


@dataclass
class TaxLine:
    """One line to send: its net (or gross for an expense), tax code and rate."""

    amount: Decimal
    tax_id: str | None
    rate: Decimal | None
    description: str = ""
    quantity: Decimal | None = None
    unit_price: Decimal | None = None


@dataclass
class TaxCheck:
    """The verdict on a document's taxes; `problem` is "" when they agree, else a stored
    message (the same for the same difference, so a person's confirmation can be compared)."""

    problem: str = ""
    offer: ZohoTax | None = None  # the Zoho tax of the document's rate, to use in one click
    confirmed: bool = False  # a person kept the tax code on purpose (see is_confirmed)


def rate(value) -> Decimal | None:
    """A VAT rate as compared: '20.0', 20, '20' are the same rate."""
    if value in (None, ""):
        return None
    return Decimal(str(value)).normalize()


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _usable_taxes() -> list[ZohoTax]:
    org = ZohoConnection.current().organization_id
    return [tax for tax in ZohoTax.usable(org) if tax.percentage is not None]


def tax_for_rate(wanted: Decimal, taxes: list[ZohoTax] | None = None) -> ZohoTax | None:
    """The Zoho tax of this rate: a plain tax before a tax group, the default first."""
    matching = [tax for tax in (taxes if taxes is not None else _usable_taxes())
                if rate(tax.percentage) == rate(wanted)]
    matching.sort(key=lambda tax: (tax.tax_type == "tax_group", not tax.is_default, tax.name))
    return matching[0] if matching else None


def tax_by_id(tax_id: str | None, taxes: list[ZohoTax] | None = None) -> ZohoTax | None:
    if not tax_id:
        return None
    return next((tax for tax in (taxes if taxes is not None else _usable_taxes())
                 if tax.zoho_id == tax_id), None)


def document_rates(document: Document) -> list[dict]:
    """The VAT rows the document shows, one per rate: {"rate", "base", "tax"} as Decimals."""
    rows: dict[Decimal, dict] = {}
    for row in document.vat_breakdown or []:
        row_rate = rate(row.get("rate"))
        if row_rate is None:
            continue
        merged = rows.setdefault(row_rate, {"rate": row_rate, "base": None, "tax": None})
        for key in ("base", "tax"):
            if row.get(key) not in (None, ""):
                merged[key] = (merged[key] or Decimal(0)) + Decimal(str(row[key]))
    return list(rows.values())


def inclusive(document: Document) -> bool:
    """An expense is sent with its total, tax included; bills, invoices and credit notes
    with nets."""
    return (document.kind == "cost" and document.payment == "expense"
            and document.document_type != "credit_note")


def tax_on(amount: Decimal, percentage, included: bool) -> Decimal:
    """The tax Zoho computes on one line, rounded per line as Zoho does."""
    if percentage is None:
        return Decimal(0)
    share = Decimal(str(percentage)) / 100
    if included:
        return amount - money(amount / (1 + share))
    return money(amount * share)


def _cents(cents) -> Decimal | None:
    return None if cents is None else Decimal(cents) / 100


def is_confirmed(document: Document, problem: str) -> bool:
    """Whether a person confirmed this very tax difference. Confirmations made before the
    messages were translatable hold the English sentence: they still count."""
    if not problem:
        return False
    if problem == document.tax_confirmed:
        return True
    if not document.tax_confirmed or i18n.is_stored(document.tax_confirmed):
        return False
    with i18n.in_language("en"):
        return i18n.in_words(problem) == document.tax_confirmed


def _label(document: Document) -> str:
    if document.document_type == "credit_note":
        return "credit_note"
    return "receipt" if document.document_type == "receipt" or inclusive(document) \
        else "invoice"


def _percent(value) -> str:
    return f"{rate(value):f}" if value is not None else "0"


def _money(value) -> dict:
    """A tax amount (Decimal) inside a stored message, written as the reader writes it."""
    return money_value(int((Decimal(value) * 100).to_integral_value(ROUND_HALF_UP)))


def _rate_text(value, amount) -> str:
    """ "20 % (6.08)", or "20 %" without an amount."""
    if amount is None:
        return stored_message("%(rate)s %%", rate=_percent(value))
    return stored_message("%(rate)s %% (%(amount)s)", rate=_percent(value), amount=_money(amount))


def _no_rate(document: Document, row: dict) -> str:
    values = {"rate": _rate_text(row["rate"], row["tax"])}
    return {
        "credit_note": stored_message(
            "The credit note shows %(rate)s, and Zoho Books has no tax of that rate: add it in "
            "Zoho Books and refresh the lists.", **values),
        "receipt": stored_message(
            "The receipt shows %(rate)s, and Zoho Books has no tax of that rate: add it in "
            "Zoho Books and refresh the lists.", **values),
        "invoice": stored_message(
            "The invoice shows %(rate)s, and Zoho Books has no tax of that rate: add it in "
            "Zoho Books and refresh the lists.", **values),
    }[_label(document)]


def _lines_differ(document: Document, shown, count: int, computed) -> str:
    values = {"shown": _money(shown), "computed": _money(computed)}
    return {
        "credit_note": stored_plural_message(
            "The credit note shows a tax of %(shown)s over %(num)s rate, but its lines give "
            "%(computed)s in Zoho Books: check the lines and the amounts.",
            "The credit note shows a tax of %(shown)s over %(num)s rates, but its lines give "
            "%(computed)s in Zoho Books: check the lines and the amounts.", count, **values),
        "receipt": stored_plural_message(
            "The receipt shows a tax of %(shown)s over %(num)s rate, but its lines give "
            "%(computed)s in Zoho Books: check the lines and the amounts.",
            "The receipt shows a tax of %(shown)s over %(num)s rates, but its lines give "
            "%(computed)s in Zoho Books: check the lines and the amounts.", count, **values),
        "invoice": stored_plural_message(
            "The invoice shows a tax of %(shown)s over %(num)s rate, but its lines give "
            "%(computed)s in Zoho Books: check the lines and the amounts.",
            "The invoice shows a tax of %(shown)s over %(num)s rates, but its lines give "
            "%(computed)s in Zoho Books: check the lines and the amounts.", count, **values),
    }[_label(document)]


def check(document: Document, taxes: list[ZohoTax] | None = None) -> TaxCheck:
    """Does the tax Zoho will compute agree with the document? Says how it differs."""
    taxes = taxes if taxes is not None else _usable_taxes()
    rows = document_rates(document)
    shown_tax = _cents(document.tax_cents)
    if len(rows) > 1:
        return _check_rates(document, rows, taxes)
    applied = tax_by_id(document.tax_id, taxes)
    applied_rate = rate(applied.percentage) if applied else Decimal(0)
    computed = planned_tax(document, taxes)
    if rows:
        row = rows[0]
        shown = row["tax"] if row["tax"] is not None else shown_tax
        same_rate = row["rate"] == applied_rate
        close = shown is None or computed is None or abs(shown - computed) <= TOLERANCE
        if same_rate and close:
            return TaxCheck()
        return TaxCheck(_sentence(document, row["rate"], shown, applied_rate, computed),
                        tax_for_rate(row["rate"], taxes))
    if shown_tax is None or computed is None or abs(shown_tax - computed) <= TOLERANCE:
        return TaxCheck()
    return TaxCheck(_sentence(document, None, shown_tax, applied_rate, computed))


def _check_rates(document: Document, rows: list[dict], taxes) -> TaxCheck:
    """Several rates: each needs a Zoho tax of its own rate; one line per rate is sent."""
    for row in rows:
        if tax_for_rate(row["rate"], taxes) is None:
            return TaxCheck(_no_rate(document, row))
    shown = sum((row["tax"] for row in rows if row["tax"] is not None), Decimal(0))
    computed = planned_tax(document, taxes)
    if computed is None or abs(shown - computed) <= TOLERANCE:
        return TaxCheck()
    return TaxCheck(_lines_differ(document, shown, len(rows), computed))


def _sentence(document, shown_rate, shown, applied_rate, computed) -> str:
    """'The receipt shows 10 % (3.32), the tax code is 20 % (6.08).' (a stored message)"""
    shows = (_rate_text(shown_rate, shown) if shown_rate is not None
             else stored_message("a tax of %(amount)s", amount=_money(shown)))
    if document.tax_id and tax_by_id(document.tax_id) is None:
        code = stored_message("not in the lists Bookbridge has from Zoho Books (refresh them)")
    elif document.tax_id:
        code = _rate_text(applied_rate, computed)
    elif computed is None:
        code = stored_message("none")
    else:
        code = stored_message("none (%(amount)s)", amount=_money(computed))
    values = {"shown": shows, "code": code}
    return {
        "credit_note": stored_message(
            "The credit note shows %(shown)s, the tax code is %(code)s.", **values),
        "receipt": stored_message("The receipt shows %(shown)s, the tax code is %(code)s.",
                                  **values),
        "invoice": stored_message("The invoice shows %(shown)s, the tax code is %(code)s.",
                                  **values),
    }[_label(document)]


def lines(document: Document, taxes: list[ZohoTax] | None = None) -> list[TaxLine]:
    """What is sent, line by line: the document's own lines when their nets add up to its
    net (each keeping its quantity and unit price), else one line per VAT rate, else one
    line with the document's tax code."""
    taxes = taxes if taxes is not None else _usable_taxes()
    own = _own_lines(document, taxes)
    if own:
        return own
    rows = document_rates(document)
    if len(rows) > 1 and all(row["base"] is not None for row in rows):
        return [_rate_line(document, row, taxes) for row in rows]
    amount = document.total_cents if inclusive(document) else (
        document.net_cents if document.net_cents is not None else document.total_cents)
    applied = tax_by_id(document.tax_id, taxes)
    return [TaxLine(_cents(amount) or Decimal(0), document.tax_id,
                    rate(applied.percentage) if applied else None)]


def _rate_line(document: Document, row: dict, taxes) -> TaxLine:
    tax = tax_for_rate(row["rate"], taxes)
    amount = row["base"]
    if inclusive(document):
        amount = row["base"] + (row["tax"] if row["tax"] is not None
                                else money(row["base"] * row["rate"] / 100))
    # Sent to Zoho Books as the line's description: data, the same in every language.
    sent = f"TVA {_percent(row['rate'])} %"
    return TaxLine(amount, tax.zoho_id if tax else None, row["rate"], description=sent)


def _own_lines(document: Document, taxes) -> list[TaxLine]:
    """The extracted lines, when they add up to the net; not for an expense (sent gross)."""
    rows = [line for line in document.lines or [] if line.get("net")]
    if not rows or inclusive(document) or document.net_cents is None:
        return []
    if sum((Decimal(line["net"]) for line in rows), Decimal(0)) != _cents(document.net_cents):
        return []
    rates = {rate(line.get("vat_rate")) for line in rows}
    applied = tax_by_id(document.tax_id, taxes)
    built = []
    for line in rows:
        line_rate = rate(line.get("vat_rate"))
        if len(rates) <= 1 or line_rate is None:
            tax_id, tax_rate = document.tax_id, rate(applied.percentage) if applied else None
        else:
            tax = tax_for_rate(line_rate, taxes)
            tax_id, tax_rate = (tax.zoho_id, line_rate) if tax else (None, None)
        quantity, unit_price = _quantity_and_price(line)
        built.append(TaxLine(Decimal(line["net"]), tax_id, tax_rate,
                             description=line.get("description") or "",
                             quantity=quantity, unit_price=unit_price))
    return built


def _quantity_and_price(line: dict) -> tuple[Decimal | None, Decimal | None]:
    """The line's quantity and unit price when they give its net to the cent."""
    if not line.get("quantity") or not line.get("unit_price"):
        return None, None
    quantity, price = Decimal(line["quantity"]), Decimal(line["unit_price"])
    if quantity > 0 and money(quantity * price) == money(Decimal(line["net"])):
        return quantity, price
    return None, None


def matching_tax(document: Document, taxes: list[ZohoTax] | None = None) -> ZohoTax | None:
    """The Zoho tax of the document's one VAT rate; None with no rate or several."""
    rows = document_rates(document)
    return tax_for_rate(rows[0]["rate"], taxes) if len(rows) == 1 else None


def planned_tax(document: Document, taxes: list[ZohoTax] | None = None) -> Decimal | None:
    """The tax Zoho Books will compute on what Bookbridge sends; None when nothing to send."""
    if document.total_cents is None and document.net_cents is None:
        return None
    included = inclusive(document)
    return sum((tax_on(line.amount, line.rate, included)
                for line in lines(document, taxes)), Decimal(0))
