"""`hitl-tui watch --jsonl` in real processes: an agent pausing, a decision from another process, deadlines
escalating, and clean exits (0, no traceback) on SIGINT and when the pipe's reader goes away."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_decisions import CRASHY, Env

from hitl_tui.decisions.decision import DecisionState
from hitl_tui.model import DecisionKind

EXE = Path(sys.executable).with_name("hitl-tui")
WAIT = 60.0
DEADLINE_RULE = '\n[[policy.rule]]\naction = "ship"\ndeadline_seconds = 3\n'


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE")}


class Watch:
    """A `hitl-tui watch --jsonl` process and the events it printed so far."""

    def __init__(self, config: Path, *options: str) -> None:
        self.proc = subprocess.Popen([str(EXE), "watch", "--jsonl", "--config", str(config), *options], text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_environment())
        self.events: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.events.append(json.loads(line))
                self._changed.notify_all()

    def wait_for(self, wanted: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        with self._changed:
            found = self._changed.wait_for(lambda: next((e for e in self.events if wanted(e)), None), WAIT)
        assert found, f"no {what} in {self.events}"
        return found

    def of(self, thread_id: str) -> list[str]:
        return [e["event"] for e in self.events if e["thread_id"] == thread_id]


@pytest.fixture
def watch_config(env: Env) -> Path:
    with open(env.config_path, "a", encoding="utf-8") as fh:
        fh.write(DEADLINE_RULE)
    return env.config_path


@pytest.fixture
def watching(watch_config: Path) -> Iterator[Callable[[], Watch]]:
    started: list[Watch] = []
    yield lambda: started.append(Watch(watch_config)) or started[-1]  # type: ignore[func-returns-value]
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()


def test_the_stream_shows_pauses_decisions_resumes_and_escalations(
    env: Env, watching: Callable[[], Watch]
) -> None:
    [before] = env.start(CRASHY)
    watch = watching()  # started after that pause: it is backlog
    first = watch.wait_for(lambda e: e["thread_id"] == before, "paused event for the waiting thread")
    assert (first["event"], first["backlog"], first["action"]) == ("paused", True, "ship")
    [after] = env.start(CRASHY)  # an agent pausing while the watch runs
    paused = watch.wait_for(lambda e: e["thread_id"] == after and e["event"] == "paused", "new pause")
    assert paused["backlog"] is False and paused["graph_id"] == CRASHY
    watch.wait_for(lambda e: e["thread_id"] == after and e.get("level") == "overdue", "overdue escalation")
    # Each level once, in order; a level already passed when the pause was first seen comes with the pause.
    levels = [e["level"] for e in watch.events if e["thread_id"] == after and e["event"] in ("paused", "escalated")]
    reached = [lv for lv in levels if lv is not None]
    assert levels[-1] == "overdue" and reached == ["50%", "80%", "overdue"][-len(reached):]
    # A decision from another process, resumed there.
    decided = subprocess.run([str(EXE), "approve", after, "--config", str(env.config_path)], capture_output=True,
                             text=True, timeout=WAIT, env=clean_environment())
    assert decided.returncode == 0, decided.stderr
    resumed = watch.wait_for(lambda e: e["thread_id"] == after and e["event"] == "resumed", "resumed event")
    assert resumed["outcome"] == DecisionState.FINISHED.value and resumed["decision"] == DecisionKind.APPROVE.value
    events = watch.of(after)
    assert events[0] == "paused" and events[-1] == "resumed" and "decided" in events
    assert events.index("decided") > events.index("escalated")
    assert events.count("paused") == 1 and events.count("decided") == 1
    assert "decided" not in watch.of(before)
    watch.proc.send_signal(signal.SIGINT)
    assert watch.proc.wait(timeout=WAIT) == 0
    assert watch.proc.stderr is not None and watch.proc.stderr.read() == ""


def pipeline(config: Path, reader: str, tmp_path: Path) -> tuple[str, list[str], str]:
    """`hitl-tui watch --jsonl | READER` in bash: what the reader printed, both exit codes, watch's stderr."""
    err = tmp_path / "watch.err"
    script = f'"{EXE}" watch --jsonl --config "{config}" 2>"{err}" | {reader}; echo "codes ${{PIPESTATUS[*]}}"'
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=WAIT,
                          env=clean_environment())
    *printed, codes = done.stdout.splitlines()
    return "\n".join(printed), codes.split()[1:], err.read_text()


