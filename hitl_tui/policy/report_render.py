"""The calibration report as terminal text: a table per confidence bucket with stacked bars.

Everything that came from the log (graph ids, actions, thread ids) passes through `safe_text.visible`, so a
hostile agent string can't drive the terminal. Bars use block characters when the output can encode them and
plain ASCII otherwise (LANG=C, a pipe into an old tool).
"""

from __future__ import annotations

import codecs
from typing import Any

from hitl_tui.policy.report import LENIENT, OUTCOMES, Bucket, Report, Suggestion
from hitl_tui.safe_text import visible

BAR_WIDTH = 40
PERSON_DID = {"approved": "approved", "edited": "edited", "feedback": "gave feedback", "rejected": "rejected",
              "ignored": "ignored"}
UNICODE_MARKS = {"approved": "█", "edited": "▓", "feedback": "▒", "rejected": "░", "ignored": "·"}
ASCII_MARKS = {"approved": "#", "edited": "=", "feedback": "~", "rejected": "-", "ignored": "."}


def _marks(encoding: str | None) -> dict[str, str]:
    try:
        codecs.lookup(encoding or "utf-8")
        "".join(UNICODE_MARKS.values()).encode(encoding or "utf-8")
    except (LookupError, UnicodeEncodeError):
        return ASCII_MARKS
    return UNICODE_MARKS


def _bar(bucket: Bucket, scale: float, marks: dict[str, str]) -> str:
    """Stacked bar; every non-zero outcome gets at least one mark, so a single reject never disappears."""
    parts = []
    for outcome in OUTCOMES:
        n = bucket.outcomes[outcome]
        if n:
            parts.append(marks[outcome] * max(1, round(n * scale)))
    return "".join(parts)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _suggestion(name: str, s: Suggestion | None, verb: str, wrong_what: str) -> str:
    if s is None:
        return f"  {name}: no value fits these decisions"
    return (f"  {name} = {s.threshold:g}  ({verb} {s.covered} of {s.total} decisions "
            f"({_pct(s.covered, s.total)}); {s.wrong} {wrong_what})")


def _band_text(band: dict[str, Any]) -> str:
    scope = f"{visible(str(band.get('graph') or '*'))}/{visible(str(band.get('action') or '*'))}"
    parts = []
    if band.get("auto_approve_at") is not None:
        parts.append(f"approve at >= {band['auto_approve_at']:g}")
    if band.get("auto_reject_below") is not None:
        parts.append(f"reject below {band['auto_reject_below']:g}")
    return f"{scope}: {', '.join(parts) or 'no thresholds'}"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{outcome} {n}" for outcome, n in sorted(counts.items())) or "none"


def render(report: Report, *, encoding: str | None = None) -> str:
    """The report as text for a terminal."""
    marks = _marks(encoding)
    lines = [f"Calibration report for {visible(report.path)}"]
    lines.append(
        f"{report.decisions} operator decisions ({report.without_confidence} without a confidence), "
        f"{report.auto_decisions} auto-decisions, {report.timeouts} timeouts."
    )
    if report.unreadable_lines:
        lines.append(f"{report.unreadable_lines} lines were not JSON records and were skipped.")
    with_conf = report.decisions - report.without_confidence
    if with_conf == 0:
        lines.append("No operator decision carries a confidence yet, so there is nothing to calibrate.")
        return "\n".join(lines) + "\n"
    legend = "  ".join(f"{marks[o]} {o}" for o in OUTCOMES)
    lines += ["", f"confidence  decided  approved  edited  feedback  rejected  ignored  auto  {legend}"]
    biggest = max(b.decided for b in report.buckets) or 1
    scale = BAR_WIDTH / biggest
    for b in report.buckets:
        o = b.outcomes
        auto = b.auto_approved + b.auto_rejected
        lines.append(
            f"{b.label:<10}  {b.decided:>7}  {o['approved']:>8}  {o['edited']:>6}  {o['feedback']:>8}  "
            f"{o['rejected']:>8}  {o['ignored']:>7}  {auto:>4}  {_bar(b, scale, marks)}".rstrip()
        )
    lines.append("")
    if report.band is not None:
        check = report.band
        lines.append("Configured bands: " + "; ".join(_band_text(b) for b in check.bands))
        wrong_a = sum(check.wrong_approved.values())
        wrong_r = sum(check.wrong_rejected.values())
        lines.append(f"  would have auto-approved {check.auto_approved}, wrongly {wrong_a} "
                     f"({_pct(wrong_a, check.auto_approved)}; person: {_counts(check.wrong_approved)})")
        lines.append(f"  would have auto-rejected {check.auto_rejected}, wrongly {wrong_r} "
                     f"({_pct(wrong_r, check.auto_rejected)}; person: {_counts(check.wrong_rejected)})")
        for ex in check.examples:
            lines.append(
                f"  e.g. thread {visible(str(ex['thread_id']))} ({visible(str(ex['action']))}, confidence "
                f"{ex['confidence']:g}): the band would {ex['band'].removeprefix('auto-')}, the person "
                f"{PERSON_DID[ex['person']]}"
            )
    else:
        lines.append("No confidence band is configured ([[policy.band]] in config.toml).")
    lines.append(f"Suggested thresholds (from {with_conf} decisions with a confidence):")
    lines.append(_suggestion("auto_approve_at", report.suggest_approve_at, "would auto-approve",
                             "not approved as-is by a person"))
    lines.append(_suggestion("auto_reject_below", report.suggest_reject_below, "would auto-reject",
                             "that a person let run"))
    if report.lenient_approve_at or report.lenient_reject_below:
        lines.append(f"Allowing {LENIENT:.0%} mistakes:")
        if report.lenient_approve_at:
            lines.append(_suggestion("auto_approve_at", report.lenient_approve_at, "would auto-approve",
                                     "not approved as-is by a person"))
        if report.lenient_reject_below:
            lines.append(_suggestion("auto_reject_below", report.lenient_reject_below, "would auto-reject",
                                     "that a person let run"))
    if with_conf < 30:
        lines.append(f"Only {with_conf} decisions: treat these numbers as a hint, not a verdict.")
    return "\n".join(lines) + "\n"
