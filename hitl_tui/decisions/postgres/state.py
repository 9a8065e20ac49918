"""Where each listed item stands in the Postgres ledger (approved n/m, decided by, resuming, failed): the same
answers as decision_state.py gives for SQLite, by running its reading code over a Postgres session.

decision_state's queries are SQLite's; the three things that differ (`?` placeholders, `json_each` over a JSON
list of thread ids, `rowid` order) are translated here, so the rules that turn rows into states stay in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg

from hitl_tui.decisions.state import DecisionState, Item, VotesNeeded, _read, item_key


class SqliteDialect:
    """Just enough of sqlite3.Connection.execute for decision_state's reads, on a psycopg session."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn

    def execute(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        if query in ("BEGIN", "COMMIT"):  # one REPEATABLE READ snapshot for the three reads, as in SQLite
            query = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if query == "BEGIN" else query
            return self._conn.execute(query)
        translated = (query.replace("(SELECT value FROM json_each(?))", "(SELECT jsonb_array_elements_text(%s::jsonb))")
                      .replace("ORDER BY rowid", "ORDER BY seq").replace("?", "%s"))
        return self._conn.execute(translated, params)  # type: ignore[arg-type]


def decision_states(conn: psycopg.Connection, items: Iterable[Item], *,
                    votes_needed: VotesNeeded | None = None) -> dict[str, DecisionState]:
    """Each item's state, keyed by `item_key` (see decision_state.decision_states)."""
    wanted = {item_key(t.thread_id, t.checkpoint_id, i.key): (t, i) for t, i in items}
    if not wanted:
        return {}
    if conn.execute("SELECT to_regclass('hitl_decisions') IS NULL").fetchone()[0]:  # type: ignore[index]
        return {key: DecisionState() for key in wanted}  # nobody has decided anything in this database yet
    return _read(SqliteDialect(conn), wanted, votes_needed)  # type: ignore[arg-type]
