"""`hitl-tui approve|reject|edit|feedback|ignore THREAD` and `hitl-tui worker --once`: exit 0 done, 3 refused,
2 error; --json prints one JSON object; errors are one sentence, never a traceback.

Most cases call the CLI's main() in this process (fast); the last ones run the real console script in
separate processes, including a decision made where the graph can't be loaded and resumed by `worker --once`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers_decisions import CRASHY, Env, check_audit_matches_ledger, ledger_rows

from hitl_tui.cli.main import main


def cli(env: Env, capsys: pytest.CaptureFixture[str], *args: str, config: Path | None = None) -> tuple[int, str, str]:
    code = main([args[0], "--config", str(config or env.config_path), *args[1:]])
    out, err = capsys.readouterr()
    return code, out, err


def one_sentence(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hitl-tui: ") and "Traceback" not in err, err
    return lines[0].removeprefix("hitl-tui: ")


def test_approve_resumes_and_a_second_approve_is_refused(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    [tid] = env.start(CRASHY)
    assert cli(env, capsys, "approve", tid) == (0, "Decided and resumed; the thread ran to its end.\n", "")
    assert len(env.outbox_lines()) == 1
    code, out, _ = cli(env, capsys, "approve", tid, "--json")
    assert code == 3
    data = json.loads(out)
    assert data["status"] == "refused" and data["thread_id"] == tid
    assert data["reason"].startswith(f"Thread {tid} is no longer waiting for a human: it was decided (approve) by ")
    assert data["reason"].endswith("and is now finished.")
    assert len(env.outbox_lines()) == 1 and len(ledger_rows(env.db)) == 1


def test_json_output_of_each_decision(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    rejected, edited = env.start(CRASHY, 2)
    [raw] = env.start(CRASHY, 1, prefix="raw", kind="raw")
    code, out, _ = cli(env, capsys, "reject", rejected, "--reason", "not today", "--json")
    data = json.loads(out)
    row = next(r for r in ledger_rows(env.db) if r["thread_id"] == rejected)
    assert code == 0 and data == {"status": "finished", "thread_id": rejected, "decision_id": row["decision_id"],
                                  "error": None, "audit_error": None}
    code, out, _ = cli(env, capsys, "edit", edited, "--args", '{"item": "a crate"}', "--json")
    assert code == 0 and json.loads(out)["status"] == "finished"
    code, out, _ = cli(env, capsys, "feedback", raw, "--text", "green", "--json")
    assert code == 0 and json.loads(out)["status"] == "finished"
    assert [(line["thread_id"], line["args"]) for line in env.outbox_lines()] == [(edited, {"item": "a crate"})]
    assert env.state(CRASHY, raw).values["answer"] == "green"
    assert env.state(CRASHY, rejected).values["messages"][-1] == "reject: not today"


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["approve", "no-such-thread"], "There is no thread 'no-such-thread' in "),
        (["edit", "{tid}", "--args", "{oops"], "--args is not valid JSON: Expecting property name enclosed in "
                                               "double quotes at line 1 column 2."),
        (["edit", "{tid}", "--args", "[1, 2]"], "Edited arguments must be a JSON object."),
        (["ignore", "{tid}"], "ignore is not allowed for 'ship'; allowed: approve, edit, feedback, reject."),
        (["approve", "{tid}", "--action", "2"], "This pause has 1 action(s); --action must be 1 to 1."),
        (["approve", "{tid}", "--interrupt", "ffff"], "Thread {tid} has no single pending interrupt matching 'ffff'."),
        (["reject", "{tid}", "--reason", " "], "A reject needs a reason."),
    ],
)
def test_errors_are_one_sentence_and_exit_2(
    env: Env, capsys: pytest.CaptureFixture[str], args: list[str], sentence: str
) -> None:
    [tid] = env.start(CRASHY)
    argv = [a.replace("{tid}", tid) for a in args]
    code, out, err = cli(env, capsys, *argv)
    assert code == 2 and out == ""
    assert one_sentence(err).startswith(sentence.replace("{tid}", tid))
    code, out, err = cli(env, capsys, *argv, "--json")
    assert code == 2 and json.loads(out)["status"] == "error" and json.loads(out)["error"] == one_sentence(err)
    assert ledger_rows(env.db) == [] and env.outbox_lines() == []


def test_several_interrupts_need_interrupt_and_are_answered_one_at_a_time(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    [tid] = env.start("parallel_approvals")
    first, second = env.paused(tid).interrupts
    code, _, err = cli(env, capsys, "approve", tid)
    assert code == 2
    assert one_sentence(err) == (f"Thread {tid} has 2 pending interrupts; pick one with --interrupt "
                                 f"({first.key}, {second.key}).")
    code, out, _ = cli(env, capsys, "approve", tid, "--interrupt", first.key[:8])
    assert code == 3 and "asks confirmation" in out and "pass --yes" in out  # the demo's rules want a yes
    assert env.outbox_lines() == [] and ledger_rows(env.db) == []
    code, out, _ = cli(env, capsys, "approve", tid, "--interrupt", first.key[:8], "--yes")
    assert (code, out) == (0, "Decided and resumed; the thread is waiting for a human again.\n")
    code, out, _ = cli(env, capsys, "reject", tid, "--interrupt", second.key, "--reason", "no access")
    assert (code, out) == (0, "Decided and resumed; the thread ran to its end.\n")
    assert [line["effect"] for line in env.outbox_lines()] == [first.actions[0].name]


def test_batched_pause_decides_the_named_action_and_what_the_operator_says_of_the_rest(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--action N` decides action N; the others need an explicit --others, never a silent approve."""
    [tid] = env.start("batch_tools")
    names = [a.name for a in env.paused(tid).interrupts[0].actions]
    code, _, err = cli(env, capsys, "reject", tid, "--action", "2", "--reason", "keep it")
    assert code == 2
    assert "--others approve or --others reject" in one_sentence(err)
    assert env.outbox_lines() == []
    code, out, _ = cli(env, capsys, "reject", tid, "--action", "2", "--reason", "keep it", "--others", "approve")
    assert code == 3 and "pass --yes" in out  # approving the others lets a high-risk action run
    assert cli(env, capsys, "reject", tid, "--action", "2", "--reason", "keep it", "--others", "approve",
               "--yes")[0] == 0
    assert sorted(line["effect"] for line in env.outbox_lines()) == sorted([names[0], names[2]])


