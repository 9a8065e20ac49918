"""The `backend_db` fixture: the reader tests' checkpoint DB on each backend, LangGraph's own saver writing to it.

Tests that take `backend_db` run twice: on a SQLite file (SqliteSaver, CheckpointReader) and on a fresh Postgres
database (PostgresSaver, StoreReader over PostgresStore). Registered as a plugin in conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from reader_graphs import open_pg_saver, open_saver

from hitl_tui.checkpoints.reader import CheckpointReader
from hitl_tui.config import Config

OpenReader = Callable[[Config | None], Any]
"""config -> a reader of the test's DB with read_all/thread/poll (CheckpointReader or StoreReader)."""


@pytest.fixture(params=["sqlite", "postgres"])
def backend_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[OpenReader, Any]]:
    """(open_reader, saver) on one backend: a SQLite file, or a fresh database on the test Postgres server."""
    if request.param == "sqlite":
        path = tmp_path / "checkpoints.db"
        with open_saver(path) as saver:
            yield (lambda config=None: CheckpointReader(path, config)), saver
        return
    from hitl_tui.checkpoints.postgres.store import PostgresStore
    from hitl_tui.checkpoints.store_reader import StoreReader

    dsn = request.getfixturevalue("pg_dsn")
    readers: list[StoreReader] = []

    def open_reader(config: Config | None = None) -> StoreReader:
        readers.append(StoreReader(PostgresStore(dsn), config))
        return readers[-1]

    with open_pg_saver(dsn) as saver:
        yield open_reader, saver
    for reader in readers:
        reader.close()
