"""Two consoles on one DB in real terminals (tmux): a four-eyes approval given in one shows as "approved 1/2" in
both, read from the shared ledger, and neither lets the same operator approve it a second time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from terminal import Terminal, console_command, kill_server, unique_server
from ui_fixtures import DemoCopy

from hitl_tui.identity import current_operator

START_TIMEOUT = 40.0  # a cold start on a busy 2-core machine
DECIDE_TIMEOUT = 60.0  # the first decision loads the desk
FOUR_EYES = "subgraph-0002"  # the demo's critical transfer (over 10,000): two approvals needed


def row(screen: str, thread_id: str) -> str:
    """The list row of a thread (not the status line, which names it too while the list is filtered)."""
    return next((line for line in screen.splitlines() if f" {thread_id} " in line and "filter" not in line), "")


def filter_to(term: Terminal, text: str) -> None:
    """Open the filter and type into it once it has the focus (typed too early, letters would be list keys)."""
    term.send("/")
    term.wait_for("filter: words that must all appear", 10)
    term.type(text)
    term.wait_for(f"/ {text}", 10)


@pytest.fixture
def server() -> Iterator[str]:
    name = unique_server()
    yield name
    kill_server(name)


def open_console(server: str, name: str, demo: DemoCopy) -> Terminal:
    term = Terminal(server, name, console_command("--config", "config.toml"), demo.directory)
    term.wait_for(lambda s: row(s, FOUR_EYES) != "" and current_operator().display in s, START_TIMEOUT)
    return term


def test_a_four_eyes_vote_shows_in_both_consoles(server: str, demo: DemoCopy) -> None:
    first = open_console(server, "first", demo)
    second = open_console(server, "second", demo)
    assert "waiting" in row(second.screen(), FOUR_EYES)

    filter_to(first, FOUR_EYES)
    first.send("Enter")
    first.wait_for(f"Thread {FOUR_EYES}", 10)
    first.send("a")
    first.wait_for("Confirm: this action is critical risk", 10)
    first.send("y")
    first.wait_for(lambda s: "approved 1/2" in row(s, FOUR_EYES), DECIDE_TIMEOUT)
    # The other console never saw the vote being cast: it reads it from the ledger.
    second.wait_for(lambda s: "approved 1/2" in row(s, FOUR_EYES), 10)
    first.wait_for("approved 1/2 by", 10)  # the details say who (exactly: tests/test_ui_hazards.py)

    # The same operator in the second console may not approve again: the key is off, nothing is recorded.
    filter_to(second, FOUR_EYES)
    second.send("Enter")
    second.wait_for("approved 1/2 by", 10)
    second.send("a")
    assert "Confirm" not in second.screen()
    first.send("q")
    second.send("q")
    assert first.exit_status(DECIDE_TIMEOUT) == 0 and second.exit_status(DECIDE_TIMEOUT) == 0
    votes = [r for r in demo.audit_records() if r.get("thread_id") == FOUR_EYES]
    assert [r["event"] for r in votes] == ["approval"] and demo.outbox_lines() == []
