"""Checking that a document's amounts agree with each other."""

from decimal import Decimal

from services.i18n import money_value, stored_message

from .values import CENT

# Per-rate VAT may be rounded line by line, so a computed tax can drift by a cent or two.
RATE_TOLERANCE = Decimal("0.02")


def _value(fields: dict, name: str):
    found = fields.get(name)
    return getattr(found, "value", found)


def _cents(amount) -> Decimal | None:
    return None if amount is None else Decimal(amount).quantize(CENT)


def _amount(value: Decimal) -> dict:
    """An amount inside a warning, written as its reader writes amounts: 1,250.00 / 1 250,00."""
    return money_value(int(value * 100))


def check_totals(fields: dict) -> list[str]:
    """Warnings (stored messages) when net + VAT ≠ total or the VAT breakdown disagrees.

    `fields` maps names to `Field`s (or to bare values); missing amounts are not checked.
    """
    net, tax, total = (_cents(_value(fields, name)) for name in ("net", "tax", "total"))
    warnings = []
    if None not in (net, tax, total) and net + tax != total:
        warnings.append(stored_message(
            "The totals do not add up: net %(net)s + VAT %(tax)s ≠ total %(total)s",
            net=_amount(net), tax=_amount(tax), total=_amount(total)))
    breakdown = _value(fields, "vat_breakdown") or []
    if breakdown:
        warnings += _check_breakdown(breakdown, net, tax)
    return warnings


def _check_breakdown(breakdown: list[dict], net: Decimal | None, tax: Decimal | None) -> list:
    warnings = []
    taxes = [_cents(row.get("tax")) for row in breakdown]
    bases = [_cents(row.get("base")) for row in breakdown]
    if tax is not None and None not in taxes and sum(taxes) != tax:
        warnings.append(stored_message(
            "The VAT breakdown does not add up: its VAT amounts sum to %(sum)s but the VAT total "
            "is %(total)s", sum=_amount(sum(taxes)), total=_amount(tax)))
    if net is not None and None not in bases and sum(bases) != net:
        warnings.append(stored_message(
            "The VAT breakdown does not add up: its bases sum to %(sum)s but the net total is "
            "%(total)s", sum=_amount(sum(bases)), total=_amount(net)))
    for row, base, row_tax in zip(breakdown, bases, taxes, strict=True):
        rate = row.get("rate")
        if None in (rate, base, row_tax):
            continue
        expected = (base * Decimal(rate) / 100).quantize(CENT)
        if abs(expected - row_tax) > RATE_TOLERANCE:
            warnings.append(stored_message(
                "At %(rate)s %% VAT on %(base)s the VAT should be %(expected)s, not %(found)s",
                rate=rate, base=_amount(base), expected=_amount(expected),
                found=_amount(row_tax)))
    return warnings
