"""Unit tests for the console's pure parts: what is shown, the item list, JSON editing, column layout."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hitl_tui.clock import age_text
from hitl_tui.console.edit_json import diff_lines, editable_json, parse_edit
from hitl_tui.console.item_book import GHOST_TTL, ItemBook
from hitl_tui.console.review_items import item_key
from hitl_tui.console.shown import MAX_DEPTH, MAX_STRING, bounded, json_text, message_lines, safe
from hitl_tui.decisions.decision import Decision, DecisionRecord, DecisionState
from hitl_tui.decisions.resume_values import InvalidDecision
from hitl_tui.errors import DecisionRefused
from hitl_tui.model import ActionRequest, DecisionKind, PayloadShape, PendingInterrupt, PendingThread, ThreadStatus
from hitl_tui.ui.keys import keymap
from hitl_tui.ui.widgets.thread_list import columns_for

UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


# -- shown ------------------------------------------------------------------------------------------------------

@given(json_values)
@settings(max_examples=200, deadline=None)
def test_json_text_never_contains_a_control_character(value: object) -> None:
    assert UNSAFE.search(json_text(value)) is None


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_safe_text_never_contains_a_control_character_and_never_parses_markup(text: str) -> None:
    shown = safe(text, limit=10_000)
    assert UNSAFE.search(shown.plain) is None
    assert not shown.spans  # markup is never interpreted


def test_bounded_cuts_what_would_be_too_big_to_show() -> None:
    deep: object = "x"
    for _ in range(200):
        deep = [deep]
    big = bounded({"s": "A" * 5_000_000, "l": list(range(1000)), "d": deep})
    assert len(big["s"]) < MAX_STRING + 50 and big["s"].endswith("more)")
    assert big["l"][-1].endswith("more items")
    depth, node = 0, big["d"]
    while isinstance(node, list):
        node, depth = node[0], depth + 1
    assert depth < MAX_DEPTH and node == "…"


def test_markup_and_escapes_in_json_are_literal() -> None:
    text = json_text({"a": "[bold]x[/bold]\x1b[2J\u202e"})
    assert "[bold]x[/bold]" in text and "\\u001b[2J" in text and "\\u202e" in text


def test_age_text() -> None:
    assert [age_text(T0 - timedelta(seconds=s), T0) for s in (5, 125, 3 * 3600 + 300, 2 * 86400 + 4 * 3600)] == [
        "5s", "2m", "3h05m", "2d04h"]
    assert age_text(None, T0) == "?"
    assert age_text(T0 + timedelta(seconds=30), T0) == "0s"  # a clock behind the DB never shows negative ages


def test_message_lines_handle_every_shape() -> None:
    lines = message_lines([
        {"role": "user", "content": "hi [b]x[/b]"},
        {"__type__": "langchain_core.messages.ai.AIMessage", "content": "", "tool_calls": [{"name": "send"}]},
        ("user", "tuple form"),
        "plain \x1b]0;t\x07",
        {"type": "human", "content": [{"type": "text", "text": "blocks"}]},
    ])
    plain = [line.plain for line in lines]
    assert plain[0] == "user: hi [b]x[/b]"
    assert plain[1] == "ai: → tool calls: send"
    assert plain[2] == "user: tuple form"
    assert "\\x1b]0;t\\x07" in plain[3]
    assert plain[4] == "human: blocks"


# -- editing JSON --------------------------------------------------------------------------------------------

@given(json_values)
@settings(max_examples=300, deadline=None)
def test_editable_json_round_trips_and_shows_no_control_character(value: object) -> None:
    text = editable_json(value)
    assert UNSAFE.search(text.replace("\n", "")) is None
    assert json.loads(text) == value


def test_parse_edit_names_line_and_column() -> None:
    bad = parse_edit('{\n  "a": 1,\n}', require_object=True)
    assert not bad.ok and "line 3, column 1" in bad.error
    assert parse_edit("[1]", require_object=True).error == "The arguments must be a JSON object ({...}), not a list."
    assert parse_edit('"text"', require_object=False).value == "text"


def test_diff_shows_only_the_change() -> None:
    lines = diff_lines({"to": "a", "n": 1}, {"to": "b", "n": 1})
    assert '-  "to": "a",' in lines and '+  "to": "b",' in lines
    assert diff_lines({"a": 1}, {"a": 1}) == []


# -- the item list -------------------------------------------------------------------------------------------

def thread(tid: str, cid: str, *keys: str, status: ThreadStatus = ThreadStatus.PAUSED) -> PendingThread:
    interrupts = tuple(
        PendingInterrupt(interrupt_id=k, namespace="", node="review", value={"k": k}, shape=PayloadShape.HITL,
                         actions=(ActionRequest(name=f"act-{k}", args={"to": f"{k}@example.com"},
                                                allowed=frozenset({DecisionKind.APPROVE})),),
                         payload_hash=k, risk="high" if k == "risky" else None)
        for k in keys
    )
    return PendingThread(thread_id=tid, graph_id="g", checkpoint_id=cid, step=1, paused_at=T0,
                         next_nodes=("review",), status=status, interrupts=interrupts)


def record(tid: str, cid: str, key: str, at: datetime, state: DecisionState = DecisionState.FINISHED) -> DecisionRecord:
    return DecisionRecord(decision_id="d", thread_id=tid, checkpoint_id=cid, interrupt_key=key, graph_id="g",
                          decisions=(Decision(DecisionKind.APPROVE),), operator="alice@h", operator_uid=1,
                          decided_at=at, state=state)


def test_book_lists_one_row_per_interrupt_in_pause_order() -> None:
    book = ItemBook(clock=lambda: T0)
    book.set_threads([thread("b", "0002", "x", "y"), thread("a", "0001", "z"),
                      thread("c", "0003", status=ThreadStatus.RUNNING_OR_STALLED)])
    assert [(i.thread.thread_id, i.interrupt.key) for i in book.ordered()] == [("a", "z"), ("b", "x"), ("b", "y")]
    assert book.counts() == {"waiting": 3, "decided": 0, "unreadable": 0}


def test_a_decided_item_stays_listed_with_its_outcome_until_the_ttl() -> None:
    now = [T0]
    book = ItemBook(clock=lambda: now[0])
    book.set_threads([thread("a", "0001", "z"), thread("b", "0002", "y")])
    assert book.set_records([record("a", "0001", "z", T0)])
    book.set_threads([thread("b", "0002", "y")])  # "a" resumed and finished: gone from the DB's pending set
    ghost = book.items[item_key("a", "0001", "z")]
    assert not ghost.pending and ghost.status == "resumed"
    book.set_threads([thread("b", "0002", "y")])
    assert item_key("a", "0001", "z") in book.items
    now[0] = T0 + GHOST_TTL + timedelta(seconds=1)
    book.set_threads([thread("b", "0002", "y")])
    assert item_key("a", "0001", "z") not in book.items
    # Without a record, an item that leaves the pending set leaves the list.
    book.set_threads([])
    assert not book.items


def test_decided_by_someone_shows_who() -> None:
    book = ItemBook(clock=lambda: T0)
    book.set_threads([thread("a", "0001", "z")])
    book.set_records([record("a", "0001", "z", T0, DecisionState.DECIDED)])
    assert book.ordered()[0].status == "approved by alice"  # the host is in the details
    assert not book.set_records([record("a", "0001", "z", T0, DecisionState.DECIDED)])  # unchanged: no redraw


def test_filter_matches_every_word_anywhere() -> None:
    book = ItemBook(clock=lambda: T0)
    book.set_threads([thread("alpha", "0001", "risky"), thread("beta", "0002", "calm")])
    items = book.ordered()
    assert [i.thread.thread_id for i in items if i.matches("HIGH alpha")] == ["alpha"]
    assert [i.thread.thread_id for i in items if i.matches("calm@example.com")] == ["beta"]
    assert [i for i in items if i.matches("alpha calm")] == []
    assert items[0].high_risk and not items[1].high_risk


# -- layout and keys -----------------------------------------------------------------------------------------

def test_columns_fill_the_width_exactly() -> None:
    for width in (48, 54, 63, 64, 66, 80, 95, 96, 120, 200):  # below 48 the list is cropped
        cols = columns_for(width)
        total = sum(w for _, w in cols) + len(cols) - 1
        assert total == width
        assert ("graph" in [c.key for c, _ in cols]) == (width >= 96)
        assert ("conf" in [c.key for c, _ in cols]) == (width >= 64)


def test_keymap_passes_only_known_ids() -> None:
    assert keymap({"approve": "y", "reject": "x", "nonsense": "z"}) == {"approve": "y", "reject": "x"}


def test_incremental_updates_touch_only_the_changed_threads_and_keep_order() -> None:
    book = ItemBook(clock=lambda: T0)
    a, b = thread("a", "0001", "z"), thread("b", "0003", "y")
    assert book.set_threads([a, b]) == {item_key("a", "0001", "z"), item_key("b", "0003", "y")}
    before_a = book.items[item_key("a", "0001", "z")]
    c = thread("c", "0004", "w")  # a new, newest pause: appended
    assert book.set_threads([a, b, c], changed={"c"}) == {item_key("c", "0004", "w")}
    assert book.items[item_key("a", "0001", "z")] is before_a  # untouched rows are the same objects
    assert [i.thread.thread_id for i in book.ordered()] == ["a", "b", "c"]
    d = thread("d", "0002", "v")  # an older checkpoint arriving late: sorted into place
    book.set_threads([a, d, b, c], changed={"d"})
    assert [i.thread.thread_id for i in book.ordered()] == ["a", "d", "b", "c"]
    b2 = thread("b", "0005", "x")  # b paused again: its old row leaves (no record), the new one is last
    book.set_threads([a, d, c, b2], changed={"b"})
    assert [i.key for i in book.ordered()][-1] == item_key("b", "0005", "x")
    assert item_key("b", "0003", "y") not in book.items


def test_a_record_arriving_with_the_change_keeps_the_row_as_decided() -> None:
    book = ItemBook(clock=lambda: T0)
    book.set_threads([thread("a", "0001", "z")])
    book.set_records([record("a", "0001", "z", T0, DecisionState.RESUMING)])  # as the watcher sends them: first
    book.set_threads([], changed={"a"})
    assert book.ordered()[0].status == "resuming" and not book.ordered()[0].pending


def _recount(book: ItemBook) -> dict[str, int]:
    items = list(book.items.values())
    return {
        "waiting": sum(1 for i in items if i.record is None and i.interrupt is not None and i.pending),
        "decided": sum(1 for i in items if i.record is not None),
        "unreadable": sum(1 for i in items if i.record is None and i.interrupt is None),
    }


def test_counts_kept_as_rows_come_and_go_equal_a_recount() -> None:
    now = [T0]
    book = ItemBook(clock=lambda: now[0])
    steps = [
        lambda: book.set_threads([thread("a", "0001", "z", "w"), thread("b", "0002", "y"),
                                  thread("u", "0003", status=ThreadStatus.UNREADABLE)]),
        lambda: book.set_records([record("a", "0001", "z", T0, DecisionState.DECIDED)]),
        lambda: book.set_threads([thread("b", "0002", "y")], changed={"a"}),  # a left: its decided row stays
        lambda: book.set_local(item_key("b", "0002", "y"), "submitting"),
        lambda: book.set_threads([thread("c", "0000", "v")], changed={"c", "u"}),
        lambda: now.__setitem__(0, T0 + GHOST_TTL + timedelta(seconds=1)),
        lambda: book.set_threads([], changed={"b"}),
        lambda: book.set_local(item_key("b", "0002", "y"), None),
        lambda: book.set_threads([thread("c", "0000", "v")]),
    ]
    for step in steps:
        step()
        assert book.counts() == _recount(book)
    assert book.counts() == {"waiting": 1, "decided": 0, "unreadable": 0}


class _BurstDesk:
    """A desk that records what the decision thread asks of it."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.audit_error: str | None = None
        self.pending = False

    def decide(self, thread: object, interrupt: object, decisions: object, *, flush: bool = True) -> str:
        self.calls.append(f"decide flush={flush}")
        if decisions == ("invalid",):
            raise InvalidDecision("No such action.")
        self.pending = True
        return "ok"

    def decide_bulk(self, items: list[Any], *, flush: bool = True) -> list[Any]:
        self.calls.append(f"decide_bulk {len(items)} flush={flush}")
        if any(decisions == ("invalid",) for _, _, decisions in items):
            raise InvalidDecision("No such action.")
        self.pending = True
        return [DecisionRefused("Already decided.") if decisions == ("taken",) else "ok" for _, _, decisions in items]

    def flush_audit_if_due(self, *, idle: bool) -> bool:
        if not (self.pending and idle):
            return False
        self.pending = False
        self.calls.append("flush")
        return True

    def close(self) -> None:
        self.calls.append("close")


