"""Planning for the demo agents: the `openai` chat-completions client when a key is configured, else offline.

Settings come from the environment (read per call, so tests and `hitl-tui demo` can change them):
- API key: `HITL_OPENAI_API_KEY`, else `OPENAI_API_KEY`. No key, or `HITL_DEMO_OFFLINE=1`: the
  deterministic offline planner.
- Server: `HITL_OPENAI_BASE_URL`, else `OPENAI_BASE_URL` (any OpenAI-compatible server, e.g. a local one).
- Model: `HITL_DEMO_MODEL` (default gpt-4o-mini); `HITL_OPENAI_TIMEOUT` seconds; `HITL_OPENAI_MAX_RETRIES`.

Every call asks for JSON mode (`response_format={"type": "json_object"}`) and validates the reply. A reply
that is not the JSON we asked for is not a crash deep inside a graph: the planner falls back to the offline
plan, marks it `source="fallback"`, sets confidence 0 (so a person looks at it) and says why in the
reasoning. A server that cannot be reached or answers with an HTTP error raises `PlannerError`, one clear
sentence. `openai` is imported only when a call is made (it costs ~0.6 s to import).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from hitl_tui.demo import offline
from hitl_tui.errors import HitlError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"
T = TypeVar("T")


class PlannerError(HitlError):
    """The model server could not be reached or answered with an error."""


class ModelOutputError(PlannerError):
    """The model answered, but not with the JSON object we asked for."""


@dataclass(frozen=True)
class ModelSettings:
    api_key: str | None = None
    base_url: str | None = None
    model: str = DEFAULT_MODEL
    timeout: float = 30.0
    max_retries: int = 2

    @property
    def online(self) -> bool:
        """True when a key is configured, so the real model is asked."""
        return bool(self.api_key)


def _env_number(environ: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(environ[name])
    except (KeyError, ValueError):
        return default


def model_settings(environ: Mapping[str, str] | None = None) -> ModelSettings:
    """Read the model settings from the environment (see the module docstring)."""
    env = os.environ if environ is None else environ
    forced_offline = env.get("HITL_DEMO_OFFLINE", "").strip().lower() in ("1", "true", "yes")
    return ModelSettings(
        api_key=None if forced_offline else (env.get("HITL_OPENAI_API_KEY") or env.get("OPENAI_API_KEY") or None),
        base_url=env.get("HITL_OPENAI_BASE_URL") or env.get("OPENAI_BASE_URL") or None,
        model=env.get("HITL_DEMO_MODEL") or DEFAULT_MODEL,
        timeout=_env_number(env, "HITL_OPENAI_TIMEOUT", 30.0),
        max_retries=int(_env_number(env, "HITL_OPENAI_MAX_RETRIES", 2)),
    )


@lru_cache(maxsize=8)
def _client(settings: ModelSettings) -> Any:
    from openai import OpenAI  # lazy: importing openai costs ~0.6 s

    return OpenAI(
        api_key=settings.api_key,
        base_url=settings.base_url,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
    )


def chat_json(messages: Sequence[Mapping[str, str]], settings: ModelSettings) -> dict[str, Any]:
    """One chat completion in JSON mode: the decoded object, or PlannerError / ModelOutputError."""
    import openai

    where = settings.base_url or "api.openai.com"
    try:
        completion = _client(settings).chat.completions.create(
            model=settings.model,
            messages=[dict(m) for m in messages],
            response_format={"type": "json_object"},
            temperature=0,
        )
    except openai.APIStatusError as err:
        raise PlannerError(f"The model server at {where} answered HTTP {err.status_code}.") from None
    except openai.APIConnectionError:
        raise PlannerError(f"The model server at {where} could not be reached.") from None
    except openai.OpenAIError as err:
        raise PlannerError(f"The model call to {where} failed: {type(err).__name__}.") from None
    try:
        content = completion.choices[0].message.content
    except (AttributeError, IndexError, TypeError):
        raise ModelOutputError("The model's reply has no message.") from None
    if not content:
        raise ModelOutputError("The model returned an empty message.")
    try:
        data = json.loads(content)
    except ValueError:
        raise ModelOutputError(f"The model's reply is not valid JSON: {content[:80]!r}.") from None
    if not isinstance(data, dict):
        raise ModelOutputError(f"The model's reply is JSON but not an object: {content[:80]!r}.")
    return data


def _text(data: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ModelOutputError(f"The model's reply needs a non-empty string {key!r}, got {value!r:.60}.")
    return value


def _confidence(data: Mapping[str, Any]) -> float:
    value = data.get("confidence")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise ModelOutputError(f"The model's reply needs 'confidence' as a number from 0 to 1, got {value!r:.60}.")
    return float(value)


def _args(data: Mapping[str, Any], key: str = "args") -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ModelOutputError(f"The model's reply needs {key!r} as an object, got {value!r:.60}.")
    return value


def _tool(data: Mapping[str, Any], key: str) -> str:
    name = _text(data, key)
    if name not in offline.TOOLS:
        raise ModelOutputError(f"The model chose an unknown tool {name!r}; known: {', '.join(offline.TOOLS)}.")
    return name


def _ask(
    settings: ModelSettings | None,
    messages: Callable[[], list[dict[str, str]]],
    validate: Callable[[dict[str, Any]], T],
    fallback: Callable[[str], T],
    offline_plan: Callable[[], T],
) -> T:
    """Offline without a key; else the model, validated, with a clear fallback on unusable output."""
    settings = settings or model_settings()
    if not settings.online:
        return offline_plan()
    try:
        return validate(chat_json(messages(), settings))
    except ModelOutputError as err:
        log.warning("%s Falling back to the offline plan.", err.message)
        return fallback(err.message)


def _conversation(system: str, request: str, feedback: Sequence[str]) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": request}]
    msgs += [{"role": "user", "content": f"Reviewer feedback on your last answer: {text}"} for text in feedback]
    return msgs


# ---- the confidence agent ------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    response: str
    confidence: float
    reasoning: str
    source: str  # "model", "offline" or "fallback"


ASSESS_PROMPT = (
    "You answer customer requests for a support team. Reply with a JSON object with exactly these keys: "
    '"response" (the reply to send, a string), "confidence" (a number from 0 to 1: how sure you are '
    'the reply is correct and safe to send without a human check) and "reasoning" (a short string '
    "explaining why)."
)


def parse_assessment(data: Mapping[str, Any]) -> Assessment:
    """Validate {"response", "confidence", "reasoning"}; raises ModelOutputError naming what is wrong."""
    return Assessment(_text(data, "response"), _confidence(data), _text(data, "reasoning", required=False), "model")


def assess(request: str, feedback: Sequence[str] = (), settings: ModelSettings | None = None) -> Assessment:
    """Answer a request with a confidence, via the model (JSON mode) or offline."""

    def from_offline(source: str, note: str | None = None) -> Assessment:
        plan = offline.assess(request, feedback)
        if note is None:
            return Assessment(plan["response"], plan["confidence"], plan["reasoning"], source)
        return Assessment(plan["response"], 0.0, f"{note} Showing the offline answer instead.", source)

    return _ask(
        settings,
        lambda: _conversation(ASSESS_PROMPT, request, feedback),
        parse_assessment,
        lambda note: from_offline("fallback", note),
        lambda: from_offline("offline"),
    )


# ---- the email agent -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailPlan:
    to: str
    subject: str
    body: str
    reasoning: str
    confidence: float
    risk: str
    source: str

    @property
    def args(self) -> dict[str, Any]:
        """The send_email tool arguments."""
        return {"to": self.to, "subject": self.subject, "body": self.body}


EMAIL_PROMPT = (
    'You draft emails. Reply with a JSON object with keys: "to" (an email address), "subject", "body", '
    '"reasoning" (why this draft fulfils the request) and "confidence" (a number from 0 to 1).'
)


def plan_email(request: str, feedback: Sequence[str] = (), settings: ModelSettings | None = None) -> EmailPlan:
    """Draft "send an email to X saying Y", revised by any reviewer feedback."""

    def validate(data: dict[str, Any]) -> EmailPlan:
        to = _text(data, "to")
        if "@" not in to:
            raise ModelOutputError(f"The model's reply needs 'to' as an email address, got {to!r:.60}.")
        args = {"to": to, "subject": _text(data, "subject"), "body": _text(data, "body")}
        risk = offline.risk_of("send_email", args)
        return EmailPlan(
            **args,
            reasoning=_text(data, "reasoning", required=False),
            confidence=_confidence(data),
            risk=risk,
            source="model",
        )

    def from_offline(source: str, note: str | None = None) -> EmailPlan:
        p = offline.plan_email(request, feedback)
        reasoning = p["reasoning"] if note is None else f"{note} Showing the offline draft instead."
        confidence = p["confidence"] if note is None else 0.0
        return EmailPlan(p["to"], p["subject"], p["body"], reasoning, confidence, p["risk"], source)

    return _ask(
        settings,
        lambda: _conversation(EMAIL_PROMPT, request, feedback),
        validate,
        lambda note: from_offline("fallback", note),
        lambda: from_offline("offline"),
    )


# ---- plan/execute and the tool-calling agents ----------------------------------------------------


@dataclass(frozen=True)
class ActionPlan:
    action: str
    args: dict[str, Any]
    reasoning: str
    source: str

    @property
    def description(self) -> str:
        """One line a person can read before approving."""
        return offline.describe(self.action, self.args)

    @property
    def risk(self) -> str:
        """low, medium, high or critical."""
        return offline.risk_of(self.action, self.args)


_TOOL_LIST = "; ".join(f"{name}: {what}" for name, what in offline.TOOLS.items())
ACTION_PROMPT = (
    f"You plan one tool call that fulfils the request. Tools: {_TOOL_LIST}. "
    'Reply with a JSON object with keys "action" (a tool name), "args" (an object) '
    'and "reasoning" (a string).'
)
TOOL_CALLS_PROMPT = (
    f"You plan the tool calls that fulfil the request. Tools: {_TOOL_LIST}. Reply with a JSON object "
    '{"tool_calls": [{"name": tool name, "args": object, "description": string}, ...]}.'
)


def plan_action(request: str, feedback: Sequence[str] = (), settings: ModelSettings | None = None) -> ActionPlan:
    """The one action that fulfils a request, revised by reviewer feedback."""

    def validate(data: dict[str, Any]) -> ActionPlan:
        return ActionPlan(_tool(data, "action"), _args(data), _text(data, "reasoning", required=False), "model")

    def from_offline(source: str, note: str | None = None) -> ActionPlan:
        p = offline.plan_action(request, feedback)
        reasoning = p["reasoning"] if note is None else f"{note} Using the offline plan instead."
        return ActionPlan(p["action"], p["args"], reasoning, source)

    return _ask(
        settings,
        lambda: _conversation(ACTION_PROMPT, request, feedback),
        validate,
        lambda note: from_offline("fallback", note),
        lambda: from_offline("offline"),
    )


def plan_tool_calls(request: str, settings: ModelSettings | None = None) -> list[dict[str, Any]]:
    """[{"name", "args", "description"}, ...]: the tool calls that fulfil a request."""

    def validate(data: dict[str, Any]) -> list[dict[str, Any]]:
        calls = data.get("tool_calls")
        if not isinstance(calls, list) or not calls or not all(isinstance(c, dict) for c in calls):
            raise ModelOutputError("The model's reply needs 'tool_calls' as a non-empty list of objects.")
        out = []
        for call in calls:
            name, args = _tool(call, "name"), _args(call)
            out.append(
                {
                    "name": name,
                    "args": args,
                    "description": _text(call, "description", required=False) or offline.describe(name, args),
                }
            )
        return out

    return _ask(
        settings,
        lambda: _conversation(TOOL_CALLS_PROMPT, request, ()),
        validate,
        lambda note: [
            {**call, "description": f"{call['description']} (offline plan: {note})"}
            for call in offline.plan_tool_calls(request)
        ],
        lambda: offline.plan_tool_calls(request),
    )
