"""The clinic's calendar: its time zone, and the working day by which it replies."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from matcher.errors import ConfigError

SATURDAY = 5


def clinic_zone(name: str) -> ZoneInfo:
    """The configured time zone, or a ConfigError naming MATCHER_CLINIC_TIMEZONE."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "MATCHER_CLINIC_TIMEZONE",
            f"{name!r} is not a time zone name like Europe/London or America/New_York",
        ) from None


def reply_by(moment: datetime, working_days: int, zone: ZoneInfo) -> date:
    """The day, in the clinic's zone, `working_days` Monday-to-Friday days after `moment`."""
    day = moment.astimezone(zone).date()
    left = working_days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < SATURDAY:
            left -= 1
    return day


def day_in_words(day: date) -> str:
    """Thursday 3 December."""
    return f"{day:%A} {day.day} {day:%B}"
