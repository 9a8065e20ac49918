"""End to end, in a real terminal: tmux runs `hitl-tui` on a demo DB; keys go in with send-keys, the screen comes
back with capture-pane. Checked where it counts: the outbox (the agent's side effect), the audit log, and a second
console on the same DB."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from terminal import Terminal, console_command, kill_server, row, unique_server
from ui_fixtures import DemoCopy, write_hostile_db

from hitl_tui.audit import verify
from hitl_tui.identity import current_operator

START_TIMEOUT = 40.0  # a cold start on a busy 2-core machine
DECIDE_TIMEOUT = 60.0  # the first resume loads LangGraph and the demo graph


@pytest.fixture
def server() -> Iterator[str]:
    name = unique_server()
    yield name
    kill_server(name)


def open_console(server: str, name: str, demo: DemoCopy, *extra: str, **kw: object) -> Terminal:
    term = Terminal(server, name, console_command("--config", "config.toml", *extra), demo.directory, **kw)  # type: ignore[arg-type]
    term.wait_for(lambda s: row(s, "email-0001") != "" and "waiting" in s and "Quit" in s, START_TIMEOUT)
    return term


def effects(demo: DemoCopy, thread_id: str) -> list[dict]:
    return [line for line in demo.outbox_lines() if line.get("thread_id") == thread_id]


def test_approve_one_reject_another_in_a_real_terminal(server: str, demo: DemoCopy) -> None:
    term = open_console(server, "ops", demo)
    who = current_operator().display
    term.wait_for(who, START_TIMEOUT)  # the status line names the operator once the first read has finished
    # The cursor starts on the oldest pause, email-0001.
    term.send("a")
    term.wait_for(lambda s: "decision approve thread=email-0001" in s and "resumed" in row(s, "email-0001"),
                  DECIDE_TIMEOUT)
    # After a decision the cursor moves on to the next waiting item: email-0002.
    term.wait_for(re.compile(r"Thread email-0002"), 10)
    term.send("r")
    term.wait_for("Why? The agent receives this reason", 10)
    term.send("Enter")
    term.wait_for("A reason is required", 10)
    term.type("wrong recipient")
    term.send("Enter")
    term.wait_for("decision reject thread=email-0002", DECIDE_TIMEOUT)
    term.send("q")  # quits once the reject's resume has finished
    assert term.exit_status(DECIDE_TIMEOUT) == 0

    assert [e["effect"] for e in effects(demo, "email-0001")] == ["send_email"]
    assert effects(demo, "email-0002") == []
    records = demo.audit_records()
    decisions = [(r["event"], r.get("decision"), r.get("thread_id")) for r in records if r["event"] == "decision"]
    assert decisions == [("decision", "approve", "email-0001"), ("decision", "reject", "email-0002")]
    reject = next(r for r in records if r.get("decision") == "reject")
    assert reject.get("text") == "wrong recipient"
    assert all(r["actor"]["user"] == current_operator().user for r in records if r["event"] == "decision")
    assert verify(demo.audit).ok


def test_two_consoles_one_db(server: str, demo: DemoCopy) -> None:
    first = open_console(server, "first", demo)
    second = open_console(server, "second", demo)
    assert [row(first.screen(), t).split()[:2] for t in ("email-0001", "plan-0001", "inbox-0002")] == [
        row(second.screen(), t).split()[:2] for t in ("email-0001", "plan-0001", "inbox-0002")]

    first.send("a")  # approve email-0001 in the first console
    decided = _wait_for_decision_in_log(demo)
    second.wait_for(lambda s: "waiting" not in row(s, "email-0001") and row(s, "email-0001") != "", 5)
    seen_after = time.monotonic() - decided
    print(f"second console showed the decision {seen_after:.3f}s after it reached the audit log")
    assert seen_after < 1.0, f"the second console showed the decision after {seen_after:.2f}s"

    # The second console's cursor is still on email-0001: it says who decided, and its decision keys are off.
    who = current_operator().display
    second.wait_for(re.compile(r"Status: approved by " + re.escape(who)), 5)
    second.wait_for("Allowed: nothing", 5)
    second.send("a")  # disabled: nothing is submitted, so nothing is refused either
    first.wait_for(lambda s: "resumed" in row(s, "email-0001"), DECIDE_TIMEOUT)
    first.send("q")
    second.send("q")
    assert first.exit_status(DECIDE_TIMEOUT) == 0 and second.exit_status(DECIDE_TIMEOUT) == 0
    assert len(effects(demo, "email-0001")) == 1
    events = [(r["event"], r.get("thread_id")) for r in demo.audit_records()]
    assert events.count(("decision", "email-0001")) == 1 and ("refused", "email-0001") not in events


def _wait_for_decision_in_log(demo: DemoCopy, timeout: float = DECIDE_TIMEOUT) -> float:
    """When the decision reached the audit log (it is copied there right after the ledger commit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r.get("event") == "decision" for r in demo.audit_records()):
            return time.monotonic()
        time.sleep(0.01)
    raise AssertionError("no decision reached the audit log")


