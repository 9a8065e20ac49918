"""Agent text is data: make every control character visible before it goes near a terminal.

ESC, C0 and C1 controls (0x9B included), DEL, and the bidi overrides/isolates that can reorder what an
operator reads are replaced by visible escapes (`\\x1b`, `\\u202e`). Newlines and tabs are kept where the
caller allows them. Markup is not interpreted here; the UI renders the result as `rich.text.Text`.
"""

from __future__ import annotations

import re

# The one definition of what must not reach a terminal raw: C0 (newline and tab where allowed), DEL and C1 (0x9B
# is a one-byte CSI), bidi overrides and isolates, BOM and interlinear annotation marks.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_INVISIBLE = f"\x7f-\x9f{_BIDI}\ufeff\ufff9-\ufffb"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f{_INVISIBLE}]")
_UNSAFE_NO_NL = re.compile(f"[\x00-\x1f{_INVISIBLE}]")
# Inside JSON text: JSON escapes C0 itself; the rest (and line separators, lone surrogates) only sit in strings,
# so writing them as \uXXXX keeps the text valid JSON that parses back to the very same data.
_RAW_IN_JSON = re.compile(f"[{_INVISIBLE}\u2028\u2029\ud800-\udfff]")


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


def json_for_terminal(text: str) -> str:
    """JSON text with C1, DEL and bidi controls written as `\\uXXXX` escapes: the same JSON, safe to print."""
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
