"""Confidence bands, agent side: decide without a person at the edges, pause in between.

    [[policy.band]]
    graph = "confidence_agent"   # optional; glob on the graph id
    action = "send_*"            # optional; glob on the action name
    auto_approve_at = 0.85       # confidence >= 0.85: approved without pausing
    auto_reject_below = 0.30     # confidence <  0.30: rejected without pausing

The first band (in config order) whose graph and action match applies; put specific bands first.
Safety rules, in order:
- A confidence that is missing, not a number, NaN or outside 0..1 always asks a person.
- A band never auto-approves an action a risk rule gives `approvals > 1` or `confirm = true`: those need a
  person by definition (auto-reject still applies).
- Every auto-decision is written to the audit log (event "auto_decision", actor policy:confidence_band)
  BEFORE it is returned. If the log can't be written, the band steps aside and a person is asked.
- The band is re-evaluated when a node re-runs on resume, so it must be the same in the process that first
  ran the node and the one that resumes it (same config.toml, or thresholds stored in the graph's state as
  the demo confidence agent does). Otherwise a resume could be auto-decided instead of taking the answer.
"""

from __future__ import annotations

import logging
import math
import os
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

from hitl_tui.canonical import value_hash
from hitl_tui.config import BandConfig, Config, load_config
from hitl_tui.model import DecisionKind
from hitl_tui.policy.rules import assess_actions

CONFIG_ENV = "HITL_TUI_CONFIG"
POLICY_NAME = "confidence_band"
EVENT = "auto_decision"
Verdict = Literal["approve", "reject", "ask"]
BandLike = BandConfig | Mapping[str, Any]
ConfigLike = Config | str | Path

log = logging.getLogger(__name__)


def as_band(value: BandLike) -> BandConfig:
    """A BandConfig from a BandConfig or a mapping of its fields; ValueError when the thresholds are unusable."""
    band = value if isinstance(value, BandConfig) else BandConfig(**dict(value))
    for name in ("auto_approve_at", "auto_reject_below"):
        v = getattr(band, name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0):
            raise ValueError(f"{name} must be a number from 0 to 1, not {v!r}")
    lo, hi = band.auto_reject_below, band.auto_approve_at
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"auto_reject_below ({lo}) is above auto_approve_at ({hi})")
    return band


def select_band(bands: tuple[BandConfig, ...], graph_id: str | None, action: str) -> BandConfig | None:
    """The first band that matches this graph and action, or None."""
    for band in bands:
        if band.graph is not None and (graph_id is None or not fnmatchcase(graph_id, band.graph)):
            continue
        if band.action is not None and not fnmatchcase(action, band.action):
            continue
        return band
    return None


def confidence_value(confidence: Any) -> float | None:
    """A usable confidence (a finite number in 0..1), or None."""
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        return None
    value = float(confidence)
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else None


def band_verdict(band: BandConfig | None, confidence: Any) -> Verdict:
    """approve at or above auto_approve_at, reject strictly below auto_reject_below, else ask."""
    value = confidence_value(confidence)
    if band is None or value is None:
        return "ask"
    if band.auto_approve_at is not None and value >= band.auto_approve_at:
        return "approve"
    if band.auto_reject_below is not None and value < band.auto_reject_below:
        return "reject"
    return "ask"


@dataclass(frozen=True)
class AutoDecision:
    """A decision a band made, already on record in the audit log."""

    decision: DecisionKind  # APPROVE or REJECT
    text: str  # why, in one sentence
    band: BandConfig
    operator: str  # "policy:confidence_band@host"
    event_id: str  # the audit record's event id


_config_cache: dict[tuple[str, int, int], Config] = {}


def _load(source: ConfigLike) -> Config:
    if isinstance(source, Config):
        return source
    path = Path(source)
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        return load_config(path)  # raises the one-sentence ConfigError
    if key not in _config_cache:
        _config_cache.clear()  # one config per agent process in practice
        _config_cache[key] = load_config(path)
    return _config_cache[key]


def configured_band(graph_id: str | None, action: str, config: ConfigLike | None = None) -> BandConfig | None:
    """The band config.toml (`config`, else $HITL_TUI_CONFIG) sets for this graph and action, or None."""
    source = config if config is not None else os.environ.get(CONFIG_ENV) or None
    if source is None:
        return None
    return select_band(_load(source).policy.bands, graph_id, action)