def _run_queued(jobs: list[Any]) -> tuple[_BurstDesk, list[Any]]:
    """Queue the jobs, start the decision thread, wait until it has logged the burst, stop it."""
    import threading

    from hitl_tui.console.decision_runner import DecisionRunner

    desk = _BurstDesk()
    seen: list[Any] = []
    runner = DecisionRunner(lambda: desk, seen.append)
    for job in jobs:
        runner.submit(job) if job is not None else runner.warm_up()
    worker = threading.Thread(target=runner.run)
    worker.start()
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while "flush" not in desk.calls and datetime.now(UTC) < deadline:
        threading.Event().wait(0.01)
    assert "flush" in desk.calls, "the burst was not logged while the decision thread waited for more"
    runner.stop()
    worker.join(10)
    return desk, seen


def _job(key: str, *decisions: Any) -> Any:
    from hitl_tui.console.decision_runner import DecisionJob

    paused = thread("t1", "0001", "a")
    return DecisionJob(key, paused, paused.interrupts[0], tuple(decisions))


def test_the_decision_thread_logs_a_burst_once_it_ends_whatever_else_was_queued() -> None:
    """Seen in the tmux test under load: a warm-up queued right behind a decision left its audit events unlogged
    until the next decision. And decisions waiting in the queue are recorded together (one commit)."""
    from hitl_tui.console.loop_events import DecisionOutcome, SourceProblem

    desk, seen = _run_queued([_job("k1"), _job("k2", "taken"), None])
    assert desk.calls == ["decide_bulk 2 flush=False", "flush", "close"]
    outcomes = [e for e in seen if isinstance(e, DecisionOutcome)]
    assert [(o.key, o.result, o.refused) for o in outcomes] == [("k1", "ok", None), ("k2", None, "Already decided.")]
    assert isinstance(seen[-1], SourceProblem) and seen[-1].source == "audit-write" and seen[-1].message is None