def test_batched_pause_reject_without_action_rejects_every_call(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    [tid] = env.start("batch_tools")
    assert cli(env, capsys, "reject", tid, "--reason", "not today")[0] == 0
    assert env.outbox_lines() == []


def write_config_without_graphs(env: Env) -> Path:
    """A console's config that knows the graph but can't load its code (no `graph =`): a worker must resume."""
    path = env.directory / "console-only.toml"
    path.write_text(f'[console]\ndb = "{env.db}"\naudit_log = "{env.audit_path}"\noutbox = "{env.outbox}"\n\n'
                    f"[graphs.{CRASHY}]\n", encoding="utf-8")
    return path


def run_real(env: Env, *args: str, config: Path | None = None) -> subprocess.Popen[str]:
    """The installed console script in its own process, with a clean environment."""
    exe = Path(sys.executable).with_name("hitl-tui")
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE")}
    return subprocess.Popen([str(exe), args[0], "--config", str(config or env.config_path), *args[1:]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=keep, cwd=env.directory)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def test_several_threads_in_one_command_each_on_its_own_terms(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    first, second, third = env.start(CRASHY, 3)
    assert cli(env, capsys, "approve", second)[0] == 0  # decided already: that one is refused, the rest go on
    code, out, err = cli(env, capsys, "approve", first, second, third, "no-such-thread")
    assert code == 2 and err == ""  # an error outranks a refusal
    lines = out.splitlines()
    assert lines[0] == f"{first}: Decided and resumed; the thread ran to its end."
    assert lines[1].startswith(f"{second}: Refused: Thread {second} is no longer waiting for a human")
    assert lines[2] == f"{third}: Decided and resumed; the thread ran to its end."
    assert lines[3] == f"no-such-thread: There is no thread 'no-such-thread' in {env.db}."
    assert len(lines) == 4
    assert sorted(line["thread_id"] for line in env.outbox_lines()) == sorted([first, second, third])
    [fourth, fifth] = env.start(CRASHY, 2)
    code, out, _ = cli(env, capsys, "reject", fourth, fifth, first, "--reason", "not now", "--json")
    results = json.loads(out)["results"]
    assert code == 3 and [r["status"] for r in results] == ["finished", "finished", "refused"]
    assert len(env.outbox_lines()) == 3  # rejected: nothing ran
    code, _, err = cli(env, capsys, "approve", fourth, fifth, "--interrupt", "x")
    assert code == 2 and "decide several threads without them" in one_sentence(err)


def test_real_processes_decide_here_resume_in_the_worker(env: Env) -> None:
    decided, unknown_ok = env.start(CRASHY, 2)
    console = write_config_without_graphs(env)
    # Three console-script runs at once: done (decided, left for a worker), an unknown thread, bad JSON.
    runs = [run_real(env, "approve", decided, config=console), run_real(env, "approve", "ghost", "--json"),
            run_real(env, "edit", unknown_ok, "--args", "not json")]
    (code, out, err), (code2, out2, err2), (code3, out3, err3) = [finish(p) for p in runs]
    assert (code, out, err) == (0, "Decided; a worker will resume the thread.\n", "")
    assert code2 == 2 and json.loads(out2)["status"] == "error" and one_sentence(err2).startswith("There is no thread")
    assert code3 == 2 and out3 == "" and one_sentence(err3).startswith("--args is not valid JSON")
    assert env.outbox_lines() == []
    # Decided but not resumed yet: a second decision is refused, from any process.
    code, out, err = finish(run_real(env, "reject", decided, "--reason", "changed my mind", config=console))
    assert code == 3 and out.startswith("Refused: Already decided (approve) by ") and err == ""
    # The worker, in its own process with the agent's code, resumes it once.
    code, out, err = finish(run_real(env, "worker", "--once"))
    assert code == 0 and out.startswith("resumed: 1 finished;"), (out, err)
    code, out, err = finish(run_real(env, "worker", "--once"))
    assert code == 0 and out.startswith("resumed: none;")
    assert [line["thread_id"] for line in env.outbox_lines()] == [decided]
    assert [r["state"] for r in ledger_rows(env.db)] == ["finished"]


def test_an_unwritable_audit_log_decides_nothing_and_runs_nothing(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    """The rule: no action runs while its audit trail can't be written. Refused up front, exit 2, one sentence."""
    [tid] = env.start(CRASHY)
    env.audit_path.unlink(missing_ok=True)
    env.audit_path.mkdir()  # the log's path is now a folder: it can't be opened for appending
    code, out, err = cli(env, capsys, "approve", tid)
    assert code == 2 and out == ""
    sentence = one_sentence(err)
    assert sentence.startswith("Cannot open the audit log") and "Nothing was decided" in sentence
    assert env.outbox_lines() == [] and ledger_rows(env.db) == []
    env.audit_path.rmdir()  # fixed: the same decision goes through, and the log has it
    assert cli(env, capsys, "approve", tid)[0] == 0
    assert len(env.outbox_lines()) == 1
    check_audit_matches_ledger(env)


def test_a_worker_says_which_decisions_wait_for_a_graph_it_cannot_load(env: Env) -> None:
    [tid] = env.start(CRASHY)
    console = write_config_without_graphs(env)
    assert finish(run_real(env, "approve", tid, config=console))[0] == 0  # decided, left for a worker
    bare = env.directory / "worker-without-graphs.toml"
    bare.write_text(f'[console]\ndb = "{env.db}"\naudit_log = "{env.audit_path}"\n', encoding="utf-8")
    code, out, _ = finish(run_real(env, "worker", "--once", config=bare))
    assert code == 0 and "decisions waiting for a graph this worker has no code for: 'crashy' (1)" in out
    assert env.outbox_lines() == []
    code, out, _ = finish(run_real(env, "worker", "--once"))  # the agent's own config: resumed, nothing waits
    assert code == 0 and out.startswith("resumed: 1 finished") and "waiting for a graph" not in out
