"""Desktop notifications through tmux, in real terminals: the console runs inside tmux (which sets $TMUX, so
hitl_tui.notify wraps its OSC 9 for passthrough), and that tmux's client runs inside a second, outer tmux whose pane
output is recorded raw. The outer pane is the terminal the operator's tmux draws on: the OSC 9 must arrive there,
unwrapped, when `allow-passthrough` is on, and not at all when it is off (so the recording can tell the two apart).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from terminal import TMUX, Terminal, console_command, kill_server, row, unique_server
from test_ui_live import start_run
from ui_fixtures import DemoCopy

from hitl_tui.identity import current_operator

START_TIMEOUT = 40.0  # a cold start on a busy 2-core machine
NOTIFY_TIMEOUT = 30.0  # the new pause is read on the next poll; the agent run itself loads LangGraph
OSC9 = b"\x1b]9;hitl-tui: new: send_email on email-0077\x07"


@pytest.fixture
def servers() -> Iterator[tuple[str, str]]:
    inner, outer = unique_server(), unique_server()
    yield inner, outer
    kill_server(outer)
    kill_server(inner)


def notifying_config(demo: DemoCopy) -> None:
    """The demo's config with notifications on and OSC 9 named (tmux is no terminal `auto` would recognise)."""
    config = demo.directory / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[notify]\nenabled = true\ndesktop = "osc9"\n',
                      encoding="utf-8")


def console_inside_tmux_inside_tmux(servers: tuple[str, str], demo: DemoCopy, passthrough: str,
                                    recording: Path) -> Terminal:
    inner_server, outer_server = servers
    notifying_config(demo)
    inner = Terminal(inner_server, "console", console_command("--config", "config.toml"), demo.directory)
    inner.set_option("allow-passthrough", passthrough)
    inner.wait_for(lambda s: row(s, "email-0001") != "" and current_operator().display in s, START_TIMEOUT)
    # The operator's side: a tmux client attached to the console's session, drawing on the outer pane. TMUX is
    # unset, or tmux would refuse to nest.
    outer = Terminal(outer_server, "outer", ["env", "-u", "TMUX", str(TMUX), "-L", inner_server, "attach", "-t",
                                             "console"], demo.directory)
    outer.record_output(recording)
    outer.wait_for(lambda s: row(s, "email-0001") != "", 10)  # attached: the outer pane shows the console
    return inner


def pause_a_new_item(demo: DemoCopy, inner: Terminal) -> None:
    start_run(demo.db, "email_agent", "email-0077", "Email ops@example.com saying hi")
    inner.wait_for(lambda s: row(s, "email-0077") != "", NOTIFY_TIMEOUT)  # the console has read it


def recorded(path: Path, wanted: bytes, timeout: float = 10.0) -> bytes:
    """The outer pane's raw output, once it holds `wanted` (polled, no fixed sleep); fails with its tail."""
    deadline = time.monotonic() + timeout
    raw = b""
    while time.monotonic() < deadline:
        raw = path.read_bytes() if path.exists() else b""
        if wanted in raw:
            return raw
        time.sleep(0.05)
    raise AssertionError(f"the outer terminal never received {wanted!r}; its last output: {raw[-400:]!r}")


def test_osc9_passes_through_tmux_to_the_outer_terminal(servers: tuple[str, str], demo: DemoCopy,
                                                        tmp_path: Path) -> None:
    recording = tmp_path / "outer-pane.raw"
    inner = console_inside_tmux_inside_tmux(servers, demo, "on", recording)
    pause_a_new_item(demo, inner)
    raw = recorded(recording, OSC9)
    assert b"\x1bPtmux;" not in raw  # tmux unwrapped it: the outer terminal gets a plain OSC 9


def test_without_passthrough_tmux_keeps_it(servers: tuple[str, str], demo: DemoCopy, tmp_path: Path) -> None:
    recording = tmp_path / "outer-pane.raw"
    inner = console_inside_tmux_inside_tmux(servers, demo, "off", recording)
    pause_a_new_item(demo, inner)
    # The console writes the notification before it draws the new row, so once the row reached the outer terminal
    # the notification would have too.
    raw = recorded(recording, b"email-0077")
    assert b"]9;" not in raw
