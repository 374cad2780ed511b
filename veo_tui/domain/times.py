"""Read the three ways kie.ai writes a time into an aware UTC datetime.

Seen in the wild: epoch milliseconds (as a number or a numeric string), a
naive ``YYYY-MM-DD HH:MM:SS`` with no zone (UTC unless ``api.timezone`` says
otherwise), and ISO 8601 with ``Z`` or an offset.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo

# Epoch numbers below this are taken as seconds: as milliseconds they would
# fall in 1973, before kie.ai existed, while as seconds they reach year 5138.
_SECONDS_CEILING = 100_000_000_000


def parse_time(value: object, naive_zone: tzinfo = UTC) -> datetime | None:
    """Return ``value`` as an aware datetime in UTC, or ``None`` if unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None

    text = value.strip()
    if not text:
        return None
    try:
        return _from_epoch(float(text))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_zone)
    return parsed.astimezone(UTC)


def _from_epoch(number: float) -> datetime | None:
    if not math.isfinite(number) or number <= 0:
        return None
    seconds = number if number < _SECONDS_CEILING else number / 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def iso_utc(moment: datetime | None) -> str | None:
    """Format as ISO 8601 UTC ending in ``Z`` (the JSON output's form)."""
    if moment is None:
        return None
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    text = text.removesuffix("+00:00") + "Z"
    return text.replace(".000Z", "Z")