def test_an_invalid_decision_in_a_queued_group_does_not_hold_back_the_others() -> None:
    from hitl_tui.console.loop_events import DecisionOutcome

    desk, seen = _run_queued([_job("k1"), _job("k2", "invalid"), _job("k3")])
    assert desk.calls == ["decide_bulk 3 flush=False", "decide flush=False", "decide flush=False",
                          "decide flush=False", "flush", "close"]
    outcomes = {o.key: (o.result, o.error) for o in seen if isinstance(o, DecisionOutcome)}
    assert outcomes == {"k1": ("ok", None), "k2": (None, "No such action."), "k3": ("ok", None)}


def test_book_rows_view_follows_the_book_and_finds_keys_by_bisection() -> None:
    book = ItemBook(clock=lambda: T0)
    rows = book.rows()
    book.set_threads([thread("b", "0002", "x", "y"), thread("a", "0001", "z")])
    assert list(rows) == book.ordered() and len(rows) == 3
    assert [rows.index_of(it.key) for it in book.ordered()] == [0, 1, 2]
    assert rows.index_of("no-such-key") is None
    book.set_threads([thread("c", "0003", "w")], changed={"c", "a"})  # a finished, c paused
    assert list(rows) == book.ordered() == [rows[i] for i in range(len(rows))]
    assert rows.index_of(item_key("a", "0001", "z")) is None
    assert rows.index_of(item_key("c", "0003", "w")) == 2


