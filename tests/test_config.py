"""config.toml: strict parsing, one clear sentence for every mistake, and the shipped sample loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from hitl_tui.config import DEFAULT_KEYS, load_config
from hitl_tui.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_sample_config_loads_and_names_every_demo_graph() -> None:
    from hitl_tui.demo.catalog import AGENTS

    config = load_config(ROOT / "config.toml")
    assert config.db == ROOT / "hitl-demo" / "checkpoints.db"
    assert {a.graph_id for a in AGENTS} <= set(config.graphs)
    assert config.graphs["plan_execute"].interrupt_before == ("execute",)


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[console]\ndb = "data/c.db"\naudit_log = "log/d.jsonl"\n'))
    assert config.db == tmp_path / "data" / "c.db"
    assert config.audit_log == tmp_path / "log" / "d.jsonl"


def test_keys_can_be_remapped_and_unknown_actions_are_refused(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[keys]\napprove = "y"\n'))
    assert config.keys["approve"] == "y"
    assert config.keys["reject"] == DEFAULT_KEYS["reject"]
    with pytest.raises(ConfigError, match="Unknown key 'aprove' in \\[keys\\]"):
        load_config(write(tmp_path, '[keys]\naprove = "y"\n'))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[console\n", "not valid TOML"),
        ('[console]\nbd = "x"\n', "Unknown key 'bd' in \\[console\\]"),
        ("[console]\npoll_interval = 0\n", "poll_interval must be between"),
        ('[console]\npoll_interval = "fast"\n', "poll_interval must be a number"),
        ('[graphs.g]\ninterrupt_before = "execute"\n', "interrupt_before must be a list of strings"),
        ('[graphs.g]\nbreakpoints = ["x"]\n', "Unknown key 'breakpoints' in \\[graphs.g\\]"),
        ("[[policy.rule]]\nrisk = 'extreme'\n", "risk must be low, medium, high or critical"),
        ("[[policy.rule]]\napprovals = 0\n", "approvals must be a whole number of at least 1"),
        ("[[policy.band]]\nauto_approve_at = 0.2\nauto_reject_below = 0.5\n", "is above auto_approve_at"),
    ],
)
def test_mistakes_end_in_one_sentence(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        load_config(write(tmp_path, text))
    assert "\n" not in str(err.value)


def test_missing_config_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_demo_config_and_the_shipped_sample_agree(tmp_path: Path) -> None:
    from hitl_tui.demo.runner import config_text

    demo = load_config(write(tmp_path, config_text()))
    sample = load_config(ROOT / "config.toml")
    assert demo.policy == sample.policy
    assert {k: (g.graph, g.interrupt_before, g.approve_update) for k, g in demo.graphs.items()} == {
        k: (g.graph, g.interrupt_before, g.approve_update) for k, g in sample.graphs.items()
    }