@pytest.mark.parametrize("term_name", ["xterm", "screen", "linux", "xterm-256color"])
def test_works_under_common_terminal_types(server: str, demo: DemoCopy, term_name: str) -> None:
    term = open_console(server, "t", demo, env={"TERM": term_name}, width=80, height=24)
    screen = term.screen()
    assert "Approve" in screen and "Quit" in screen and "Details" in screen
    term.send("j")
    term.wait_for("Thread email-0002", 10)
    term.send("?")
    term.wait_for("? / q / esc: Close help", 10)
    # Wait for the help to close: an escape followed at once by q reads as alt+q in a real terminal.
    term.send("Escape")
    term.wait_for(lambda s: "? / q / esc: Close help" not in s, 10)
    term.send("q")
    assert term.exit_status() == 0


def test_hostile_payload_cannot_drive_the_real_terminal(server: str, tmp_path: Path) -> None:
    write_hostile_db(tmp_path / "hostile.db")
    term = Terminal(server, "evil", console_command("--db", "hostile.db"), tmp_path)
    title_before = term.pane("#{pane_title}")
    screen = term.wait_for("FAKE APPROVED", START_TIMEOUT)
    assert "[bold red]FAKE APPROVED[/]" in screen  # markup shown, not applied
    assert "send\\x1b[2Jmail[bold]" in screen  # the escape is text on screen
    assert "evil\\x1b]0;t\\x07-thread" in screen
    # Nothing was interpreted by the terminal: no title change (OSC 0), no clipboard write (OSC 52).
    assert term.pane("#{pane_title}") == title_before
    assert "pwned" not in term.pane("#{pane_title}")
    buffers = term._tmux("list-buffers")
    assert "echo pwned" not in buffers and "ZWNobyBwd25lZA" not in buffers
    term.send("q")
    assert term.exit_status() == 0


def test_edit_in_editor_then_review_the_diff_and_submit(server: str, demo: DemoCopy) -> None:
    """$EDITOR takes over the terminal (here a non-interactive sed), the console comes back with its result."""
    editor = "sed -i s/dana@example.com/ops@example.com/"
    term = open_console(server, "ed", demo, env={"EDITOR": editor})
    term.send("e")
    term.wait_for("Edit send_email on thread email-0001", 10)
    term.send("C-o")
    term.wait_for('"to": "ops@example.com"', 20)
    term.send("C-s")
    screen = term.wait_for("These changes will be submitted", 10)
    assert '-  "to": "dana@example.com",' in screen and '+  "to": "ops@example.com",' in screen
    term.send("Enter")
    term.wait_for("decision edit thread=email-0001", DECIDE_TIMEOUT)
    term.wait_for(lambda s: "resumed" in row(s, "email-0001"), DECIDE_TIMEOUT)
    term.send("q")
    assert term.exit_status(DECIDE_TIMEOUT) == 0
    assert [e["args"]["to"] for e in effects(demo, "email-0001")] == ["ops@example.com"]


def test_marked_items_approved_together_in_a_real_terminal(server: str, demo: DemoCopy) -> None:
    term = open_console(server, "marks", demo)
    term.wait_for(current_operator().display, START_TIMEOUT)
    term.send("Space")  # the cursor starts on email-0001: marked, and down to email-0002
    term.wait_for(lambda s: "marked" in row(s, "email-0001"), 10)
    term.send("Space")
    term.wait_for(lambda s: "marked" in row(s, "email-0002"), 10)
    term.send("a")
    term.wait_for("2 marked item(s)", 10)
    term.send("y")
    term.wait_for(lambda s: "resumed" in row(s, "email-0001") and "resumed" in row(s, "email-0002"), DECIDE_TIMEOUT)
    term.send("q")
    assert term.exit_status(DECIDE_TIMEOUT) == 0
    assert len(effects(demo, "email-0001")) == 1 and len(effects(demo, "email-0002")) == 1
    decided = sorted(r["thread_id"] for r in demo.audit_records() if r["event"] == "decision")
    assert decided == ["email-0001", "email-0002"]
    assert verify(demo.audit).ok
