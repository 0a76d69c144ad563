"""The time where the portal's users are: Viet Nam's, whatever zone the server keeps
(a district's server in a data centre often runs on UTC, seven hours behind, so its
"today" would end at 7 in the morning here). Deadlines, days left and the dates that
reports carry are all counted in this zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

TIMEZONE = "Asia/Ho_Chi_Minh"
ZONE = ZoneInfo(TIMEZONE)


def today() -> date:
    """Today's date in Viet Nam."""
    return datetime.now(ZONE).date()


def local(moment: datetime) -> datetime:
    """``moment`` in Viet Nam's time (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZONE)


def day_start(day: date) -> datetime:
    """The moment ``day`` begins in Viet Nam."""
    return datetime.combine(day, time(), tzinfo=ZONE)
