"""Editing arguments as JSON text: safe to show in an editor, validated on every change, diffed before submit.

No Textual here, so the rules are tested directly.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from hitl_tui.safe_text import json_for_terminal


def editable_json(value: Any) -> str:
    """Pretty JSON for the editor; every control or bidi character written as a JSON escape."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    return json_for_terminal(text)  # valid JSON still, parsing back to the very same data


@dataclass(frozen=True)
class ParsedEdit:
    value: Any = None
    error: str | None = None  # one sentence naming the line and column

    @property
    def ok(self) -> bool:
        return self.error is None


def parse_edit(text: str, *, require_object: bool) -> ParsedEdit:
    """The edited value, or one sentence saying what is wrong and where."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        return ParsedEdit(error=f"Not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}.")
    if require_object and not isinstance(value, dict):
        return ParsedEdit(error=f"The arguments must be a JSON object ({{...}}), not {_kind(value)}.")
    return ParsedEdit(value=value)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def diff_lines(original: Any, edited: Any) -> list[str]:
    """A unified diff of the pretty JSON of both values (empty when they are equal)."""
    before = editable_json(original).splitlines()
    after = editable_json(edited).splitlines()
    return list(difflib.unified_diff(before, after, "original", "edited", lineterm="", n=2))
