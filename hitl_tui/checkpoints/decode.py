"""Decode checkpoint and write blobs without importing or running anything named in the data.

LangGraph's own serializer rebuilds objects by importing the module and class named in each msgpack extension.
We never do that: a handful of well-known value types become plain Python values, everything else becomes a
`{"__type__": "module.Name", ...fields}` dict that the UI can show and the decisions layer can hash.
"""

from __future__ import annotations

import json
from sys import intern
from typing import Any

import ormsgpack

EXT_CONSTRUCTOR_SINGLE_ARG = 0
EXT_CONSTRUCTOR_POS_ARGS = 1
EXT_CONSTRUCTOR_KW_ARGS = 2
EXT_METHOD_SINGLE_ARG = 3
EXT_PYDANTIC_V1 = 4
EXT_PYDANTIC_V2 = 5
EXT_NUMPY_ARRAY = 6
EXT_DELTA_SNAPSHOT = 7

TYPE_KEY = "__type__"
SHARED_TEXT = 64  # metadata values up to this long are shared between threads (sys.intern): ids, names, sources
_COLLECTIONS = {("builtins", "set"), ("builtins", "frozenset"), ("collections", "deque"), ("builtins", "tuple")}


class DecodeError(ValueError):
    """A blob that is not what LangGraph writes; the message says what was wrong in one sentence."""


def _ext_hook(code: int, data: bytes) -> Any:
    inner = ormsgpack.unpackb(data, ext_hook=_ext_hook)
    if code == EXT_DELTA_SNAPSHOT:
        return inner
    if code == EXT_NUMPY_ARRAY:
        return {TYPE_KEY: "numpy.ndarray"}
    if not isinstance(inner, list | tuple) or len(inner) < 3:
        return {TYPE_KEY: f"ext{code}", "value": inner}
    module, name, payload = inner[0], inner[1], inner[2]
    qualname = _qualname(module, name)
    if (module, name) in _COLLECTIONS and isinstance(payload, list | tuple):
        return list(payload)
    if code in (EXT_CONSTRUCTOR_SINGLE_ARG, EXT_METHOD_SINGLE_ARG):
        # uuid, decimal, datetime, ip addresses, secrets...: shown as their string form
        return {TYPE_KEY: qualname, "value": payload}
    if isinstance(payload, dict):
        out = {TYPE_KEY: qualname}
        out.update(payload)
        return out
    return {TYPE_KEY: qualname, "args": payload}


def _qualname(module: Any, name: Any) -> str:
    """`module.Name`, one string per type however many values of it are kept (thousands of messages)."""
    return intern(f"{module}.{name}")


def decode_typed(type_: str | None, blob: bytes | None) -> Any:
    """Decode one `(type, blob)` pair as stored by SqliteSaver."""
    if type_ is None or type_ == "null" or blob is None:
        return None
    if type_ == "msgpack":
        try:
            return ormsgpack.unpackb(blob, ext_hook=_ext_hook)
        except (ormsgpack.MsgpackDecodeError, ValueError, TypeError) as err:
            raise DecodeError(f"msgpack value does not decode ({err})") from None
    if type_ == "json":
        try:
            return json.loads(blob)
        except (ValueError, UnicodeDecodeError) as err:
            raise DecodeError(f"json value does not decode ({err})") from None
    if type_ in ("bytes", "bytearray"):
        return {TYPE_KEY: type_, "hex": bytes(blob[:256]).hex()}
    if type_ == "pickle":
        raise DecodeError("value is pickled; hitl-tui does not unpickle data from the DB")
    raise DecodeError(f"unknown value encoding {type_!r}")


_JSON = json.JSONDecoder()


def decode_metadata(blob: bytes | str | None) -> dict[str, Any]:
    """Checkpoint metadata is JSON text stored as (UTF-8) bytes."""
    if blob is None:
        return {}
    try:
        # Decoding UTF-8 ourselves skips json.loads' encoding sniffing: half the cost, paid once per listed thread.
        data = _JSON.decode(blob.decode("utf-8") if isinstance(blob, bytes) else blob)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise DecodeError(f"checkpoint metadata is not JSON ({err})") from None
    if not isinstance(data, dict):
        return {}
    # Every listed thread keeps its metadata: the same few keys and values (source, graph, user) are one string
    # each instead of one per thread, a fifth of a 40k backlog's metadata memory.
    return {intern(k): intern(v) if type(v) is str and len(v) <= SHARED_TEXT else v for k, v in data.items()}
