"""Tell a finished thread from its latest checkpoint's bytes, without decoding it.

Most threads in a real DB have finished, and decoding every one of their checkpoints is most of a cold read.
A thread has something left to run only if its checkpoint's `channel_values` holds a trigger: `branch:to:N`,
a complete `join:A+B:N`, `__pregel_tasks` (Sends) or `__start__` (see classify.py). Channel names are msgpack
strings, so their bytes appear verbatim in the blob. `channel_values` is the map between the top-level keys
`channel_values` and `channel_versions` (LangGraph writes `v, ts, id, channel_values, channel_versions, ...`).

The region ends at the LAST `channel_versions` key, so look-alike bytes in user data can only widen it.
The check is conservative: it answers "maybe" (decode it) whenever the layout is not exactly the expected one,
whenever a trigger name appears anywhere in that map (in user text too), and for a join channel unless its value
is exactly the empty set LangGraph stores once the join has fired (likewise an empty list of Sends). It answers
"no" only when no trigger can be there, and then LangGraph's `get_state().next` is empty too. Tests check it
against full decoding.
"""

from __future__ import annotations

_VALUES_KEY = b"\xaechannel_values"  # fixstr(14)
_VERSIONS_KEY = b"\xb0channel_versions"  # fixstr(16)
_VALUES_KEY_WITHIN = 160  # after v, ts and id (~85 bytes); further away means a layout we don't know
_JOIN = b"join:"
_SENDS_EMPTY = b"\xae__pregel_tasks\x90"  # the key, then an empty array: Sends already handed out
_SENDS = b"__pregel_tasks"
# JsonPlusSerializer's encoding of set(): ext 0 (constructor, one argument) of ("builtins", "set", []).
EMPTY_SET = b"\xc7\x0f\x00\x93\xa8builtins\xa3set\x90"


def may_have_tasks(type_: str | None, blob: bytes | None) -> bool:
    """False only when this checkpoint certainly has nothing left to run (the thread has finished)."""
    if type_ != "msgpack" or not blob:
        return True
    return msgpack_may_have_tasks(blob)


def msgpack_may_have_tasks(blob: bytes) -> bool:
    """`may_have_tasks` for a non-empty msgpack blob (the reader's scan loop calls this directly)."""
    find = blob.find
    start = find(_VALUES_KEY, 0, _VALUES_KEY_WITHIN)
    # The last occurrence: user data inside channel_values can only come before the real key, and anything after
    # it (a channel literally named so) only widens the region searched, which is safe.
    end = blob.rfind(_VERSIONS_KEY)
    if start < 0 or end <= start:
        return True
    if find(b"branch:to:", start, end) >= 0:
        return True
    at = find(b"__", start, end)  # __start__ and __pregel_tasks
    while at >= 0:
        if blob.startswith(b"__start__", at) or (
            blob.startswith(_SENDS, at) and not blob.startswith(_SENDS_EMPTY, at - 1)
        ):
            return True
        at = find(b"__", at + 1, end)
    at = find(_JOIN, start, end)
    while at >= 0:
        if not _fired_join_at(blob, at):
            return True
        at = find(_JOIN, at + 1, end)
    return False


def _fired_join_at(blob: bytes, at: int) -> bool:
    """True when `join:...` at `at` is a map key whose value is the empty set (a join that already fired)."""
    head = blob[at - 1]
    if 0xA0 <= head <= 0xBF:  # fixstr
        length = head & 0x1F
    elif at >= 2 and blob[at - 2] == 0xD9:  # str8
        length = head
    elif at >= 3 and blob[at - 3] == 0xDA:  # str16
        length = int.from_bytes(blob[at - 2 : at], "big")
    else:
        return False
    # A misread length lands inside text, which cannot hold EMPTY_SET's NUL byte: still "not fired".
    return blob.startswith(EMPTY_SET, at + length)
