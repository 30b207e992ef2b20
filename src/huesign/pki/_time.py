"""Times as Vietnamese readers see them: Vietnam time (UTC+7), day first.

One place for the format that stamps and report summaries show, so that a citizen reads the
same clock on the document and in the verdict.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["VIETNAM_TIME", "format_vietnam_time"]

#: Vietnam's time zone (UTC+7 all year, no daylight saving).
VIETNAM_TIME = dt.timezone(dt.timedelta(hours=7), "GMT+7")


def format_vietnam_time(when: dt.datetime, *, seconds: bool = False) -> str:
    """``when`` in Vietnam time, e.g. ``28/11/2026 17:05 (GMT+7)``.

    With ``seconds=True`` the seconds are shown too: ``28/11/2026 17:05:15 (GMT+7)``.

    Raises:
        ValueError: ``when`` is naive.
    """
    if when.tzinfo is None:
        raise ValueError("the time must be timezone-aware")
    pattern = "%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M"
    return f"{when.astimezone(VIETNAM_TIME).strftime(pattern)} (GMT+7)"
