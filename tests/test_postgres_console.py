"""The console on a Postgres database: a new pause shows up without a restart, and a dropped connection shows in
the status line and heals by itself (the watcher reads everything afresh on a new connection)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from helpers_pg_decisions import PgEnv, make_pg_env
from ui_fixtures import ALICE, frozen_clock, loaded, wait_for

pytest.importorskip("psycopg")


def listed(app: Any) -> set[str]:
    return {it.thread.thread_id for it in app.console_screen.thread_list.items}


def problems(app: Any) -> dict[str, str]:
    return dict(app.console_screen.query_one("StatusBar").problems)


def drop_connections(env: PgEnv) -> int:
    """What a server restart or a network cut does to every session on the database but this one."""
    import psycopg

    with psycopg.connect(env.dsn, autocommit=True) as conn:
        return len(conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall())


async def test_the_console_follows_postgres_and_survives_a_dropped_connection(pg_dsn: str, tmp_path: Path) -> None:
    from hitl_tui.ui.app import build_app

    env = make_pg_env(pg_dsn, tmp_path)
    env.start(3)
    app = build_app(env.config("host-a"), env.dsn, operator=ALICE, clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert listed(app) == {"t-0001", "t-0002", "t-0003"}
        await asyncio.to_thread(env.start, 1, "late")  # an agent on another host pauses
        await wait_for(pilot, lambda: "late-0001" in listed(app), 10, "the new pause")

        assert await asyncio.to_thread(drop_connections, env) > 0
        await wait_for(pilot, lambda: "db" in problems(app), 10, "the dropped connection in the status line")
        await wait_for(pilot, lambda: "db" not in problems(app), 15, "the console to reconnect by itself")
        await asyncio.to_thread(env.start, 1, "after")
        await wait_for(pilot, lambda: "after-0001" in listed(app), 10, "a pause after the reconnect")
