"""The planner: the real `openai` client against a local chat-completions server, and the offline planner."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from demo_fixtures import clean_env, demo_db, fake_openai, run
from fake_openai import FakeOpenAI

from hitl_tui.demo import offline, planner
from hitl_tui.demo.planner import ModelOutputError, PlannerError
from hitl_tui.errors import HitlError

FIXTURES = (clean_env, demo_db, fake_openai)  # pytest finds fixtures by module attribute

REFUND = "I want a refund for order 1234, it arrived broken"


# ---- settings ----------------------------------------------------------------------------------


def test_settings_prefer_hitl_variables_and_default_the_model() -> None:
    env = {"OPENAI_API_KEY": "sk-a", "OPENAI_BASE_URL": "http://a/v1"}
    s = planner.model_settings(env)
    assert (s.api_key, s.base_url, s.model, s.online) == ("sk-a", "http://a/v1", "gpt-4o-mini", True)
    env |= {"HITL_OPENAI_API_KEY": "sk-b", "HITL_OPENAI_BASE_URL": "http://b/v1", "HITL_DEMO_MODEL": "m"}
    s = planner.model_settings(env)
    assert (s.api_key, s.base_url, s.model) == ("sk-b", "http://b/v1", "m")
    assert not planner.model_settings({}).online
    assert not planner.model_settings({**env, "HITL_DEMO_OFFLINE": "1"}).online


# ---- the real client against the local server ----------------------------------------------------


def test_assess_uses_json_mode_and_validates(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply_json({"response": "Refund issued.", "confidence": 0.42, "reasoning": "policy unclear"})
    result = planner.assess(REFUND, ["mention the 14-day window"])
    assert result == planner.Assessment("Refund issued.", 0.42, "policy unclear", "model")

    [request] = fake_openai.chat_requests
    assert request["model"] == "fake-model-1"
    assert request["response_format"] == {"type": "json_object"}
    roles = [m["role"] for m in request["messages"]]
    assert roles == ["system", "user", "user"]
    assert request["messages"][1]["content"] == REFUND
    assert "mention the 14-day window" in request["messages"][2]["content"]
    headers = {k.lower(): v for k, v in fake_openai.requests[0]["headers"].items()}
    assert headers["authorization"] == "Bearer sk-test-local"
    assert fake_openai.requests[0]["path"] == "/v1/chat/completions"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("Sure! Here is my answer: {not json", "not valid JSON"),
        (json.dumps([1, 2]), "not an object"),
        (json.dumps({"response": "ok", "confidence": 1.7, "reasoning": "x"}), "number from 0 to 1"),
        (json.dumps({"response": "ok", "confidence": True, "reasoning": "x"}), "number from 0 to 1"),
        (json.dumps({"confidence": 0.9, "reasoning": "x"}), "'response'"),
        ("", "empty message"),
    ],
)
def test_unusable_model_output_falls_back_clearly(fake_openai: FakeOpenAI, content: str, why: str) -> None:
    fake_openai.reply_text(content)
    result = planner.assess(REFUND)
    assert result.source == "fallback"
    assert result.confidence == 0.0  # so a person always looks at it
    assert why in result.reasoning
    assert result.response == offline.assess(REFUND)["response"]


def test_http_500_is_one_clear_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply_error(500, "the GPU caught fire")
    with pytest.raises(PlannerError) as err:
        planner.assess(REFUND)
    assert not isinstance(err.value, ModelOutputError)
    assert isinstance(err.value, HitlError)
    assert err.value.message == f"The model server at {fake_openai.base_url} answered HTTP 500."
    assert len(fake_openai.chat_requests) == 1  # HITL_OPENAI_MAX_RETRIES=0


def test_retries_go_through_the_real_client(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HITL_OPENAI_MAX_RETRIES", "1")
    fake_openai.reply_error(500)
    fake_openai.reply_json({"response": "ok", "confidence": 0.9, "reasoning": "fine"})
    assert planner.assess(REFUND).source == "model"
    assert len(fake_openai.chat_requests) == 2


def test_unreachable_server_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HITL_OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("HITL_OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("HITL_OPENAI_MAX_RETRIES", "0")
    with pytest.raises(PlannerError, match="could not be reached"):
        planner.plan_action("Delete /tmp/x.log")


def test_email_and_tool_plans_through_the_model(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply_json(
        {"to": "cfo@globex.io", "subject": "Invoice", "body": "Paid.", "reasoning": "asked", "confidence": 0.9}
    )
    fake_openai.reply_json({"action": "transfer", "args": {"amount": 5, "to_account": "X"}, "reasoning": "r"})
    fake_openai.reply_json({"action": "launch_missiles", "args": {}, "reasoning": "r"})
    fake_openai.reply_json({"tool_calls": [{"name": "delete_file", "args": {"path": "/tmp/a"}}]})
    email = planner.plan_email("email the cfo that the invoice is paid")
    assert (email.to, email.subject, email.source, email.risk) == ("cfo@globex.io", "Invoice", "model", "medium")
    action = planner.plan_action("pay X five dollars")
    assert (action.action, action.args, action.source) == ("transfer", {"amount": 5, "to_account": "X"}, "model")
    unknown = planner.plan_action("Delete /tmp/x.log")
    assert unknown.source == "fallback" and "unknown tool 'launch_missiles'" in unknown.reasoning
    assert unknown.action == "delete_file"  # the offline plan
    calls = planner.plan_tool_calls("clean up")
    assert calls == [{"name": "delete_file", "args": {"path": "/tmp/a"}, "description": "Delete /tmp/a"}]
    assert all(r["response_format"] == {"type": "json_object"} for r in fake_openai.chat_requests)


# ---- the confidence agent, end to end through the model -----------------------------------------


def test_confidence_agent_pauses_only_when_the_model_is_unsure(fake_openai: FakeOpenAI, demo_db) -> None:
    from hitl_tui.demo.outbox import read_outbox

    graph = demo_db.graph("confidence_agent")
    fake_openai.reply_json({"response": "We open at 9.", "confidence": 0.93, "reasoning": "public hours"})
    sure = run(graph, "confidence_agent", "c-sure", "When do you open?")
    assert "__interrupt__" not in sure and sure["status"] == "sent"
    fake_openai.reply_json({"response": "Maybe a refund.", "confidence": 0.31, "reasoning": "policy"})
    unsure = run(graph, "confidence_agent", "c-unsure", REFUND)
    [pending] = unsure["__interrupt__"]
    assert pending.value["confidence"] == 0.31
    assert pending.value["reasoning"] == "policy"
    assert pending.value["args"] == {"response": "Maybe a refund."}
    fake_openai.reply_text("{{{ definitely not json")
    broken = run(graph, "confidence_agent", "c-broken", REFUND)
    [pending] = broken["__interrupt__"]  # malformed output: a clear note and a pause, not a traceback
    assert pending.value["confidence"] == 0.0
    assert "not valid JSON" in pending.value["reasoning"]
    assert [x["thread_id"] for x in read_outbox(demo_db.outbox)] == ["c-sure"]


def test_http_error_inside_a_graph_surfaces_as_the_planner_error(fake_openai: FakeOpenAI, demo_db) -> None:
    fake_openai.reply_error(503, "overloaded")
    graph = demo_db.graph("email_agent")
    with pytest.raises(PlannerError) as err:
        run(graph, "email_agent", "e-1", "Send an email to a@example.com saying hi")
    assert err.value.message == f"The model server at {fake_openai.base_url} answered HTTP 503."


# ---- offline determinism -------------------------------------------------------------------------

REQUESTS = [
    "Send an email to dana@example.com saying the Q3 report is ready for review",
    "Transfer $9,800 to account INITECH-44; email cfo@example.com saying the payment went out",
    REFUND,
    "What are your opening hours on Sunday?",
    "Delete /srv/exports/customers-2022.csv",
]


def _offline_snapshot() -> str:
    out = []
    for r in REQUESTS:
        out.append(
            [
                offline.plan_email(r),
                offline.plan_action(r, ["make it $1,200"]),
                offline.assess(r),
                offline.plan_tool_calls(r),
            ]
        )
    return json.dumps(out, sort_keys=True)


def test_offline_planner_is_deterministic_across_processes(tmp_path: Path) -> None:
    here = _offline_snapshot()
    assert here == _offline_snapshot()
    code = "import sys; sys.path.insert(0, sys.argv[1]); import test_demo_planner as t; print(t._offline_snapshot())"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # a different str hash salt must not matter
    child = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert child.stdout.strip() == here


def test_offline_plans_read_the_request() -> None:
    email = offline.plan_email("Send an email to dana@example.com saying the Q3 report is ready")
    assert email["to"] == "dana@example.com" and "The Q3 report is ready." in email["body"]
    revised = offline.plan_email("Send an email to dana@example.com saying hi", ["send it to lee@example.com"])
    assert revised["to"] == "lee@example.com" and "recipient changed" in revised["reasoning"]
    transfer = offline.plan_action("Transfer $2,500 to ACME-SUPPLIES", ["make it $1,200"])
    assert transfer["args"]["amount"] == 1200.0 and transfer["args"]["to_account"] == "ACME-SUPPLIES"
    calls = offline.plan_tool_calls("Pay €120.50 to account DE-7731 and then delete a/b.xlsx, then post it to #fin")
    assert [c["name"] for c in calls] == ["transfer", "delete_file", "post_message"]
    assert offline.assess(REFUND)["confidence"] < 0.8 <= offline.assess("What are your opening hours?")["confidence"]
    # Without a key the planner functions give the offline shapes.
    assert planner.assess(REFUND).source == "offline"
    assert planner.plan_email("Email bo@example.com saying hi").to == "bo@example.com"
