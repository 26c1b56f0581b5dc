"""When the daily bank sync runs: a wall-clock time in the organisation's time zone."""

import datetime
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models import ZohoConnection

TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def time_zone(config) -> ZoneInfo:
    """The Zoho organisation's time zone, else the configured default."""
    for name in (ZohoConnection.current().time_zone, config.get("TIME_ZONE"), "UTC"):
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def parse_time(value: str) -> datetime.time:
    match = TIME_PATTERN.match((value or "").strip())
    if not match:
        raise ValueError("Give the time as HH:MM, for example 20:30.")
    return datetime.time(int(match.group(1)), int(match.group(2)))


def next_run(sync_time: str, zone: ZoneInfo, after_utc: datetime.datetime) -> datetime.datetime:
    """The next moment (naive UTC) the wall clock in `zone` shows `sync_time` after `after_utc`."""
    at = parse_time(sync_time)
    local_now = after_utc.replace(tzinfo=datetime.UTC).astimezone(zone)
    candidate = datetime.datetime.combine(local_now.date(), at, tzinfo=zone)
    if candidate <= local_now:
        candidate = datetime.datetime.combine(local_now.date() + datetime.timedelta(days=1), at,
                                              tzinfo=zone)
    return candidate.astimezone(datetime.UTC).replace(tzinfo=None)


def local_date(moment_utc: datetime.datetime, zone: ZoneInfo) -> datetime.date:
    """The calendar date a UTC moment falls on in `zone` (bank dates never go through UTC
    midnight)."""
    return moment_utc.replace(tzinfo=datetime.UTC).astimezone(zone).date()
