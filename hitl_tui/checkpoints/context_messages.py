"""A listed thread's context: its last few messages, kept as much as the details pane shows of them.

A decoded LangChain message also carries ids, response and usage metadata and additional kwargs; a context line
shows its role, its text and the names of the tools it calls. Keeping only those (and no more text than a line can
show) keeps the memory of a long backlog to its payloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hitl_tui.model import MESSAGE_LINE_WIDTH, MESSAGES_SHOWN

_MESSAGE_KEYS = ("__type__", "type", "role", "name", "content", "tool_calls")
# Twice a line's width: the line collapses runs of whitespace before it cuts.
MESSAGE_TEXT_KEPT = 2 * MESSAGE_LINE_WIDTH


def recent_messages(values: Mapping[str, Any], field: str) -> tuple[Any, ...]:
    """The last MESSAGES_SHOWN messages of the state's `field`, slimmed (see `slim_message`)."""
    msgs = values.get(field)
    return tuple(slim_message(m) for m in msgs[-MESSAGES_SHOWN:]) if isinstance(msgs, list) else ()


def slim_message(msg: Any) -> Any:
    """What a context line shows of one message; a message with nothing showable is kept whole (shown as JSON)."""
    if not isinstance(msg, Mapping):
        return msg[:MESSAGE_TEXT_KEPT] if isinstance(msg, str) else msg
    slim = {k: msg[k] for k in _MESSAGE_KEYS if k in msg}
    content = slim.get("content")
    keep = MESSAGE_TEXT_KEPT
    if isinstance(content, str):
        slim["content"] = content[:keep]
    elif isinstance(content, list):
        slim["content"] = [{"text": str(p.get("text", ""))[:keep]} if isinstance(p, Mapping) else str(p)[:keep]
                           for p in content]
    calls = slim.get("tool_calls")
    if isinstance(calls, list):
        slim["tool_calls"] = [{"name": c.get("name", "?")} if isinstance(c, Mapping) else c for c in calls]
    if len(slim) < len(msg) and not slim.get("content") and not slim.get("tool_calls"):
        return msg
    return slim
