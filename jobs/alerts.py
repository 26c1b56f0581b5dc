"""Sending alert e-mails in the background, with retries (services.alerts decides what)."""

import logging

from huey import crontab
from huey.exceptions import RetryTask

from jobs import runtime
from jobs.queue import huey
from models import db
from services import alerts

log = logging.getLogger(__name__)


@huey.task(retries=3, retry_delay=60)  # these retries cover the unexpected (database busy)
def send_alert(alert_id: int) -> str:
    """Mail one alert to the admins. A failing mail server is tried again after 1, 2, 4, 8
    and 16 minutes (the alert row counts the tries), then the alert is marked failed and the
    settings page shows why."""
    config = runtime.current()
    try:
        if not db.is_closed():
            # Immediate mode (tests): run in the caller's open connection, never closing it.
            return alerts.deliver(config, alert_id)
        with db.connection_context():
            return alerts.deliver(config, alert_id)
    except alerts.NotSentYet as error:
        # Already logged by deliver (without secrets); RetryTask keeps Huey's log quiet.
        raise RetryTask(delay=error.retry_in) from None


@huey.periodic_task(crontab(minute="*/10"))
def send_alerts_left_behind() -> None:
    """Queue again the mails a dead process or a queue outage left unsent."""
    runtime.current()  # opens the database in a fresh worker
    with db.connection_context():
        alert_ids = alerts.left_behind()
    for alert_id in alert_ids:
        log.info("alert %s was left unsent; queueing its mail again", alert_id)
        send_alert(alert_id)