def _run_config() -> Mapping[str, Any]:
    try:
        from langgraph.config import get_config

        return get_config()
    except (ImportError, RuntimeError):  # called outside a LangGraph run
        return {}


def _text(verdict: Verdict, value: float, band: BandConfig) -> str:
    if verdict == "approve":
        return f"auto-approved: confidence {value:g} is at or above auto_approve_at {band.auto_approve_at:g}"
    return f"auto-rejected: confidence {value:g} is below auto_reject_below {band.auto_reject_below:g}"


def auto_decide(
    action: str,
    args: Mapping[str, Any],
    payload: Mapping[str, Any],
    *,
    band: BandLike | None = None,
    config: ConfigLike | None = None,
    audit_log: str | Path | None = None,
    graph_id: str | None = None,
) -> AutoDecision | None:
    """Decide by band and record it; None means "ask a person" (no band, in the middle, or not recordable)."""
    if config is None:
        # The environment names config.toml for agents as it does for the CLI. With an explicit band the
        # config still supplies the risk rules (which can only stop an auto-approve) and the log's path.
        config = os.environ.get(CONFIG_ENV) or None
        if config is None and band is None:
            return None
    cfg = _load(config) if config is not None else None
    run = _run_config()
    configurable = run.get("configurable") or {}
    metadata = run.get("metadata") or {}
    if graph_id is None:
        found = metadata.get("graph_id") or metadata.get("assistant_id")
        graph_id = found if isinstance(found, str) else None
    chosen = as_band(band) if band is not None else select_band(cfg.policy.bands if cfg else (), graph_id, action)
    confidence = payload.get("confidence")
    verdict = band_verdict(chosen, confidence)
    if verdict == "ask" or chosen is None:
        return None
    if verdict == "approve" and cfg is not None:
        rules = assess_actions(cfg.policy, graph_id, [(action, args)], declared_risk=payload.get("risk"))
        if rules.approvals > 1 or rules.confirm:
            return None  # a rule wants people to look at this action: never approve it unseen
    value = confidence_value(confidence)
    assert value is not None
    text = _text(verdict, value, chosen)
    path = Path(audit_log) if audit_log is not None else (cfg.audit_log if cfg else Config().audit_log)
    event_id = _event_id(configurable, action, args)
    recorded = _record(path, event_id, {
        "event": EVENT,
        "thread_id": configurable.get("thread_id"),
        "graph_id": graph_id,
        "checkpoint_id": configurable.get("checkpoint_id"),
        "task": configurable.get("checkpoint_ns"),
        "node": metadata.get("langgraph_node"),
        "action": action,
        "payload_hash": value_hash(dict(payload)),
        "shape": "hitl",
        "decision": DecisionKind.APPROVE.value if verdict == "approve" else DecisionKind.REJECT.value,
        "text": text,
        "confidence": value,
        "risk": payload.get("risk"),
        "initiator": payload.get("initiator"),
        "band": asdict(chosen),
    })
    if recorded is None:
        return None
    kind = DecisionKind.APPROVE if verdict == "approve" else DecisionKind.REJECT
    return AutoDecision(kind, text, chosen, recorded, event_id)


def _event_id(configurable: Mapping[str, Any], action: str, args: Mapping[str, Any]) -> str:
    """Stable per task and action: a node that re-runs (crash, replay) logs its auto-decision once."""
    thread, task = configurable.get("thread_id"), configurable.get("checkpoint_ns")
    if not thread or not task:
        return f"auto:{uuid.uuid4().hex}"
    return "auto:" + value_hash([str(thread), str(task), action, dict(args)])[:40]


def _record(path: Path, event_id: str, fields: dict[str, Any]) -> str | None:
    """Append the record; the actor's display name, or None when the log can't be written."""
    from hitl_tui.audit import AuditLog, AuditLogError
    from hitl_tui.identity import Operator

    actor = Operator.policy(POLICY_NAME)
    try:
        AuditLog(path, operator=actor).append({**fields, "actor": actor.as_record()}, event_id=event_id)
    except (AuditLogError, OSError, ValueError) as err:
        log.warning("confidence band stepped aside (a person will be asked): audit log %s: %s", path, err)
        return None
    return actor.display
