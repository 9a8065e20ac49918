"""`hitl-tui report`: is our confidence threshold right? Answered from the audit log's real decisions.

For each confidence bucket (0.0-0.1 ... 0.9-1.0) it counts how operators decided the items agents were that
sure about -- approved as-is, edited, feedback, rejected, ignored -- then checks the configured band against
them and suggests thresholds:

- A band auto-approve is WRONG where a person did anything but approve as-is (edit, feedback, reject,
  ignore): the agent would have acted on something a person did not accept.
- A band auto-reject is WRONG where a person let the action run (approved, or edited then approved).
- Suggested `auto_approve_at`: the lowest confidence at which every decision at or above it was an as-is
  approval (and a lenient variant allowing 2% mistakes). Suggested `auto_reject_below`: the highest value
  below which no decision let the action run (and 2% lenient). Both come with how many decisions back them.

Only people's decisions count as evidence (event "decision" by a human actor); auto-decisions and timeouts
are counted separately, since they say nothing about what a person would have done.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hitl_tui.config import BandConfig
from hitl_tui.policy.band import band_verdict, confidence_value, select_band

OUTCOMES: tuple[str, ...] = ("approved", "edited", "feedback", "rejected", "ignored")
LET_RUN = frozenset({"approved", "edited"})
BUCKETS = 10
LENIENT = 0.02


class ReportError(Exception):
    """The audit log can't be read; `message` is one sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def outcome_of(decision: Any) -> str | None:
    """One outcome for a decision string ("approve", "approve+reject" for batches...), the least accepting wins."""
    if not isinstance(decision, str) or not decision:
        return None
    kinds = set(decision.split("+"))
    for kind, outcome in (("reject", "rejected"), ("ignore", "ignored"), ("feedback", "feedback"),
                          ("edit", "edited")):
        if kind in kinds:
            return outcome
    return "approved" if kinds == {"approve"} else None


def bucket_of(confidence: float) -> int:
    """0 for [0.0, 0.1) ... 9 for [0.9, 1.0]; rounding first so 0.3 lands in 0.3-0.4 despite binary floats."""
    return min(math.floor(round(confidence * BUCKETS, 9)), BUCKETS - 1)


def bucket_label(index: int) -> str:
    return f"{index / BUCKETS:.1f}-{(index + 1) / BUCKETS:.1f}"


@dataclass(frozen=True)
class Point:
    """One person's decision on an item with a confidence."""

    confidence: float
    outcome: str
    graph_id: str | None
    action: str | None
    thread_id: str | None


@dataclass
class Bucket:
    label: str
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    auto_approved: int = 0
    auto_rejected: int = 0
    timeouts: int = 0

    @property
    def decided(self) -> int:
        return sum(self.outcomes.values())


@dataclass(frozen=True)
class Suggestion:
    threshold: float
    covered: int  # decisions the threshold would have auto-decided
    wrong: int  # of those, how many a person decided differently
    total: int  # decisions considered


@dataclass
class BandCheck:
    """How the configured band(s) would have done on the people's decisions."""

    bands: list[dict[str, Any]] = field(default_factory=list)
    auto_approved: int = 0
    wrong_approved: dict[str, int] = field(default_factory=dict)  # outcome -> count
    auto_rejected: int = 0
    wrong_rejected: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)  # a few wrong ones, for a person to look at


@dataclass
class Report:
    path: str
    buckets: list[Bucket]
    decisions: int = 0
    without_confidence: int = 0
    auto_decisions: int = 0
    timeouts: int = 0
    unreadable_lines: int = 0
    band: BandCheck | None = None
    suggest_approve_at: Suggestion | None = None
    suggest_reject_below: Suggestion | None = None
    lenient_approve_at: Suggestion | None = None
    lenient_reject_below: Suggestion | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for b, src in zip(data["buckets"], self.buckets, strict=True):
            b["decided"] = src.decided
        data["lenient_tolerance"] = LENIENT
        return data


# -- reading ---------------------------------------------------------------------------------------------------