def test_head_dash_1_ends_the_watch_cleanly(env: Env, watch_config: Path, tmp_path: Path) -> None:
    env.start(CRASHY, 2)
    printed, codes, err = pipeline(watch_config, "head -1", tmp_path)
    assert json.loads(printed)["event"] == "paused"
    assert codes == ["0", "0"] and err == ""


def test_a_reader_gone_before_any_event_ends_the_watch_cleanly(env: Env, watch_config: Path, tmp_path: Path) -> None:
    printed, codes, err = pipeline(watch_config, "true", tmp_path)  # nothing paused: no event is ever written
    assert (printed, codes, err) == ("", ["0", "0"], "")
    env.start(CRASHY)
    printed, codes, err = pipeline(watch_config, "true", tmp_path)  # the first write finds the pipe closed
    assert (printed, codes, err) == ("", ["0", "0"], "")


def record(state: DecisionState, *, error: str | None = None) -> Any:
    from datetime import UTC, datetime

    from hitl_tui.decisions.decision import Decision, DecisionRecord

    return DecisionRecord("d-1", "t-1", "c-1", "i-1", CRASHY, (Decision(DecisionKind.REJECT, 0, None, "no"),),
                          "olivia@host", 1000, datetime(2026, 1, 2, tzinfo=UTC), state, error)


def test_each_change_of_a_decision_is_one_event_and_history_is_not_news() -> None:
    from datetime import UTC, datetime

    from hitl_tui.config import Config
    from hitl_tui.console.watch_events import EventTracker

    tracker = EventTracker(Config(), lambda: datetime(2026, 1, 3, tzinfo=UTC))
    assert tracker.records_read((record(DecisionState.FINISHED),)) == []  # decided before the watch started
    tracker = EventTracker(Config(), lambda: datetime(2026, 1, 3, tzinfo=UTC))
    assert tracker.records_read(()) == []
    [decided] = tracker.records_read((record(DecisionState.DECIDED),))
    assert (decided["event"], decided["decision"], decided["decided_by"]) == ("decided", "reject", "olivia@host")
    assert tracker.records_read((record(DecisionState.DECIDED),)) == []
    assert [e["event"] for e in tracker.records_read((record(DecisionState.RESUMING),))] == ["resuming"]
    [failed] = tracker.records_read((record(DecisionState.FAILED, error="GraphLoadError: no module"),))
    assert (failed["event"], failed["error"]) == ("failed", "GraphLoadError: no module")
    fresh = EventTracker(Config(), lambda: datetime(2026, 1, 3, tzinfo=UTC))
    fresh.records_read(())
    assert [e["event"] for e in fresh.records_read((record(DecisionState.IN_DOUBT, error="resumer died"),))] == [
        "decided", "in_doubt"]  # decided and given up between two looks: both are said


def test_agent_text_in_events_cant_reach_the_terminal_raw() -> None:
    from hitl_tui.cli.watch import as_line

    hostile = "send\x1b]52;c;aGk=\x07\x9b2J\u202eevil[bold]"
    event = {"event": "paused", "at": "2026-01-03T04:05:06+00:00", "thread_id": "t\x1b[2J-1", "action": hostile}
    for jsonl in (True, False):
        line = as_line(event, jsonl=jsonl)
        assert not any(ch in line for ch in "\x1b\x07\x9b\u202e"), repr(line)
    assert json.loads(as_line(event, jsonl=True))["action"] == hostile  # the data itself is intact
    assert as_line(event, jsonl=False).startswith("04:05:06 paused    t")
