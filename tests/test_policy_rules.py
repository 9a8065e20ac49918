"""Risk rules: globs, graph, argument conditions, how matching rules combine, the payload's risk as a floor."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_fixtures import clean_env
from test_policy_fixtures import make_env, no_config_env

from hitl_tui.conditions import as_number, matches
from hitl_tui.config import PolicyConfig, RiskRule, check_policy, load_config
from hitl_tui.errors import ConfigError
from hitl_tui.model import RISK_ORDER, risk_rank
from hitl_tui.policy.rules import assess, assess_actions

FIXTURES = (clean_env, no_config_env)


def policy(*rules: RiskRule, default: float | None = None) -> PolicyConfig:
    return PolicyConfig(rules=rules, default_deadline_seconds=default)


def one(p: PolicyConfig, action: str, args: object = None, graph: str | None = "g", declared: str | None = None):
    return assess_actions(p, graph, [(action, args if args is not None else {})], declared_risk=declared)


def test_risk_levels_sort() -> None:
    assert list(RISK_ORDER) == ["low", "medium", "high", "critical"]
    assert sorted(["critical", None, "low", "high", "bogus", "medium"], key=risk_rank) == \
        [None, "bogus", "low", "medium", "high", "critical"]
    assert risk_rank(" High ") == 2


def test_no_rule_means_low_one_approver_and_the_default_deadline() -> None:
    a = one(policy(default=600), "send_email")
    assert (a.risk, a.confirm, a.approvals, a.deadline_seconds, a.rule_index, a.matched) == \
        ("low", False, 1, 600, None, ())


def test_action_globs_are_case_sensitive_and_whole_name() -> None:
    p = policy(RiskRule(action="transfer*", risk="high"), RiskRule(action="delete_?ile", risk="critical"))
    assert one(p, "transfer").risk == "high"
    assert one(p, "transfer_funds").risk == "high"
    assert one(p, "wire_transfer").risk == "low"  # a glob matches the whole name
    assert one(p, "Transfer").risk == "low"
    assert one(p, "delete_file").risk == "critical"
    assert one(p, "delete_files").risk == "low"


def test_graph_restricts_a_rule() -> None:
    p = policy(RiskRule(action="*", graph="payments*", risk="high"))
    assert one(p, "x", graph="payments_eu").risk == "high"
    assert one(p, "x", graph="email_agent").risk == "low"
    assert one(p, "x", graph=None).risk == "low"  # an unknown graph never matches a graph-specific rule


@pytest.mark.parametrize(
    ("when", "args", "expected"),
    [
        ({"amount": {">": 1000}}, {"amount": 1000.01}, True),
        ({"amount": {">": 1000}}, {"amount": 1000}, False),  # exactly at the limit
        ({"amount": {">=": 1000}}, {"amount": 1000}, True),
        ({"amount": {"<": 10}}, {"amount": 9.99}, True),
        ({"amount": {"<=": 10}}, {"amount": 10}, True),
        ({"amount": {">": 1000}}, {"amount": "2,500"}, True),  # numbers sent as text still compare as numbers
        ({"amount": {">": 1000}}, {"amount": "$2500.00"}, True),
        ({"amount": {">": 1000}}, {"amount": "lots"}, False),  # not comparable: no match
        ({"amount": {">": 1000}}, {"amount": True}, False),  # a boolean is not a number
        ({"amount": {">": 1000}}, {}, False),  # a missing argument never matches
        ({"amount": {"!=": 5}}, {}, False),  # ... not even "!="
        ({"amount": {"==": 5}}, {"amount": "5"}, True),
        ({"amount": {"!=": 5}}, {"amount": 6}, True),
        ({"currency": "USD"}, {"currency": "USD"}, True),  # a plain value means ==
        ({"currency": "USD"}, {"currency": "usd"}, False),
        ({"currency": {"in": ["USD", "EUR"]}}, {"currency": "EUR"}, True),
        ({"currency": {"in": ["USD", "EUR"]}}, {"currency": "GBP"}, False),
        ({"to": {"contains": "@Globex.io"}}, {"to": "billing@globex.io"}, True),  # case-insensitive text
        ({"tags": {"contains": "prod"}}, {"tags": ["dev", "prod"]}, True),
        ({"tags": {"contains": "prod"}}, {"tags": ["production"]}, False),  # list: element, not substring
        ({"recipient.domain": {"==": "x.io"}}, {"recipient": {"domain": "x.io"}}, True),  # dotted path
        ({"amount": {">": 100, "<": 200}}, {"amount": 150}, True),  # every operator of a table must hold
        ({"amount": {">": 100, "<": 200}}, {"amount": 250}, False),
        ({"amount": {">": 100}, "currency": "USD"}, {"amount": 150, "currency": "EUR"}, False),
    ],
)
def test_argument_conditions(when: dict, args: dict, expected: bool) -> None:
    assert matches(when, args) is expected
    p = policy(RiskRule(action="pay", when=when, risk="high"))
    assert (one(p, "pay", args).risk == "high") is expected


def test_numbers_from_text() -> None:
    assert as_number("1e3") == 1000.0
    assert as_number("€ 1_200") == 1200.0
    assert as_number("nan") is None and as_number("inf") is None and as_number("") is None


def test_every_matching_rule_applies_and_the_strictest_value_wins() -> None:
    p = policy(
        RiskRule(action="*", risk="low", deadline_seconds=3600),
        RiskRule(action="transfer", when={"amount": {">": 1000}}, risk="high", approvals=2, deadline_seconds=7200),
        RiskRule(action="transfer", risk="medium", confirm=True),
        default=60,
    )
    big = one(p, "transfer", {"amount": 5000})
    assert (big.risk, big.confirm, big.approvals, big.deadline_seconds) == ("high", True, 2, 3600)
    assert big.rule_index == 1 and big.matched == (0, 1, 2)
    small = one(p, "transfer", {"amount": 10})
    assert (small.risk, small.confirm, small.approvals, small.rule_index) == ("medium", True, 1, 2)
    # Order does not matter: the same rules reversed give the same answer.
    reversed_policy = policy(*reversed(p.rules), default=60)
    again = one(reversed_policy, "transfer", {"amount": 5000})
    assert (again.risk, again.confirm, again.approvals, again.deadline_seconds) == ("high", True, 2, 3600)


def test_default_deadline_only_when_no_matching_rule_sets_one() -> None:
    p = policy(RiskRule(action="transfer", deadline_seconds=30), RiskRule(action="send_*", risk="medium"), default=900)
    assert one(p, "transfer").deadline_seconds == 30
    assert one(p, "send_email").deadline_seconds == 900
    assert one(policy(), "x").deadline_seconds is None


def test_declared_risk_is_a_floor() -> None:
    p = policy(RiskRule(action="send_email", risk="medium"))
    assert one(p, "send_email", declared="critical").risk == "critical"
    assert one(p, "send_email", declared="low").risk == "medium"
    assert one(p, "other", declared="HIGH").risk == "high"
    assert one(p, "other", declared="apocalyptic").risk == "low"  # unknown levels are not levels
    assert one(p, "other", declared="high").declared_risk == "high"


def test_a_batched_pause_is_as_risky_as_its_riskiest_action() -> None:
    p = policy(RiskRule(action="delete_file", risk="critical", approvals=2), RiskRule(action="post_message"))
    a = assess_actions(p, "g", [("post_message", {}), ("delete_file", {"path": "/x"}), ("transfer", {})])
    assert (a.risk, a.approvals, a.rule_index, a.matched) == ("critical", 2, 0, (0, 1))


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('action = "x"\nwhen = { amount = { "≥" = 3 } }', "unknown operator"),
        ('action = "x"\nwhen = { amount = { ">" = "many" } }', "needs a number"),
        ('action = "x"\nwhen = { c = { in = "USD" } }', "needs a list"),
        ('action = "x"\ndeadline_seconds = -5', "positive number"),
        ('action = "x"\nconfirm = "yes"', "true or false"),
    ],
)
def test_check_policy_says_what_is_wrong(tmp_path: Path, rule: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[[policy.rule]]\n{rule}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        check_policy(load_config(path).policy)


def test_assess_reads_a_real_paused_thread(tmp_path: Path) -> None:
    env = make_env(tmp_path, """
[[policy.rule]]
action = "send_*"
graph = "email_agent"
when = { to = { contains = "@globex.io" } }
risk = "high"
approvals = 2
deadline_seconds = 120
""")
    try:
        env.start("t-globex", "Write to billing@globex.io about the overdue invoice #4411")
        env.start("t-dana", "Send an email to dana@example.com saying the Q3 report is ready for review")
        config = env.config
        globex, dana = env.thread("t-globex"), env.thread("t-dana")
        a = assess(config, globex, globex.interrupts[0])
        assert (a.risk, a.approvals, a.deadline_seconds, a.rule_index) == ("high", 2, 120, 0)
        b = assess(config, dana, dana.interrupts[0])
        assert (b.approvals, b.rule_index, b.deadline_seconds) == (1, None, None)
        assert b.risk == (dana.interrupts[0].risk or "low")  # the email agent's own risk, as a floor
    finally:
        env.close()