def read_log(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Parsed records and the count of lines that were not JSON objects; ReportError when unreadable."""
    records, bad = [], 0
    try:
        with open(path, "rb") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except ValueError:  # includes UnicodeDecodeError
                    record = None
                if isinstance(record, dict):
                    records.append(record)
                elif line.strip():
                    bad += 1
    except FileNotFoundError:
        raise ReportError(f"The audit log {path} does not exist; decisions are written there once made.") from None
    except IsADirectoryError:
        raise ReportError(f"{path} is a folder, not an audit log file.") from None
    except OSError as err:
        raise ReportError(f"The audit log {path} can't be read: {err.strerror}.") from None
    if bad and not records:
        raise ReportError(f"{path} is not an audit log: none of its {bad} lines is a JSON record.")
    return records, bad


def _is_human(record: dict[str, Any]) -> bool:
    actor = record.get("actor")
    return not isinstance(actor, dict) or actor.get("kind", "human") == "human"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# -- computing -------------------------------------------------------------------------------------------------


def build_report(
    records: Iterable[dict[str, Any]], *, path: str = "", bands: Sequence[BandConfig] = (), unreadable: int = 0
) -> Report:
    """The calibration report over audit records; `bands` are checked against people's decisions."""
    report = Report(path=path, buckets=[Bucket(bucket_label(i)) for i in range(BUCKETS)], unreadable_lines=unreadable)
    points: list[Point] = []
    for record in records:
        event = record.get("event")
        confidence = confidence_value(record.get("confidence"))
        if event == "auto_decision":
            report.auto_decisions += 1
            if confidence is not None:
                b = report.buckets[bucket_of(confidence)]
                if record.get("decision") == "approve":
                    b.auto_approved += 1
                else:
                    b.auto_rejected += 1
        elif event == "timeout":
            report.timeouts += 1
            if confidence is not None:
                report.buckets[bucket_of(confidence)].timeouts += 1
        elif event == "decision" and _is_human(record):
            outcome = outcome_of(record.get("decision"))
            if outcome is None:
                continue
            report.decisions += 1
            if confidence is None:
                report.without_confidence += 1
                continue
            report.buckets[bucket_of(confidence)].outcomes[outcome] += 1
            points.append(Point(confidence, outcome, _str(record.get("graph_id")), _str(record.get("action")),
                                _str(record.get("thread_id"))))
    if bands:
        report.band = check_bands(points, tuple(bands))
    report.suggest_approve_at = suggest_approve_at(points, 0.0)
    report.suggest_reject_below = suggest_reject_below(points, 0.0)
    report.lenient_approve_at = suggest_approve_at(points, LENIENT)
    report.lenient_reject_below = suggest_reject_below(points, LENIENT)
    for strict, lenient in (("suggest_approve_at", "lenient_approve_at"),
                            ("suggest_reject_below", "lenient_reject_below")):
        if getattr(report, strict) == getattr(report, lenient):
            setattr(report, lenient, None)  # saying the same thing twice helps nobody
    return report


def check_bands(points: Sequence[Point], bands: tuple[BandConfig, ...]) -> BandCheck:
    """Apply the configured bands (first match per graph and action, like the agent) to every decision."""
    check = BandCheck(bands=[asdict(b) for b in bands])
    for p in points:
        band = select_band(bands, p.graph_id, p.action or "")
        verdict = band_verdict(band, p.confidence)
        wrong = None
        if verdict == "approve":
            check.auto_approved += 1
            if p.outcome != "approved":
                check.wrong_approved[p.outcome] = check.wrong_approved.get(p.outcome, 0) + 1
                wrong = "auto-approve"
        elif verdict == "reject":
            check.auto_rejected += 1
            if p.outcome in LET_RUN:
                check.wrong_rejected[p.outcome] = check.wrong_rejected.get(p.outcome, 0) + 1
                wrong = "auto-reject"
        if wrong and len(check.examples) < 5:
            check.examples.append({"thread_id": p.thread_id, "graph_id": p.graph_id, "action": p.action,
                                   "confidence": p.confidence, "person": p.outcome, "band": wrong})
    return check


def _groups_desc(points: Sequence[Point]) -> Iterator[tuple[float, list[Point]]]:
    ordered = sorted(points, key=lambda p: -p.confidence)
    i = 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j].confidence == ordered[i].confidence:
            j += 1
        yield ordered[i].confidence, ordered[i:j]
        i = j


def suggest_approve_at(points: Sequence[Point], tolerance: float) -> Suggestion | None:
    """The lowest threshold whose auto-approvals would have been wrong at most `tolerance` of the time."""
    best, covered, wrong = None, 0, 0
    for value, group in _groups_desc(points):  # from the most confident down: `>=` takes whole groups
        covered += len(group)
        wrong += sum(p.outcome != "approved" for p in group)
        if wrong <= tolerance * covered:
            best = Suggestion(value, covered, wrong, len(points))
    return best


def suggest_reject_below(points: Sequence[Point], tolerance: float) -> Suggestion | None:
    """The highest threshold whose auto-rejects would have stopped a run a person allowed at most `tolerance`."""
    ordered = sorted(points, key=lambda p: p.confidence)
    best, covered, wrong = None, 0, 0
    i = 0
    while i < len(ordered):
        value = ordered[i].confidence
        # reject_below = value covers everything strictly below it: the points counted so far.
        if covered and wrong <= tolerance * covered:
            best = Suggestion(value, covered, wrong, len(points))
        while i < len(ordered) and ordered[i].confidence == value:
            covered += 1
            wrong += ordered[i].outcome in LET_RUN
            i += 1
    return best
