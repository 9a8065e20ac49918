"""Agent text is data: make every control character visible before it goes near a terminal.

ESC, C0 and C1 controls (0x9B included), DEL, and the bidi overrides/isolates that can reorder what an
operator reads are replaced by visible escapes (`\\x1b`, `\\u202e`). Newlines and tabs are kept where the
caller allows them. Markup is not interpreted here; the UI renders the result as `rich.text.Text`.
"""

from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\ufeff\ufff9-\ufffb]")
_UNSAFE_NO_NL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ufeff\ufff9-\ufffb]")


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every terminal control, C1 and bidi control shown as a visible escape."""
    pattern = _UNSAFE if keep_newlines else _UNSAFE_NO_NL
    # Lone surrogates (from invalid UTF-8 decoded with surrogateescape) can't be encoded to a terminal either.
    text = text.encode("utf-8", "backslashreplace").decode("utf-8") if _has_surrogates(text) else text
    return pattern.sub(_escape, text)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
