"""`hitl-tui --db postgresql://...`: list, the decision commands, worker and audit verify on a real Postgres
database written by real LangGraph graphs; errors a user can cause end in one sentence without the password."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from helpers_pg_decisions import PgEnv, make_pg_env

from hitl_tui.cli.main import main

pytest.importorskip("psycopg")


@pytest.fixture
def pg_env(pg_dsn: str, tmp_path: Path) -> PgEnv:
    return make_pg_env(pg_dsn, tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_decide_worker_and_verify_through_a_url(pg_env: PgEnv, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = pg_env.start(2)
    config = str(pg_env.config_path("host-a"))
    monkeypatch.chdir(pg_env.directory)
    code, out, _ = run(capsys, "--db", pg_env.dsn, "list", "--config", config, "--json")
    assert code == 0
    assert sorted(t["thread_id"] for t in json.loads(out)) == [first, second]

    # Decisions from the commands (resumed in-process: this config loads the graph), refused a second time.
    code, out, err = run(capsys, "--db", pg_env.dsn, "approve", first, "--config", config, "--yes")
    assert code == 0, err
    code, out, err = run(capsys, "approve", first, "--db", pg_env.dsn, "--config", config, "--yes")
    assert code == 3 and "no longer waiting" in out + err, out + err
    code, out, err = run(capsys, "--db", pg_env.dsn, "reject", second, "--config", config, "--yes", "--reason", "no")
    assert code == 0, err
    code, out, err = run(capsys, "worker", "--once", "--db", pg_env.dsn, "--config", config)
    assert code == 0, err
    assert pg_env.effects() == Counter({first: 1})
    assert {r["state"] for r in pg_env.rows()} == {"finished"}

    code, out, _ = run(capsys, "--db", pg_env.dsn, "list", "--config", config, "--json", "--all")
    assert code == 0

    audit = pg_env.config("host-a").audit_log
    code, out, err = run(capsys, "audit", "verify", str(audit), "--db", pg_env.dsn, "--config", config)
    assert code == 0, out + err
    assert out.count("OK:") == 2, out


def test_watch_streams_pauses_and_decisions_from_postgres(pg_env: PgEnv) -> None:
    import signal
    import subprocess

    from test_watch import EXE, WAIT, Watch, clean_environment

    [before] = pg_env.start(1, prefix="w")
    config = pg_env.config_path("host-a")
    watch = Watch(config, "--db", pg_env.dsn)
    try:
        first = watch.wait_for(lambda e: e["thread_id"] == before, "the waiting thread's paused event")
        assert (first["event"], first["backlog"]) == ("paused", True)
        [after] = pg_env.start(1, prefix="x")  # an agent on another host pausing while the watch runs
        paused = watch.wait_for(lambda e: e["thread_id"] == after and e["event"] == "paused", "the new pause")
        assert paused["backlog"] is False
        decided = subprocess.run([str(EXE), "approve", after, "--db", pg_env.dsn, "--config", str(config), "--yes"],
                                 capture_output=True, text=True, timeout=WAIT, env=clean_environment())
        assert decided.returncode == 0, decided.stderr
        resumed = watch.wait_for(lambda e: e["thread_id"] == after and e["event"] == "resumed", "the resume")
        assert resumed["outcome"] == "finished" and "decided" in watch.of(after)
        watch.proc.send_signal(signal.SIGINT)
        assert watch.proc.wait(timeout=WAIT) == 0
        assert watch.proc.stderr is not None and watch.proc.stderr.read() == ""
    finally:
        if watch.proc.poll() is None:
            watch.proc.kill()
            watch.proc.wait()


def test_a_bad_url_is_one_sentence_without_the_password(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = "postgresql://someone:s3cret@127.0.0.1:1/nothing?connect_timeout=2"
    for argv in (["--db", url, "list"], ["approve", "t-1", "--db", url, "--yes"], ["worker", "--once", "--db", url]):
        code, out, err = run(capsys, *argv)
        assert code == 2, (argv, out, err)
        assert "s3cret" not in out + err
        assert err.startswith("hitl-tui: ") and err.count("\n") == 1 and "Traceback" not in err, err


def test_the_url_may_stand_in_config_toml(pg_env: PgEnv, capsys: pytest.CaptureFixture[str]) -> None:
    [tid] = pg_env.start(1)
    config = pg_env.config_path("host-a")
    config.write_text(config.read_text().replace("[console]\n", f'[console]\ndb = "{pg_env.dsn}"\n'))
    code, out, err = run(capsys, "list", "--config", str(config), "--json")
    assert code == 0, err
    assert [t["thread_id"] for t in json.loads(out)] == [tid]
