"""Categorisation rules: which Zoho account, tax and contact a bank line gets."""

import functools
import re
from collections.abc import Callable

import re2
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from models import BankTransaction, CategorisationRule, db, utcnow
from services import audit, text_limits
from services.i18n import stored_message

# The fields and operators a rule can use, with what the form calls them (the keys are what
# is stored and matched: never translated).
TEXT_FIELDS = {"label": _l("Label"), "counterparty": _l("Counterparty"),
               "reference": _l("Reference"), "note": _l("Note")}
OPERATORS = {"contains": _l("contains"), "equals": _l("equals"),
             "matches": _l("matches (regular expression)")}
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
        raise PatternError(stored_message("it is longer than %(limit)s characters.",
                                          limit=MAX_PATTERN_LENGTH))
    try:
        return re2.compile(pattern, _pattern_options())
    except re2.error as error:
        raise PatternError(_why_refused(pattern, error)) from None


def _why_refused(pattern: str, error: Exception) -> str:
    detail = error.args[0] if error.args else ""
    detail = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
    if re.search(r"\\[1-9]|\\k<|\(\?P=", pattern):
        return stored_message("it refers back to an earlier group (like \\1), which rules "
                              "cannot do; write the text out instead.")
    if re.search(r"\(\?<?[=!]", pattern):
        return stored_message("it looks ahead or behind ((?=...), (?!...), (?<=...)), which "
                              "rules cannot do; use a second condition instead.")
    if "repetition" in detail or "too large" in detail or "pattern too" in detail:
        return stored_message("it repeats too much ({n} counts above 1000, or nested counts) "
                              "to run quickly; make it simpler.")
    # RE2's own words stay as RE2 wrote them.
    return stored_message("it is not a valid regular expression (%(detail)s).", detail=detail)


def pattern_problem(pattern: str) -> str:
    """Why a stored pattern cannot run ("" when it can): shown on the rules page."""
    try:
        compiled_pattern(pattern)
    except PatternError as error:
        return str(error)
    return ""


class _Line:
    """A bank line as rules test it: its texts read and case-folded once, however many
    rules look at it."""

    __slots__ = ("side", "amount_cents", "operation_type", "category", "line", "text",
                 "folded")

    def __init__(self, line: BankTransaction):
        self.side, self.amount_cents = line.side, line.amount_cents
        self.operation_type, self.category = line.operation_type, line.category
        self.line = line
        self.text = {field: getattr(line, field, "") or "" for field in TEXT_FIELDS}
        self.folded = {field: text.casefold() for field, text in self.text.items()}


Narrowing = Callable[[list[_Line]], list[_Line]]


def _narrowings(rule: CategorisationRule) -> list[Narrowing]:
    """The rule as steps that each keep the lines passing one of its tests; a line matches
    when it passes them all (their order changes nothing: the text conditions come first
    as they keep the fewest lines). Each step is one list comprehension, so a preview of
    many rules over many lines stays quick."""
    steps = [_text_narrowing(condition) for condition in rule.conditions or []]
    side, low, high = rule.side, rule.amount_min_cents, rule.amount_max_cents
    operation_type, category = rule.operation_type, rule.qonto_category
    if side:
        steps.append(lambda lines: [line for line in lines if line.side == side])
    if low is not None:
        steps.append(lambda lines: [line for line in lines if line.amount_cents >= low])
    if high is not None:
        steps.append(lambda lines: [line for line in lines if line.amount_cents <= high])
    if operation_type:
        steps.append(lambda lines: [line for line in lines
                                    if line.operation_type == operation_type])
    if category:
        steps.append(lambda lines: [line for line in lines if line.category == category])
    return steps


def _text_narrowing(condition: dict) -> Narrowing:
    field, wanted = condition["field"], condition.get("value") or ""
    if field not in TEXT_FIELDS:  # refused when saving; read from the line as it comes
        def text(line):
            return getattr(line.line, field, "") or ""
    else:
        def text(line):
            return line.text[field]
    if condition["op"] == "equals":
        wanted = wanted.casefold().strip()
        return lambda lines: [line for line in lines
                              if text(line).casefold().strip() == wanted]
    if condition["op"] == "matches":
        try:
            pattern = compiled_pattern(wanted)
        except PatternError:  # saved before patterns were checked; the rules page says why
            return lambda lines: []
        return lambda lines: [line for line in lines if pattern.search(text(line))]
    wanted = wanted.casefold()
    if field in TEXT_FIELDS:  # the usual case, kept short: it runs for every line and rule
        return lambda lines: [line for line in lines if wanted in line.folded[field]]
    return lambda lines: [line for line in lines if wanted in text(line).casefold()]