def test_longest_status_counts_only_rows_that_say_more_than_waiting() -> None:
    book = ItemBook(clock=lambda: T0)
    book.set_threads([thread("a", "0001", "z"), thread("b", "0002", "y")])
    assert book.longest_status() == 0
    book.set_records([record("a", "0001", "z", T0, DecisionState.DECIDED)])
    decided = book.items[item_key("a", "0001", "z")]
    assert book.longest_status() == len(decided.status) > 0
    book.set_records([])
    assert book.longest_status() == 0


def test_a_listed_thread_keeps_what_a_message_line_shows_and_drops_the_rest() -> None:
    from hitl_tui.checkpoints.context_messages import MESSAGE_TEXT_KEPT, recent_messages

    ai = {"__type__": "langchain_core.messages.ai.AIMessage", "content": "x" * 5000, "id": "run-1",
          "response_metadata": {"model": "m", "tokens": list(range(100))}, "additional_kwargs": {"a": 1},
          "tool_calls": [{"name": "send_email", "args": {"to": "a@b"}, "id": "call-1"}]}
    human = {"__type__": "langchain_core.messages.human.HumanMessage", "content": [{"type": "text", "text": "hi"}]}
    bare = {"__type__": "some.Other", "payload": 1}
    slim = recent_messages({"messages": [ai, human, bare, ("user", "plain")]}, "messages")
    assert slim[0] == ("ai", "x" * MESSAGE_TEXT_KEPT)  # the tool calls' names are past what the line shows
    assert slim[1] == ("human", "hi")
    assert slim[2] == bare  # nothing a line could show: kept whole, shown as JSON
    assert slim[3] == ("user", "plain")
    assert [line.plain for line in message_lines(slim)] == [line.plain for line in message_lines(
        [ai, human, bare, ("user", "plain")])]  # the lines are those of the whole messages


