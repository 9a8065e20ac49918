"""A thread's context: its last few messages, as the lines the details pane shows of them.

Read for one thread at a time, when an operator looks at it (`CheckpointReader.context`): a listing of 40k paused
threads keeps none of their chat history, so its memory does not grow with how long the agents' conversations are.
A decoded LangChain message also carries ids, response and usage metadata and additional kwargs; a context line
shows its role, its text and the names of the tools it calls. Each message is kept as that line's two parts,
`(role, text)`, with no more text than a line can show.
"""

from __future__ import annotations

from collections.abc import Mapping
from sys import intern
from typing import Any

from hitl_tui.config import GraphConfig
from hitl_tui.model import MESSAGE_LINE_WIDTH, MESSAGES_SHOWN

# A line shows a text's first MESSAGE_LINE_WIDTH - 1 characters and an ellipsis once it is longer than the width
# (console.shown.one_line): one character more than the width is all a line can tell from.
MESSAGE_TEXT_KEPT = MESSAGE_LINE_WIDTH + 1


def thread_context(checkpoint: Any, graph: GraphConfig | None) -> tuple[Any, ...]:
    """The recent messages in a decoded checkpoint's state (the graph's `messages_field`); () when it has none."""
    values = checkpoint.get("channel_values") if isinstance(checkpoint, Mapping) else None
    if not isinstance(values, Mapping):
        return ()
    return recent_messages(values, graph.messages_field if graph else "messages")


def recent_messages(values: Mapping[str, Any], field: str) -> tuple[Any, ...]:
    """The last MESSAGES_SHOWN messages of the state's `field`, slimmed (see `slim_message`)."""
    msgs = values.get(field)
    return tuple(slim_message(m) for m in msgs[-MESSAGES_SHOWN:]) if isinstance(msgs, list) else ()


def slim_message(msg: Any) -> Any:
    """What a context line shows of one message, as `(role, text)`; a message with no text to show is kept whole
    (its line shows it as JSON)."""
    text = message_text(msg)
    if not text:
        return msg
    return (intern(message_role(msg)), text[:MESSAGE_TEXT_KEPT])


def message_role(msg: Any) -> str:
    """Who said it: a LangChain message's type, a dict's role, the first of a ("user", "text") pair."""
    if isinstance(msg, Mapping):
        for key in ("type", "role"):
            if isinstance(msg.get(key), str):
                return str(msg[key])
        qualname = msg.get("__type__")
        if isinstance(qualname, str):
            return qualname.rsplit(".", 1)[-1].removesuffix("Message").lower() or "message"
        return "message"
    if isinstance(msg, list | tuple) and len(msg) == 2 and isinstance(msg[0], str):
        return msg[0]
    return "message"


def message_text(msg: Any) -> str:
    """The text a line shows of a message: its content (text blocks joined) and the tools it calls; "" when it
    has none."""
    if isinstance(msg, str):
        return msg
    if isinstance(msg, list | tuple) and len(msg) == 2 and all(isinstance(p, str) for p in msg):
        return str(msg[1])  # ("user", "text") pairs
    if not isinstance(msg, Mapping):
        return ""
    content = msg.get("content")
    if isinstance(content, list):  # content blocks
        parts = [p.get("text", "") if isinstance(p, Mapping) else str(p) for p in content]
        content = " ".join(p for p in parts if p)
    text = content if isinstance(content, str) else ""
    calls = msg.get("tool_calls")
    if isinstance(calls, list) and calls:
        names = [str(c.get("name", "?")) for c in calls if isinstance(c, Mapping)]
        text = (text + " " if text else "") + f"→ tool calls: {', '.join(names)}"
    return text
