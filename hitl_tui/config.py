"""config.toml, read with tomllib into a strict model that rejects unknown keys.

Relative paths in the file are resolved against the file's own folder, so a config works from any cwd.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hitl_tui.conditions import check_conditions
from hitl_tui.errors import ConfigError
from hitl_tui.key_config import DEFAULT_KEYS, check_key_clashes
from hitl_tui.model import RISK_ORDER, normalise_risk
from hitl_tui.notify import NotifyConfig, parse_notify


@dataclass(frozen=True)
class GraphConfig:
    """How to recognise, show and resume one graph (keyed by its `graph_id` in checkpoint metadata)."""

    name: str
    graph: str | None = None  # "module:attr" or "path/file.py:attr", like langgraph.json
    interrupt_before: tuple[str, ...] = ()
    interrupt_after: tuple[str, ...] = ()
    # Static breakpoints: state updates applied with update_state before invoke(None).
    # Strings may use {reason}, {text} and {operator}; edited args land in `edit_field` when set.
    approve_update: dict[str, Any] = field(default_factory=dict)
    reject_update: dict[str, Any] = field(default_factory=dict)
    feedback_update: dict[str, Any] = field(default_factory=dict)
    action_field: str | None = None  # state key holding the pending action (e.g. "pending_action")
    edit_field: str | None = None  # state key that an edit replaces (defaults to action_field)
    messages_field: str = "messages"


@dataclass(frozen=True)
class BandConfig:
    """Confidence band: decide without a person at the edges, ask in between."""

    auto_approve_at: float | None = None  # confidence >= this: approve without pausing
    auto_reject_below: float | None = None  # confidence < this: reject without pausing
    graph: str | None = None  # None: every graph
    action: str | None = None  # glob on the action name; None: every action


@dataclass(frozen=True)
class RiskRule:
    """Matches actions and sets their risk, confirmation, approvals needed and deadline."""

    action: str = "*"  # glob on the action name
    graph: str | None = None
    when: dict[str, Any] = field(default_factory=dict)  # arg conditions, e.g. {"amount": {">": 1000}}
    risk: str = "low"  # low | medium | high | critical
    confirm: bool = False
    approvals: int = 1
    deadline_seconds: float | None = None


@dataclass(frozen=True)
class PolicyConfig:
    bands: tuple[BandConfig, ...] = ()
    rules: tuple[RiskRule, ...] = ()
    default_deadline_seconds: float | None = None


@dataclass(frozen=True)
class Config:
    """Everything hitl-tui reads from config.toml."""

    db: Path | str | None = None  # a SQLite file, or a postgresql:// URL (kept as written)
    audit_log: Path = Path("decisions.jsonl")
    poll_interval: float = 0.05
    outbox: Path | None = None  # where the demo agents "send" things
    keys: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_KEYS))
    graphs: dict[str, GraphConfig] = field(default_factory=dict)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)  # bell / desktop notifications (hitl_tui.notify)
    source: Path | None = None  # the file this came from, for messages

    def graph(self, graph_id: str | None) -> GraphConfig | None:
        """The config of a graph by id, or None when the graph is not configured."""
        return self.graphs.get(graph_id) if graph_id else None


def _strict(section: str, data: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"Config section [{section}] must be a table.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            f"Unknown key {unknown[0]!r} in [{section}]; allowed keys are: {', '.join(sorted(allowed))}."
        )
    return data


def _names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def _path(base: Path, value: Any, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a non-empty path string.")
    p = Path(os.path.expanduser(value))
    return p if p.is_absolute() else (base / p)


def _tuple_of_str(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings.")
    return tuple(value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number.")
    return float(value)


def _graph(name: str, data: Any) -> GraphConfig:
    d = dict(_strict(f"graphs.{name}", data, _names(GraphConfig) - {"name"}))
    for key in ("interrupt_before", "interrupt_after"):
        if key in d:
            d[key] = _tuple_of_str(d[key], f"graphs.{name}.{key}")
    for key in ("approve_update", "reject_update", "feedback_update"):
        if key in d and not isinstance(d[key], dict):
            raise ConfigError(f"graphs.{name}.{key} must be a table.")
    return GraphConfig(name=name, **d)


def _policy(data: Any) -> PolicyConfig:
    d = _strict("policy", data, {"band", "rule", "default_deadline_seconds"})
    bands = []
    for i, b in enumerate(d.get("band", [])):
        b = _strict(f"policy.band[{i}]", b, _names(BandConfig))
        band = BandConfig(**b)
        lo, hi = band.auto_reject_below, band.auto_approve_at
        if lo is not None and hi is not None and lo > hi:
            raise ConfigError(f"policy.band[{i}]: auto_reject_below ({lo}) is above auto_approve_at ({hi}).")
        bands.append(band)
    rules = []
    for i, r in enumerate(d.get("rule", [])):
        r = _strict(f"policy.rule[{i}]", r, _names(RiskRule))
        rule = RiskRule(**r)
        if rule.risk not in ("low", "medium", "high", "critical"):
            raise ConfigError(f"policy.rule[{i}].risk must be low, medium, high or critical, not {rule.risk!r}.")
        if not isinstance(rule.approvals, int) or rule.approvals < 1:
            raise ConfigError(f"policy.rule[{i}].approvals must be a whole number of at least 1.")
        rules.append(rule)
    deadline = d.get("default_deadline_seconds")
    return PolicyConfig(
        bands=tuple(bands),
        rules=tuple(rules),
        default_deadline_seconds=None if deadline is None else _number(deadline, "policy.default_deadline_seconds"),
    )


def parse_config(data: dict[str, Any], base: Path, source: Path | None = None) -> Config:
    """Build a Config from parsed TOML; `base` resolves relative paths."""
    top = _strict("top level", data, {"console", "keys", "graphs", "policy", "notify"})
    console = _strict("console", top.get("console", {}), {"db", "audit_log", "poll_interval", "outbox"})
    kwargs: dict[str, Any] = {"source": source}
    if "db" in console:
        url = console["db"]
        if isinstance(url, str) and url.lower().startswith(("postgresql://", "postgres://")):
            kwargs["db"] = url  # a Path would fold its // (and resolve it against the config's folder)
        else:
            kwargs["db"] = _path(base, console["db"], "console.db")
    if "audit_log" in console:
        kwargs["audit_log"] = _path(base, console["audit_log"], "console.audit_log")
    else:
        kwargs["audit_log"] = base / "decisions.jsonl"
    if "outbox" in console:
        kwargs["outbox"] = _path(base, console["outbox"], "console.outbox")
    if "poll_interval" in console:
        interval = _number(console["poll_interval"], "console.poll_interval")
        if not 0.01 <= interval <= 60:
            raise ConfigError("console.poll_interval must be between 0.01 and 60 seconds.")
        kwargs["poll_interval"] = interval
    keys = dict(DEFAULT_KEYS)
    for action, key in _strict("keys", top.get("keys", {}), set(DEFAULT_KEYS)).items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"keys.{action} must be a key name such as 'a' or 'ctrl+a'.")
        keys[action] = key
    check_key_clashes(keys)
    kwargs["keys"] = keys
    graphs_raw = top.get("graphs", {})
    if not isinstance(graphs_raw, dict):
        raise ConfigError("Config section [graphs] must be a table of graph names.")
    kwargs["graphs"] = {name: _graph(name, g) for name, g in graphs_raw.items()}
    kwargs["policy"] = _policy(top.get("policy", {}))
    kwargs["notify"] = parse_notify(top.get("notify", {}))
    return Config(**kwargs)


def load_config(path: Path | None) -> Config:
    """Read config.toml from `path`; None means defaults (no file)."""
    if path is None:
        return Config(audit_log=Path.cwd() / "decisions.jsonl")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist.") from None
    except OSError as err:
        raise ConfigError(f"Config file {path} cannot be read: {err.strerror}.") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"Config file {path} is not valid TOML: {err}.") from None
    try:
        config = parse_config(data, path.resolve().parent, source=path)
    except TypeError as err:  # a wrongly typed value that the dataclass could not take
        raise ConfigError(f"Config file {path} has a value of the wrong type: {err}.") from None
    check_policy(config.policy)
    return config


def check_policy(policy: PolicyConfig) -> None:
    """Raise ConfigError (one sentence) for rules that can't be applied as written."""
    for i, rule in enumerate(policy.rules):
        where = f"policy.rule[{i}]"
        if not isinstance(rule.action, str) or not rule.action:
            raise ConfigError(f"{where}.action must be a non-empty name pattern such as 'transfer*'.")
        if rule.graph is not None and not isinstance(rule.graph, str):
            raise ConfigError(f"{where}.graph must be a graph name.")
        if not isinstance(rule.confirm, bool):
            raise ConfigError(f"{where}.confirm must be true or false.")
        if normalise_risk(rule.risk) is None:
            raise ConfigError(f"{where}.risk must be one of {', '.join(RISK_ORDER)}.")
        d = rule.deadline_seconds
        if d is not None and (isinstance(d, bool) or not isinstance(d, int | float) or not d > 0):
            raise ConfigError(f"{where}.deadline_seconds must be a positive number of seconds.")
        check_conditions(rule.when, where)
    d = policy.default_deadline_seconds
    if d is not None and not d > 0:
        raise ConfigError("policy.default_deadline_seconds must be a positive number of seconds.")
    for i, band in enumerate(policy.bands):
        for name in ("auto_approve_at", "auto_reject_below"):
            value = getattr(band, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                      or not 0.0 <= value <= 1.0):
                raise ConfigError(f"policy.band[{i}].{name} must be a number from 0 to 1.")
