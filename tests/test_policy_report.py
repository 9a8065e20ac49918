"""The calibration report on a generated audit log whose answers are known by construction."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from hitl_tui.audit import AuditLog
from hitl_tui.cli.main import main
from hitl_tui.cli.report import report_command
from hitl_tui.config import BandConfig
from hitl_tui.identity import Operator
from hitl_tui.policy.report import bucket_of, build_report, outcome_of, read_log

PERSON = Operator(uid=2001, user="alice", host="testhost")
POLICY = Operator.policy("timeout", host="testhost")
HOSTILE = "evil\x1b]52;c;aGk=\x07\u202e-thread"

# (confidence, decision, how many, graph) for people's decisions; chosen so every answer below is known.
PEOPLE: list[tuple[float | None, str, int, str]] = [
    (0.95, "approve", 60, "g1"),
    (0.92, "approve", 39, "g1"), (0.92, "edit", 1, "g1"),
    (0.88, "approve", 20, "g1"),
    (0.85, "reject", 2, "g1"),
    (0.6, "approve", 5, "g2"), (0.6, "feedback", 1, "g2"),
    (0.35, "approve+reject", 1, "g1"), (0.35, "ignore", 1, "g1"),
    (0.3, "approve", 1, "g1"),
    (0.25, "reject", 30, "g1"), (0.25, "edit", 1, "g1"),
    (0.1, "reject", 20, "g1"),
    (0.05, "reject", 10, "g1"),
    (None, "approve", 2, "g1"),
    (1.7, "approve", 1, "g1"),  # not a confidence: counted as without one
]
BANDS = (BandConfig(auto_approve_at=0.5, graph="g2"), BandConfig(auto_approve_at=0.9, auto_reject_below=0.3))


def write_log(path: Path) -> None:
    log = AuditLog(path, durable=False)
    n = 0

    def add(event: str, actor: Operator, decision: str, confidence: Any, graph: str = "g1",
            thread: str | None = None) -> None:
        nonlocal n
        n += 1
        log.append({"event": event, "actor": actor.as_record(), "thread_id": thread or f"t-{n}", "graph_id": graph,
                    "action": "send_email", "decision": decision, "confidence": confidence})

    for confidence, decision, count, graph in PEOPLE:
        for i in range(count):
            hostile = decision == "edit" and confidence == 0.92 and i == 0
            add("decision", PERSON, decision, confidence, graph, thread=HOSTILE if hostile else None)
    add("auto_decision", Operator.policy("confidence_band"), "approve", 0.97)
    add("auto_decision", Operator.policy("confidence_band"), "reject", 0.1)
    add("timeout", POLICY, "reject", 0.5)
    add("decision", POLICY, "approve", 0.95)  # not a person: no evidence
    add("approval", PERSON, "approve", 0.95)  # a four-eyes vote, not a decision
    add("refused", PERSON, "approve", 0.95)
    add("outcome", POLICY, "approve", None)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "decisions.jsonl"
    write_log(path)
    return path


def as_json(path: Path, bands: tuple[BandConfig, ...] = BANDS) -> dict[str, Any]:
    records, bad = read_log(path)
    return build_report(records, path=str(path), bands=bands, unreadable=bad).as_dict()


def test_outcomes_and_buckets() -> None:
    assert [outcome_of(d) for d in ("approve", "approve+approve", "edit", "approve+edit", "feedback",
                                    "approve+reject", "edit+ignore", "", None, "maybe")] == \
        ["approved", "approved", "edited", "edited", "feedback", "rejected", "ignored", None, None, None]
    assert [bucket_of(c) for c in (0.0, 0.0999, 0.1, 0.3, 0.7, 0.9, 0.99, 1.0)] == [0, 0, 1, 3, 7, 9, 9, 9]


def test_counts_per_bucket(log_path: Path) -> None:
    data = as_json(log_path)
    assert (data["decisions"], data["without_confidence"], data["auto_decisions"], data["timeouts"]) == (195, 3, 2, 1)
    table = {b["label"]: (b["outcomes"], b["auto_approved"], b["auto_rejected"], b["timeouts"])
             for b in data["buckets"]}
    zero = dict.fromkeys(("approved", "edited", "feedback", "rejected", "ignored"), 0)
    assert table["0.0-0.1"] == ({**zero, "rejected": 10}, 0, 0, 0)
    assert table["0.1-0.2"] == ({**zero, "rejected": 20}, 0, 1, 0)
    assert table["0.2-0.3"] == ({**zero, "rejected": 30, "edited": 1}, 0, 0, 0)
    assert table["0.3-0.4"] == ({**zero, "approved": 1, "rejected": 1, "ignored": 1}, 0, 0, 0)
    assert table["0.5-0.6"] == (zero, 0, 0, 1)
    assert table["0.6-0.7"] == ({**zero, "approved": 5, "feedback": 1}, 0, 0, 0)
    assert table["0.8-0.9"] == ({**zero, "approved": 20, "rejected": 2}, 0, 0, 0)
    assert table["0.9-1.0"] == ({**zero, "approved": 99, "edited": 1}, 1, 0, 0)
    assert sum(b["decided"] for b in data["buckets"]) == 192


def test_the_configured_bands_are_checked_against_people(log_path: Path) -> None:
    band = as_json(log_path)["band"]
    # g2's own band approves its 0.6 items (one of which got feedback); g1's band approves >= 0.9.
    assert (band["auto_approved"], band["wrong_approved"]) == (106, {"edited": 1, "feedback": 1})
    assert (band["auto_rejected"], band["wrong_rejected"]) == (61, {"edited": 1})
    assert [e["person"] for e in band["examples"]] == ["edited", "feedback", "edited"]


def test_suggested_thresholds(log_path: Path) -> None:
    data = as_json(log_path)
    assert data["suggest_approve_at"] == {"threshold": 0.95, "covered": 60, "wrong": 0, "total": 192}
    assert data["lenient_approve_at"] == {"threshold": 0.88, "covered": 120, "wrong": 1, "total": 192}
    assert data["suggest_reject_below"] == {"threshold": 0.25, "covered": 30, "wrong": 0, "total": 192}
    assert data["lenient_reject_below"] == {"threshold": 0.3, "covered": 61, "wrong": 1, "total": 192}


def test_the_text_report_has_bars_and_shows_hostile_text_harmlessly(log_path: Path) -> None:
    out = io.StringIO()
    assert report_command(log_path, out, False) == 0
    text = out.getvalue()
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    top = next(line for line in text.splitlines() if line.startswith("0.9-1.0"))
    assert top.endswith("█" * 40 + "▓")  # the fullest bucket fills the width; the single edit still shows
    assert "auto_approve_at = 0.95" in text and "auto_reject_below = 0.25" in text
    assert "No confidence band is configured" in text  # no config given


def test_ascii_output_when_the_terminal_cant_draw_blocks(log_path: Path) -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    assert report_command(log_path, out, False) == 0
    out.flush()
    top = next(line for line in raw.getvalue().decode("ascii").splitlines() if line.startswith("0.9-1.0"))
    assert top.endswith("#" * 40 + "=")


def test_through_the_command_line_with_the_config_bands(log_path: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text("""
[[policy.band]]
graph = "g2"
auto_approve_at = 0.5