@pytest.mark.parametrize("content", [
    "", "short", "y" * 299, "y" * 300, "y" * 301, "y" * 302, "a\nb" * 200, "é" * 400,
    [{"type": "text", "text": "p" * 250}, {"type": "text", "text": "q" * 250}],
    [{"type": "text", "text": "p" * 10}, "raw block " * 80],
])
@pytest.mark.parametrize("calls", [None, [{"name": "send_email", "args": {"to": "a@b"}}]])
def test_a_slimmed_message_shows_the_same_line_as_the_whole_one(content: Any, calls: Any) -> None:
    from hitl_tui.checkpoints.context_messages import recent_messages

    msg = {"__type__": "langchain_core.messages.ai.AIMessage", "content": content, "id": "run-1"}
    if calls:
        msg["tool_calls"] = calls
    slim = recent_messages({"messages": [msg]}, "messages")
    assert [line.plain for line in message_lines(slim)] == [line.plain for line in message_lines([msg])]


def test_odd_messages_show_the_same_line_slimmed() -> None:
    from hitl_tui.checkpoints.context_messages import recent_messages

    odd: list[Any] = ["", "plain text", ("user", "x" * 400), ("user", 5), 42, [1, 2, 3],
                      {"role": "tool", "content": ""}, {"content": "", "tool_calls": []}, {"type": 7, "content": "t"}]
    for msg in odd:
        slim = recent_messages({"messages": [msg]}, "messages")
        assert [line.plain for line in message_lines(slim)] == [line.plain for line in message_lines([msg])], msg
