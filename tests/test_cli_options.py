"""Options before or after the subcommand mean the same (`hitl-tui --db X approve T` == `approve T --db X`), or
are refused with one sentence; `edit --args @file.json`; a typo'd graph module is reported before any decision."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers_decisions import CRASHY, Env, ledger_rows

from hitl_tui.cli.main import build_parser, main
from hitl_tui.cli.options import GLOBAL_OPTIONS, merge_global_options
from hitl_tui.errors import HitlError

# Every subcommand, with the arguments it needs to parse.
COMMANDS: dict[str, list[str]] = {
    "approve": ["approve", "T"],
    "reject": ["reject", "T", "--reason", "no"],
    "edit": ["edit", "T", "--args", "{}"],
    "feedback": ["feedback", "T", "--text", "hi"],
    "ignore": ["ignore", "T"],
    "ack": ["ack", "D"],
    "worker": ["worker", "--once"],
    "list": ["list"],
    "watch": ["watch", "--jsonl"],
    "doctor": ["doctor"],
    "audit verify": ["audit", "verify"],
    "report": ["report"],
    "demo": ["demo", "--no-console"],
}
VALUES: dict[str, list[str]] = {"config": ["--config", "some/config.toml"], "db": ["--db", "some/agents.db"],
                                "readonly": ["--readonly"]}


def parsed(argv: list[str]) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    merge_global_options(args)
    return vars(args)


def takes_after(command: str, option: str) -> bool:
    """Whether the subcommand has the option of its own (then it must mean the same before the command)."""
    try:
        args = build_parser().parse_args([*COMMANDS[command], *VALUES[option]])
    except SystemExit:
        return False
    return hasattr(args, option)


@pytest.mark.parametrize("option", GLOBAL_OPTIONS)
@pytest.mark.parametrize("command", COMMANDS)
def test_an_option_before_the_command_means_the_same_as_after_it_or_is_refused(command: str, option: str) -> None:
    before = [*VALUES[option], *COMMANDS[command]]
    if takes_after(command, option):
        after = [*COMMANDS[command], *VALUES[option]]
        assert parsed(before) == parsed(after)
        assert parsed(before)[option] not in (None, False)
    else:
        with pytest.raises(HitlError) as err:
            parsed(before)
        assert err.value.message == f"--{option} does not apply to `hitl-tui {command}`; leave it out."


def test_every_command_is_covered() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    names = set(sub.choices) - {"audit"} | {"audit verify"}
    assert names == set(COMMANDS)


def test_the_console_takes_them_as_its_own() -> None:
    got = parsed(["--db", "x.db", "--config", "c.toml", "--readonly"])
    assert (got["db"], got["config"], got["readonly"]) == (Path("x.db"), Path("c.toml"), True)


def test_the_same_value_twice_is_fine_two_different_ones_are_refused() -> None:
    assert parsed(["--db", "x.db", "list", "--db", "./x.db"])["db"] == Path("x.db")
    with pytest.raises(HitlError) as err:
        parsed(["--db", "x.db", "approve", "T", "--db", "y.db"])
    assert err.value.message == ("--db was given twice with different values (x.db before `approve`, y.db after "
                                 "it); give it once.")


def config_naming_another_db(env: Env, graph: str | None = None) -> Path:
    path = env.directory / "elsewhere.toml"
    text = f'[console]\ndb = "{env.directory / "not-this.db"}"\naudit_log = "{env.audit_path}"\n\n[graphs.{CRASHY}]\n'
    text += f'graph = "{graph or env.config.graphs[CRASHY].graph}"\n'
    path.write_text(text, encoding="utf-8")
    return path


def test_db_before_the_command_is_the_db_acted_on(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    """The reported bug: `hitl-tui --db X approve T` acted on the config's DB instead of X."""
    [tid] = env.start(CRASHY)
    config = config_naming_another_db(env)
    assert main(["--db", str(env.db), "--config", str(config), "list", "--json"]) == 0
    assert [t["thread_id"] for t in json.loads(capsys.readouterr().out)] == [tid]
    assert main(["--db", str(env.db), "approve", tid, "--config", str(config)]) == 0
    assert capsys.readouterr().out == "Decided and resumed; the thread ran to its end.\n"
    assert [line["thread_id"] for line in env.outbox_lines()] == [tid]
    assert not (env.directory / "not-this.db").exists()


def test_edit_args_from_a_file(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = env.start(CRASHY, 2)
    args_file = env.directory / "args.json"
    args_file.write_text('{"item": "a crate\\nwith a newline"}', encoding="utf-8")
    assert main(["edit", first, "--args", f"@{args_file}", "--config", str(env.config_path)]) == 0
    assert [line["args"] for line in env.outbox_lines()] == [{"item": "a crate\nwith a newline"}]
    capsys.readouterr()
    missing = env.directory / "nope.json"
    assert main(["edit", second, "--args", f"@{missing}", "--config", str(env.config_path)]) == 2
    assert capsys.readouterr().err == f"hitl-tui: --args file {missing} does not exist.\n"
    args_file.write_text("{oops", encoding="utf-8")
    assert main(["edit", second, "--args", f"@{args_file}", "--config", str(env.config_path)]) == 2
    assert capsys.readouterr().err.startswith(f"hitl-tui: --args file {args_file} is not valid JSON: ")
    assert len(ledger_rows(env.db)) == 1


@pytest.mark.parametrize(
    ("graph", "sentence"),
    [
        ("hitl_tui.demo.emial_agent:build_graph", "names the module 'hitl_tui.demo.emial_agent', which can't be "
                                                 "found; check the spelling and that it is installed here."),
        ("no_such_package.agent:build", "names the module 'no_such_package.agent', which can't be found; "),
        ("graphs/missing.py:build", "names the file {dir}/graphs/missing.py, which does not exist."),
    ],
)
def test_a_typo_in_a_graph_module_is_reported_before_anything_is_decided(
    env: Env, capsys: pytest.CaptureFixture[str], graph: str, sentence: str
) -> None:
    [tid] = env.start(CRASHY)
    config = config_naming_another_db(env, graph)
    for argv in (["approve", tid], ["worker", "--once"]):
        assert main([*argv, "--config", str(config), "--db", str(env.db)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"hitl-tui: Config file {config}: graphs.{CRASHY}.graph ")
        assert sentence.format(dir=env.directory) in err and len(err.splitlines()) == 1
    assert ledger_rows(env.db) == [] and env.outbox_lines() == []
    # Commands that never resume don't need the agents' code.
    assert main(["list", "--config", str(config), "--db", str(env.db)]) == 0


def test_the_console_reports_a_typo_in_a_graph_module_before_it_opens(env: Env) -> None:
    config = config_naming_another_db(env, "hitl_tui.demo.emial_agent:build_graph")
    done = subprocess.run([sys.executable, "-m", "hitl_tui", "--config", str(config), "--db", str(env.db)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"hitl-tui: Config file {config}: graphs.{CRASHY}.graph names the module ")
    assert len(done.stderr.splitlines()) == 1