[[policy.band]]
auto_approve_at = 0.9
auto_reject_below = 0.3
""", encoding="utf-8")
    assert main(["report", "--config", str(config), "--json", str(log_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["band"]["auto_approved"] == 106
    assert main(["report", "--config", str(config), str(log_path)]) == 0
    text = capsys.readouterr().out
    assert "would have auto-approved 106, wrongly 2" in text and "g2/*: approve at >= 0.5" in text


@pytest.mark.parametrize("kind", ["missing", "folder", "garbage"])
def test_an_unreadable_log_is_one_sentence_and_exit_2(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "decisions.jsonl"
    if kind == "folder":
        path.mkdir()
    elif kind == "garbage":
        path.write_bytes(b"\x00\xff\xfe not json\n\x89PNG\r\n")
    out = io.StringIO()
    assert report_command(path, out, False) == 2
    text = out.getvalue()
    assert text.count("\n") == 1 and str(path) in text and "Traceback" not in text
    out = io.StringIO()
    assert report_command(path, out, True) == 2
    assert json.loads(out.getvalue())["ok"] is False


def test_an_empty_log_has_nothing_to_calibrate(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    path.write_text("", encoding="utf-8")
    out = io.StringIO()
    assert report_command(path, out, False) == 0
    assert "nothing to calibrate" in out.getvalue()


def test_unparseable_lines_are_skipped_and_counted(log_path: Path) -> None:
    with open(log_path, "ab") as fh:
        fh.write(b"{not json\n")
    records, bad = read_log(log_path)
    assert bad == 1 and build_report(records, unreadable=bad).decisions == 195
