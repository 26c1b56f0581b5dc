"""Checking that a document's amounts agree with each other."""

from decimal import Decimal

from .values import CENT, format_amount

# Per-rate VAT may be rounded line by line, so a computed tax can drift by a cent or two.
RATE_TOLERANCE = Decimal("0.02")


def _value(fields: dict, name: str):
    found = fields.get(name)
    return getattr(found, "value", found)


def _cents(amount) -> Decimal | None:
    return None if amount is None else Decimal(amount).quantize(CENT)


def check_totals(fields: dict) -> list[str]:
    """Plain-English warnings when net + VAT ≠ total or the VAT breakdown disagrees.

    `fields` maps names to `Field`s (or to bare values); missing amounts are not checked.
    """
    net, tax, total = (_cents(_value(fields, name)) for name in ("net", "tax", "total"))
    warnings = []
    if None not in (net, tax, total) and net + tax != total:
        warnings.append(f"The totals do not add up: net {format_amount(net)} + VAT "
                        f"{format_amount(tax)} ≠ total {format_amount(total)}")
    breakdown = _value(fields, "vat_breakdown") or []
    if breakdown:
        warnings += _check_breakdown(breakdown, net, tax)
    return warnings


def _check_breakdown(breakdown: list[dict], net: Decimal | None, tax: Decimal | None) -> list:
    warnings = []
    taxes = [_cents(row.get("tax")) for row in breakdown]
    bases = [_cents(row.get("base")) for row in breakdown]
    if tax is not None and None not in taxes and sum(taxes) != tax:
        warnings.append(f"The VAT breakdown does not add up: its VAT amounts sum to "
                        f"{format_amount(sum(taxes))} but the VAT total is {format_amount(tax)}")
    if net is not None and None not in bases and sum(bases) != net:
        warnings.append(f"The VAT breakdown does not add up: its bases sum to "
                        f"{format_amount(sum(bases))} but the net total is {format_amount(net)}")
    for row, base, row_tax in zip(breakdown, bases, taxes, strict=True):
        rate = row.get("rate")
        if None in (rate, base, row_tax):
            continue
        expected = (base * Decimal(rate) / 100).quantize(CENT)
        if abs(expected - row_tax) > RATE_TOLERANCE:
            warnings.append(f"At {rate} % VAT on {format_amount(base)} the VAT should be "
                            f"{format_amount(expected)}, not {format_amount(row_tax)}")
    return warnings
