"""Tasks that settle accepted matches in Zoho Books and undo them (services.settlement).

The Settlement row is the durable request: a task queued for it may be lost (a worker
killed before it ran), so a periodic task picks up, every minute, whatever is queued or
was left mid-write; the ledger states make running one twice harmless.
"""

import logging

from huey import crontab
from huey.exceptions import TaskLockedException

from integrations.zoho_books import ZohoDailyLimitReached
from jobs import runtime
from jobs.queue import huey
from jobs.writer import zoho_write
from models import BankTransaction, PushState, db
from services import i18n, publishing, settlement, zoho
from services.i18n import stored_message

log = logging.getLogger(__name__)

@huey.task()
def settle_match(settlement_id: int) -> None:
    """Settle one accepted match, holding the Zoho writer lock for its few calls."""
    config = runtime.current()
    with db.connection_context():
        try:
            with zoho_write():
                settlement.settle(config, settlement_id)
        except (TaskLockedException, settlement.SettlementProblem) as problem:
            # Left QUEUED or SETTLING: the next try (from the safety net) looks it up first.
            log.info("settlement %s not settled yet: %s", settlement_id,
                     i18n.in_words(str(problem)))
            settlement.try_later(settlement_id)
        except ZohoDailyLimitReached:
            settlement.after_zohos_reset(settlement_id)
        except publishing.NewSupplierNeedsConfirmation as ask:
            settlement.wait_for_person(settlement_id, stored_message(
                "Zoho Books would get a new supplier, %(name)s. Publish the receipt by hand to "
                "confirm it; the bank line is settled with it.", name=ask.name))
        except zoho.ConnectError as problem:
            # Nothing was sent; it settles by itself once Zoho Books is connected again.
            # (The problem may itself be a stored message: a value, never glued to ours.)
            settlement.try_later(settlement_id, stored_message(
                "%(problem)s It is settled once it is.", problem=str(problem)))


@huey.task()
def unsettle_match(settlement_id: int) -> None:
    """Reverse one settled match in Zoho (uncategorise or unmatch), exactly once."""
    config = runtime.current()
    with db.connection_context():
        try:
            with zoho_write():
                settlement.unsettle(config, settlement_id)
        except ZohoDailyLimitReached:
            settlement.after_zohos_reset(settlement_id)
        except (TaskLockedException, settlement.SettlementProblem, zoho.ConnectError) as why:
            log.info("settlement %s not undone yet: %s", settlement_id,
                     i18n.in_words(str(why)))
            settlement.try_later(settlement_id)


@huey.periodic_task(crontab(minute="*"))
def settle_waiting_matches() -> None:
    """The one retry path: matches queued (or left mid-write by a killed worker) whose line
    is in Zoho, and undos under way, whose next try has come, get a task. One task per
    settlement and minute at most, however long Zoho stays down."""
    runtime.current()
    with db.connection_context():
        to_settle = [row.id for row in settlement.due(settlement.to_settle())
                     .join(BankTransaction)
                     .where(BankTransaction.push_state == PushState.PUSHED).limit(200)]
        to_undo = [row.id for row in settlement.due(settlement.to_undo()).limit(200)]
    for settlement_id in to_settle:
        settle_match(settlement_id)
    for settlement_id in to_undo:
        unsettle_match(settlement_id)
