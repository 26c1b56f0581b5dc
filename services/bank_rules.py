"""Categorisation rules: which Zoho account, tax and contact a bank line gets."""

import functools
import re

import re2

from models import BankTransaction, CategorisationRule, db, utcnow
from services import audit, text_limits

TEXT_FIELDS = {"label": "Label", "counterparty": "Counterparty", "reference": "Reference",
               "note": "Note"}
OPERATORS = {"contains": "contains", "equals": "equals", "matches": "matches (regular expression)"}
PREVIEW_WINDOW = 500
MAX_PATTERN_LENGTH = 300
# RE2 runs in time linear in the text, so a pattern like (.+)+# cannot freeze the sync or
# the rules page; the memory cap refuses patterns whose compiled form would be huge.
PATTERN_MEMORY_BYTES = 1 << 20


class RuleError(Exception):
    """A rule that cannot be saved, with the reason."""


def ordered():
    return CategorisationRule.select().order_by(CategorisationRule.position,
                                                CategorisationRule.id)


class PatternError(Exception):
    """A pattern that cannot run safely, with the reason in plain words."""


def _pattern_options():
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a refused pattern is the user's input, not a server fault
    options.max_mem = PATTERN_MEMORY_BYTES
    return options


@functools.lru_cache(maxsize=512)
def compiled_pattern(pattern: str):
    """The pattern compiled for RE2 (linear time, case-insensitive), or PatternError."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"it is longer than {MAX_PATTERN_LENGTH} characters.")
    try:
        return re2.compile(pattern, _pattern_options())
    except re2.error as error:
        raise PatternError(_why_refused(pattern, error)) from None


def _why_refused(pattern: str, error: Exception) -> str:
    detail = error.args[0] if error.args else ""
    detail = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
    if re.search(r"\\[1-9]|\\k<|\(\?P=", pattern):
        return ("it refers back to an earlier group (like \\1), which rules cannot do; "
                "write the text out instead.")
    if re.search(r"\(\?<?[=!]", pattern):
        return ("it looks ahead or behind ((?=...), (?!...), (?<=...)), which rules cannot "
                "do; use a second condition instead.")
    if "repetition" in detail or "too large" in detail or "pattern too" in detail:
        return ("it repeats too much ({n} counts above 1000, or nested counts) to run "
                "quickly; make it simpler.")
    return f"it is not a valid regular expression ({detail})."


def pattern_problem(pattern: str) -> str:
    """Why a stored pattern cannot run ("" when it can): shown on the rules page."""
    try:
        compiled_pattern(pattern)
    except PatternError as error:
        return str(error)
    return ""


def _text_holds(condition: dict, line: BankTransaction) -> bool:
    text = getattr(line, condition["field"], "") or ""
    wanted = condition.get("value") or ""
    if condition["op"] == "equals":
        return text.casefold().strip() == wanted.casefold().strip()
    if condition["op"] == "matches":
        try:
            return compiled_pattern(wanted).search(text) is not None
        except PatternError:
            return False  # saved before patterns were checked; the rules page says why
    return wanted.casefold() in text.casefold()


def matches(rule: CategorisationRule, line: BankTransaction) -> bool:
    if rule.side and line.side != rule.side:
        return False
    if rule.amount_min_cents is not None and line.amount_cents < rule.amount_min_cents:
        return False
    if rule.amount_max_cents is not None and line.amount_cents > rule.amount_max_cents:
        return False
    if rule.operation_type and line.operation_type != rule.operation_type:
        return False
    if rule.qonto_category and line.category != rule.qonto_category:
        return False
    return all(_text_holds(condition, line) for condition in rule.conditions or [])


def first_match(rules, line: BankTransaction) -> CategorisationRule | None:
    """The rule that categorises the line: the first enabled match in order.

    A matching rule without "stop" lets later rules be considered too; the last matching
    rule before a stop (or the end) wins, so a general rule can be refined by later ones.
    """
    chosen = None
    for rule in rules:
        if not rule.enabled or not matches(rule, line):
            continue
        chosen = rule
        if rule.stop_processing:
            break
    return chosen


def recent_lines() -> list[BankTransaction]:
    return list(BankTransaction.select().order_by(BankTransaction.booking_date.desc(),
                                                  BankTransaction.id.desc())
                .limit(PREVIEW_WINDOW))


def preview(rule: CategorisationRule, recent=None) -> tuple[int, int]:
    """(matching, looked at) over the latest transactions (load them once for many rules)."""
    recent = recent_lines() if recent is None else recent
    return sum(1 for line in recent if matches(rule, line)), len(recent)


def validate(fields: dict) -> None:
    if not fields.get("name"):
        raise RuleError("Give the rule a name.")
    too_long = (
        text_limits.problem("The name", fields["name"], text_limits.RULE_NAME)
        or text_limits.problem("The operation type", fields.get("operation_type", ""),
                               text_limits.CODE)
        or text_limits.problem("The Qonto category", fields.get("qonto_category", ""),
                               text_limits.CODE)
        or next((text_limits.problem("A condition's text", condition["value"],
                                     text_limits.CONDITION)
                 for condition in fields.get("conditions", [])
                 # a pattern's length is judged with the pattern, below
                 if condition.get("op") != "matches"
                 and len(condition["value"]) > text_limits.CONDITION), None))
    if too_long:
        raise RuleError(too_long)
    if not fields.get("zoho_account_id"):
        raise RuleError("Choose the Zoho Books account the lines go to.")
    for condition in fields.get("conditions", []):
        if condition["field"] not in TEXT_FIELDS or condition["op"] not in OPERATORS:
            raise RuleError("Unknown condition.")
        if condition["op"] == "matches":
            problem = pattern_problem(condition["value"])
            if problem:
                raise RuleError(f"The pattern '{condition['value']}' cannot be used: "
                                f"{problem}")
    low, high = fields.get("amount_min_cents"), fields.get("amount_max_cents")
    if low is not None and high is not None and low > high:
        raise RuleError("The minimum amount is above the maximum.")


def save(user, fields: dict, rule: CategorisationRule | None = None) -> CategorisationRule:
    validate(fields)
    with db.atomic():
        if rule is None:
            last = ordered().select(CategorisationRule.position).order_by(
                CategorisationRule.position.desc()).first()
            rule = CategorisationRule(position=(last.position + 1) if last else 1, version=0,
                                      created_by=user)
            before = None
        else:
            before = _snapshot(rule)
        for name, value in fields.items():
            setattr(rule, name, value)
        rule.version += 1
        rule.updated_at = utcnow()
        rule.save()
    audit.record("rule.save", user=user, subject=f"{rule.name} (v{rule.version})",
                 before=before, after=_snapshot(rule))
    return rule


def move(user, rule: CategorisationRule, direction: int) -> None:
    rules = list(ordered())
    index = rules.index(rule)
    other = index + direction
    if not 0 <= other < len(rules):
        return
    rules[index], rules[other] = rules[other], rules[index]
    with db.atomic():
        for position, item in enumerate(rules, start=1):
            if item.position != position:
                item.position = position
                item.save(only=[CategorisationRule.position])
    audit.record("rule.move", user=user, subject=rule.name,
                 after={"order": [r.name for r in rules]})


def delete(user, rule: CategorisationRule) -> None:
    snapshot = _snapshot(rule)
    rule.delete_instance()
    audit.record("rule.delete", user=user, subject=rule.name, before=snapshot)


def _snapshot(rule: CategorisationRule) -> dict:
    return {
        "name": rule.name, "enabled": rule.enabled, "stop_processing": rule.stop_processing,
        "conditions": rule.conditions, "side": rule.side,
        "amount_min_cents": rule.amount_min_cents, "amount_max_cents": rule.amount_max_cents,
        "operation_type": rule.operation_type, "qonto_category": rule.qonto_category,
        "zoho_account_id": rule.zoho_account_id, "tax_id": rule.tax_id,
        "contact_id": rule.contact_id, "version": rule.version,
    }
