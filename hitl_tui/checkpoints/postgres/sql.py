"""The SQL the Postgres store runs against LangGraph's tables (checkpoints, checkpoint_blobs, checkpoint_writes).

LangGraph keeps a checkpoint as JSONB with primitive channel values inline and every other value in
`checkpoint_blobs`, one row per (channel, version): the checkpoint's `channel_versions` name the rows that hold
its values (a blob of type `empty` means the channel holds nothing at that version).
"""

from __future__ import annotations

from hitl_tui.checkpoints.prefilter import EMPTY_SET

# Channels that can trigger a task (classify.py): only a checkpoint holding one of them has anything left to run.
# (starts_with, not LIKE: no % signs in statements that also take parameters.)
_TRIGGER = "(starts_with({k}, 'branch:to:') OR starts_with({k}, 'join:') OR {k} IN ('__start__', '__pregel_tasks'))"
# JsonPlusSerializer's msgpack for an empty set (a join that fired) and an empty list (Sends handed out).
EMPTY_SET_HEX = EMPTY_SET.hex()
EMPTY_LIST_HEX = "90"

# Finished threads (most of them) are recognised in the server and never sent: the checkpoint holds a trigger
# channel inline (`branch:to:N` = null), or a blob at its current version holds one that is not spent.
MAY_HAVE_TASKS = f"""(
    EXISTS (SELECT 1 FROM jsonb_object_keys(c.checkpoint -> 'channel_values') AS k WHERE {_TRIGGER.format(k="k")})
    OR EXISTS (
        SELECT 1 FROM jsonb_each_text(c.checkpoint -> 'channel_versions') AS v
        JOIN checkpoint_blobs AS b ON b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
            AND b.channel = v.key AND b.version = v.value
        WHERE {_TRIGGER.format(k="v.key")} AND b.type <> 'empty'
            AND NOT (b.type = 'msgpack' AND starts_with(v.key, 'join:') AND b.blob = '\\x{EMPTY_SET_HEX}'::bytea)
            AND NOT (b.type = 'msgpack' AND v.key = '__pregel_tasks' AND b.blob = '\\x{EMPTY_LIST_HEX}'::bytea)
    )
)"""

# The latest root checkpoint per thread: a backward walk of the primary key (thread_id, checkpoint_ns,
# checkpoint_id), no sort. checkpoint_id is a uuid6, so the greatest is the newest.
LATEST_IDS = (
    "SELECT DISTINCT ON (thread_id) thread_id, checkpoint_id FROM checkpoints WHERE checkpoint_ns = '' {where}"
    "ORDER BY thread_id DESC, checkpoint_id DESC"
)

LATEST_ROWS = f"""
SELECT c.thread_id, c.checkpoint_id, c.parent_checkpoint_id, c.checkpoint, c.metadata::text
FROM ({LATEST_IDS}) AS l
JOIN checkpoints AS c ON c.thread_id = l.thread_id AND c.checkpoint_ns = '' AND c.checkpoint_id = l.checkpoint_id
WHERE {MAY_HAVE_TASKS}
"""

# The channel values kept as blobs, at the versions these checkpoints name.
BLOBS_AT = """
SELECT c.thread_id, b.channel, b.type, b.blob
FROM unnest(%s::text[], %s::text[]) AS l(thread_id, checkpoint_id)
JOIN checkpoints AS c ON c.thread_id = l.thread_id AND c.checkpoint_ns = %s AND c.checkpoint_id = l.checkpoint_id
CROSS JOIN LATERAL jsonb_each_text(c.checkpoint -> 'channel_versions') AS v
JOIN checkpoint_blobs AS b ON b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
    AND b.channel = v.key AND b.version = v.value
"""

# The writes keyed to given root checkpoints. Values are only needed for interrupts and errors.
WRITES_AT = """
SELECT w.thread_id, w.task_id, w.task_path, w.idx, w.channel, w.type,
    CASE WHEN w.channel IN ('__interrupt__', '__error__') THEN w.blob END
FROM unnest(%s::text[], %s::text[]) AS l(thread_id, checkpoint_id)
JOIN checkpoint_writes AS w ON w.thread_id = l.thread_id AND w.checkpoint_ns = '' AND w.checkpoint_id = l.checkpoint_id
ORDER BY w.thread_id, w.task_id, w.idx
"""

# A thread's row marks: how many checkpoints and writes it has, and the sum of their row versions' transaction
# ids. There is no rowid here: an upsert rewrites a row in place (LangGraph upserts `__error__` and
# `__interrupt__` writes), which keeps the counts but gives the row a new xmin, so the sum moves.
MARKS = """
SELECT t,
    (SELECT count(*) FROM checkpoints WHERE thread_id = t),
    (SELECT count(*) FROM checkpoint_writes WHERE thread_id = t),
    coalesce((SELECT sum(xmin::text::bigint) FROM checkpoints WHERE thread_id = t), 0)
        + coalesce((SELECT sum(xmin::text::bigint) FROM checkpoint_writes WHERE thread_id = t), 0)
FROM unnest(%s::text[]) AS t
"""

TASK_WRITES = (
    "SELECT task_id, task_path FROM checkpoint_writes "
    "WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s"
)

CHECKPOINT_AT = (
    "SELECT checkpoint FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s"
)

# starts_with, not a range on text: comparisons follow the database's collation, which need not be bytewise.
INTERRUPT_ROWS = """
SELECT checkpoint_ns, checkpoint_id, task_path, type, blob FROM checkpoint_writes
WHERE thread_id = %s AND starts_with(checkpoint_ns, %s) AND channel = '__interrupt__'
ORDER BY length(checkpoint_ns) DESC, checkpoint_id DESC
"""

# Moves whenever a transaction id is handed out or a running transaction ends, anywhere on the server: every
# commit that could add or change a row moves it (a read-only transaction never gets an id, so reads don't).
CHANGE_TOKEN = "SELECT pg_current_snapshot()::text"

REQUIRED_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
