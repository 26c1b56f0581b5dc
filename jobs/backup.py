"""The daily backup, when BOOKBRIDGE_BACKUP_DIR is set."""

import logging

from huey import crontab

from jobs import runtime
from jobs.queue import huey
from models import db
from services import backup as backups

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(hour="3", minute="17"))  # UTC: a quiet hour in Europe
def daily_backup() -> None:
    """Write BACKUP_DIR/bookbridge-YYYYMMDD-HHMM/ and keep the BACKUP_KEEP newest."""
    config = runtime.current()
    if not config.get("BACKUP_DIR"):
        return
    try:
        outcome, deleted = backups.scheduled(config, db.obj, config["BACKUP_DIR"],
                                             int(config.get("BACKUP_KEEP") or 7))
    except backups.BackupError as error:
        log.error("daily backup not written: %s", error)
        return
    for warning in outcome.warnings if outcome else []:
        log.warning("daily backup: %s", warning)
    for folder in deleted:
        log.info("daily backup: removed %s (keeping the %s newest)", folder,
                 config.get("BACKUP_KEEP"))
    if outcome is None:
        return
    log.info("daily backup written to %s", outcome.folder)
    return outcome.folder