def _matching(rule: CategorisationRule, lines: list[_Line]) -> list[_Line]:
    for narrow in _narrowings(rule):
        lines = narrow(lines)
    return lines


def matches(rule: CategorisationRule, line: BankTransaction) -> bool:
    return bool(_matching(rule, [_Line(line)]))


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


# What rules look at in a line, and what a live preview shows of it: previews read only
# these columns.
TESTED = (BankTransaction.id, BankTransaction.side, BankTransaction.amount_cents,
          BankTransaction.operation_type, BankTransaction.category,
          BankTransaction.booking_date, BankTransaction.currency,
          *(getattr(BankTransaction, field) for field in TEXT_FIELDS))
# The fields of a rule being edited that decide which lines it matches.
MATCHING_FIELDS = ("conditions", "side", "amount_min_cents", "amount_max_cents",
                   "operation_type", "qonto_category")


def recent_lines() -> list:
    """The latest transactions as named tuples of the columns rules test (enough for
    `matches`, and quicker to read than whole rows)."""
    return list(BankTransaction.select(*TESTED)
                .order_by(BankTransaction.booking_date.desc(), BankTransaction.id.desc())
                .limit(PREVIEW_WINDOW).namedtuples())


def previews(rules, recent=None) -> dict[int, tuple[int, int]]:
    """rule id -> (matching, looked at) over the latest transactions, for the rules page.

    Each rule is counted on its own (a preview, not which rule wins a line). The lines are
    read and folded once; each rule's tests narrow the list in turn, so most lines meet only
    its first one.
    """
    recent = recent_lines() if recent is None else recent
    lines = [_Line(line) for line in recent]
    return {rule.id: (len(_matching(rule, lines)), len(lines)) for rule in rules}


def preview(rule: CategorisationRule, recent=None) -> tuple[int, int]:
    """(matching, looked at) over the latest transactions."""
    return previews([rule], recent)[rule.id]


def preview_lines(fields: dict, limit: int = 20) -> tuple[list, int, int]:
    """(the first `limit` matching lines, how many match, how many were looked at) for a
    rule as it is being edited, before it is saved: over the same latest transactions as
    `preview`, newest first. Raises RuleError for a pattern that cannot run."""
    for condition in fields.get("conditions", []):
        problem = condition.get("op") == "matches" and pattern_problem(condition["value"])
        if problem:
            raise RuleError(problem)
    rule = CategorisationRule(**{name: fields.get(name) for name in MATCHING_FIELDS})
    lines = [_Line(line) for line in recent_lines()]
    matching = _matching(rule, lines)
    return [line.line for line in matching[:limit]], len(matching), len(lines)


def validate(fields: dict) -> None:
    if not fields.get("name"):
        raise RuleError(stored_message("Give the rule a name."))
    too_long = (
        text_limits.problem(_("The name"), fields["name"], text_limits.RULE_NAME)
        or text_limits.problem(_("The operation type"), fields.get("operation_type", ""),
                               text_limits.CODE)
        or text_limits.problem(_("The Qonto category"), fields.get("qonto_category", ""),
                               text_limits.CODE)
        or next((text_limits.problem(_("A condition’s text"), condition["value"],
                                     text_limits.CONDITION)
                 for condition in fields.get("conditions", [])
                 # a pattern's length is judged with the pattern, below
                 if condition.get("op") != "matches"
                 and len(condition["value"]) > text_limits.CONDITION), None))
    if too_long:
        raise RuleError(too_long)
    if not fields.get("zoho_account_id"):
        raise RuleError(stored_message("Choose the Zoho Books account the lines go to."))
    for condition in fields.get("conditions", []):
        if condition["field"] not in TEXT_FIELDS or condition["op"] not in OPERATORS:
            raise RuleError(stored_message("Unknown condition."))
        if condition["op"] == "matches":
            problem = pattern_problem(condition["value"])
            if problem:
                raise RuleError(stored_message("The pattern “%(pattern)s” cannot be used: "
                                               "%(problem)s", pattern=condition["value"],
                                               problem=problem))
    low, high = fields.get("amount_min_cents"), fields.get("amount_max_cents")
    if low is not None and high is not None and low > high:
        raise RuleError(stored_message("The minimum amount is above the maximum."))


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
                 before=before, after=_snapshot(rule), link=rule)
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
