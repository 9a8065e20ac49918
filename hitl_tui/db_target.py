"""Which checkpoint database a command works on: a SQLite file (a Path) or a Postgres URL (a str).

`--db` takes either. argparse's `type=Path` would turn `postgresql://u@h/db` into `postgresql:/u@h/db`, so a URL
is recognised before anything makes a path of it, and kept as the string the user gave.
"""

from __future__ import annotations

from pathlib import Path

DbTarget = Path | str
"""A SQLite checkpoint file, or a `postgresql://` URL (libpq connection string)."""

_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(db: DbTarget | None) -> bool:
    """True for a Postgres URL."""
    return isinstance(db, str) and db.lower().startswith(_SCHEMES)


def db_target(text: str | Path) -> DbTarget:
    """The `--db` value as given: a URL stays a string, anything else is a path (argparse `type=`)."""
    if isinstance(text, str) and text.lower().startswith(_SCHEMES):
        return text
    return Path(text)


def describe(db: DbTarget) -> str:
    """The database for a message: a URL without its password."""
    return redact(str(db)) if is_postgres(db) else str(db)


def redact(dsn: str) -> str:
    """A connection string without its password, fit for a message."""
    import psycopg

    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "the Postgres database"
    where = f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
    return f"postgresql://{info['user']}@{where}" if info.get("user") else f"postgresql://{where}"
