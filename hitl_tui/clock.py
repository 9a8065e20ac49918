"""Time: the one clock type (everything that stamps or compares times takes one, so tests can freeze it) and
how long ago something was, as every view writes it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock: now, in UTC."""
    return datetime.now(UTC)


def age_text(since: datetime | None, now: datetime, *, one_unit: bool = False) -> str:
    """How long ago, compactly: 42s, 7m, 3h05m, 2d04h; `one_unit` keeps the largest unit only (3h, 2d), as the
    `list` table does. A clock behind the DB never shows a negative age."""
    if since is None:
        return "?"
    secs = max(0, int((now - since).total_seconds()))
    if secs < 60:
        return f"{secs}s"
    if secs < 3600:
        return f"{secs // 60}m"
    if secs < 86400:
        return f"{secs // 3600}h" if one_unit else f"{secs // 3600}h{(secs % 3600) // 60:02d}m"
    return f"{secs // 86400}d" if one_unit else f"{secs // 86400}d{(secs % 86400) // 3600:02d}h"
