"""Telling the operator something needs them: a new pending item, or one escalating towards its deadline (past 50%,
past 80%, overdue). No Textual here: this module decides WHAT to send and encodes it; the console only writes it.

Opt-in (`[notify]` in config.toml). The bell works everywhere. A desktop notification is an escape sequence only
some terminals understand -- OSC 9 (iTerm2, WezTerm, kitty, Ghostty) or OSC 777 (foot, urxvt) -- and an unknown
terminal might print it, so it is sent only to terminals recognised from the environment (or named in the config).
Inside tmux the sequence is wrapped for passthrough (tmux needs `set -g allow-passthrough on`).

The console's first read is the baseline: what was already waiting when it started rings nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hitl_tui.errors import ConfigError
from hitl_tui.safe_text import visible

PROTOCOLS = ("osc9", "osc777")
LEVELS = ("half", "urgent", "overdue")  # escalation levels worth telling (hitl_tui.policy.timeouts)
_LEVEL_WORDS = {"half": "half its time gone", "urgent": "80% of its time gone", "overdue": "overdue"}
MAX_TEXT = 160  # characters of one notification


@dataclass(frozen=True)
class NotifyConfig:
    """`[notify]` in config.toml."""

    enabled: bool = False  # opt-in: a console that beeps unasked is a console people mute
    bell: bool = True
    desktop: str = "auto"  # "auto" (recognised terminals only), "osc9", "osc777" or "off"
    new_items: bool = True
    escalations: bool = True


def parse_notify(data: Any) -> NotifyConfig:
    """The `[notify]` table, strictly: unknown keys and wrong types are one-sentence config errors."""
    if not isinstance(data, Mapping):
        raise ConfigError("Config section [notify] must be a table.")
    allowed = set(NotifyConfig.__dataclass_fields__)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"Unknown key {unknown[0]!r} in [notify]; allowed keys are: {', '.join(sorted(allowed))}.")
    for name in ("enabled", "bell", "new_items", "escalations"):
        if name in data and not isinstance(data[name], bool):
            raise ConfigError(f"notify.{name} must be true or false.")
    desktop = data.get("desktop", "auto")
    if desktop not in ("auto", "off", *PROTOCOLS):
        raise ConfigError("notify.desktop must be \"auto\", \"osc9\", \"osc777\" or \"off\".")
    return NotifyConfig(**dict(data))


def terminal_protocol(environ: Mapping[str, str]) -> str | None:
    """The desktop-notification sequence this terminal is known to understand, or None when unsure."""
    program = environ.get("TERM_PROGRAM", "")
    term = environ.get("TERM", "")
    if (program in ("iTerm.app", "WezTerm", "ghostty") or term == "xterm-kitty" or term == "xterm-ghostty"
            or any(k in environ for k in ("ITERM_SESSION_ID", "WEZTERM_PANE", "KITTY_WINDOW_ID",
                                           "GHOSTTY_RESOURCES_DIR"))):
        return "osc9"
    if term.startswith(("foot", "rxvt-unicode")):
        return "osc777"
    return None


@dataclass(frozen=True)
class WatchedItem:
    """What the notifier needs of one pending item."""

    key: str
    thread_id: str
    action: str
    level: str | None = None  # escalation level now (None: no deadline)


@dataclass(frozen=True)
class Notice:
    kind: str  # "new" | "escalation"
    text: str


@dataclass
class Notifier:
    """Turns successive views of the pending items into notices, each event once."""

    config: NotifyConfig
    _levels: dict[str, str | None] = field(default_factory=dict)
    _started: bool = False

    def observe(self, items: Iterable[WatchedItem]) -> list[Notice]:
        """Notices for what changed since the last view (none for the first view, the baseline)."""
        notices: list[Notice] = []
        levels: dict[str, str | None] = {}
        for item in items:
            levels[item.key] = item.level
            if not self._started or not self.config.enabled:
                continue
            if item.key not in self._levels:
                if self.config.new_items:
                    notices.append(Notice("new", f"new: {item.action} on {item.thread_id}"))
                continue
            before = self._levels[item.key]
            if self.config.escalations and _rank(item.level) > _rank(before) and item.level in LEVELS:
                notices.append(Notice("escalation", f"{_LEVEL_WORDS[item.level]}: {item.action} on "
                                                    f"{item.thread_id}"))
        self._levels = levels
        self._started = True
        return notices


def _rank(level: str | None) -> int:
    return LEVELS.index(level) + 1 if level in LEVELS else 0


def _clean(text: str) -> str:
    """Agent text (thread ids, action names) made inert inside an escape sequence: no control characters."""
    shown = visible(text)
    return shown if len(shown) <= MAX_TEXT else shown[: MAX_TEXT - 1] + "…"


def encode(notices: list[Notice], config: NotifyConfig, environ: Mapping[str, str]) -> str:
    """The characters to write to the terminal for these notices ("" when there is nothing to send)."""
    if not notices or not config.enabled:
        return ""
    out = "\a" if config.bell else ""  # one bell per burst, however many notices
    protocol = None if config.desktop == "off" else (
        terminal_protocol(environ) if config.desktop == "auto" else config.desktop)
    if protocol is None:
        return out
    summary = notices[0].text if len(notices) == 1 else f"{len(notices)} items need you; {notices[0].text}"
    body = _clean(summary)
    sequence = f"\x1b]9;hitl-tui: {body}\x07" if protocol == "osc9" else f"\x1b]777;notify;hitl-tui;{body}\x07"
    if environ.get("TMUX"):
        # tmux passes a DCS "tmux;" sequence through to the outer terminal, with each ESC doubled.
        sequence = "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return out + sequence
