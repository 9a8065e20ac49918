"""Agent data as something safe to put on a terminal: plain `Text` and JSON text, never markup.

Everything that came from an agent goes through `visible()` (control characters made visible) and into a
`rich.text.Text` or a `Syntax` built from `json.dumps` of the data, so `[bold]` is shown literally and no escape
sequence from a payload can reach the terminal. Sizes are bounded so a 10 MB string or 200-deep nesting stays cheap
to show.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.style import Style
from rich.text import Text

from hitl_tui.checkpoints.context_messages import message_role, message_text
from hitl_tui.clock import age_text
from hitl_tui.model import MESSAGE_LINE_WIDTH, MESSAGES_SHOWN
from hitl_tui.safe_text import visible

MAX_STRING = 2_000  # characters of one string shown before it is cut
MAX_ITEMS = 100  # entries of one list/dict shown before it is cut
MAX_DEPTH = 24  # nesting shown before "…"
MAX_JSON = 40_000  # characters of pretty JSON handed to the highlighter


def safe(value: Any, *, keep_newlines: bool = False, limit: int = MAX_STRING, style: str | Style = "") -> Text:
    """Agent text as a `Text`: control characters visible, markup literal, long text cut."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text) - limit:,} more characters)"
    return Text(visible(text, keep_newlines=keep_newlines), style=style)


def one_line(value: Any, limit: int = 60) -> str:
    """A short single-line string for a table cell (newlines become visible `\\n`)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return visible(text)


def bounded(value: Any, depth: int = 0) -> Any:
    """A JSON-able copy of decoded data with long strings, big containers and deep nesting cut."""
    if depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, str):
        return value if len(value) <= MAX_STRING else value[:MAX_STRING] + f"… ({len(value) - MAX_STRING:,} more)"
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS:,} more keys"
                break
            out[str(k)] = bounded(v, depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        shown = [bounded(v, depth + 1) for v in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            shown.append(f"… {len(items) - MAX_ITEMS:,} more items")
        return shown
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    return repr(value)[:MAX_STRING]


def json_text(value: Any) -> str:
    """Pretty JSON of the data, safe to show: bounded, and with every control character visible."""
    text = json.dumps(bounded(value), indent=2, ensure_ascii=False)
    if len(text) > MAX_JSON:
        text = text[:MAX_JSON] + f"\n… ({len(text) - MAX_JSON:,} more characters)"
    # json.dumps escapes C0 controls inside strings but not C1 or bidi controls; newlines here are JSON's own.
    return visible(text, keep_newlines=True)


def json_view(value: Any) -> Any:
    """Syntax-highlighted JSON of agent data (a Rich renderable built from the data, not from markup)."""
    from rich.syntax import Syntax  # pygments is only needed once something is selected

    return Syntax(json_text(value), "json", theme="ansi_dark", word_wrap=True, background_color="default")


def deadline_text(deadline: datetime, now: datetime) -> str:
    """A deadline relative to now: "in 4m", or "overdue 2m" once it has passed."""
    if deadline > now:
        return f"in {age_text(now, deadline)}"
    return f"overdue {age_text(deadline, now)}"


def _message_content(msg: Any) -> str:
    text = message_text(msg)
    if text or isinstance(msg, str) or (isinstance(msg, list | tuple) and len(msg) == 2
                                        and all(isinstance(p, str) for p in msg)):
        return text
    if not isinstance(msg, Mapping):
        return json.dumps(bounded(msg), ensure_ascii=False)
    return json.dumps(bounded(msg), ensure_ascii=False)[:300]


def message_lines(
    messages: Sequence[Any], limit: int = MESSAGES_SHOWN, width: int = MESSAGE_LINE_WIDTH
) -> list[Text]:
    """The last few messages of a thread, one line each: "role: content"."""
    out = []
    for msg in list(messages)[-limit:]:
        line = Text(one_line(message_role(msg), 20) + ": ", style="bold")
        line.append(one_line(_message_content(msg), width))
        out.append(line)
    return out
