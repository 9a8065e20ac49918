"""What a payload says it accepts, and checking an answer against that before anything is committed.

Two places carry a JSON Schema: an interrupt's `response_schema` (LangGraph publishes the JSON Schema of the type
`interrupt(value, response_schema=...)` was given; LangChain's per-call HITL middleware sends a discriminated union
of the decisions a tool allows, whose edit branch holds the tool's own argument schema), and a review config's or
our own payload's `args_schema`. A resume value the agent's schema refuses makes LangGraph raise inside the agent,
and depending on the shape it may already have saved the answer: the interrupt is then stranded. So every answer
and every edited argument is checked here first, and an answer the schema forbids is never offered.

Validation uses the `jsonschema` library (Draft 2020-12, what Pydantic emits): a hand-written subset would drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hitl_tui.safe_text import visible


def _resolve(node: Any, root: Mapping[str, Any]) -> Any:
    """Follow a local `$ref` ("#/$defs/Name") once; anything else is returned as it is."""
    if isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target.get(part) if isinstance(target, Mapping) else None
        return target if target is not None else node
    return node


def _members(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The alternatives of a union schema (oneOf/anyOf), resolved, or the schema itself."""
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list):
            return [m for m in (_resolve(m, schema) for m in schema[key]) if isinstance(m, Mapping)]
    return [schema]


def _tag_values(member: Mapping[str, Any], field: str) -> list[str]:
    props = member.get("properties")
    tag = props.get(field) if isinstance(props, Mapping) else None
    if not isinstance(tag, Mapping):
        return []
    if isinstance(tag.get("const"), str):
        return [tag["const"]]
    if isinstance(tag.get("enum"), list):
        return [v for v in tag["enum"] if isinstance(v, str)]
    return []


def decision_types(schema: Any, field: str = "type") -> list[str] | None:
    """The decision tags (`type` values) a response schema accepts, or None when it doesn't say."""
    if not isinstance(schema, Mapping):
        return None
    discriminator = schema.get("discriminator")
    mapping = discriminator.get("mapping") if isinstance(discriminator, Mapping) else None
    if isinstance(mapping, Mapping) and mapping:
        return [k for k in mapping if isinstance(k, str)]
    found = [tag for member in _members(schema) for tag in _tag_values(member, field)]
    return found or None


def edit_args_schema(schema: Any) -> dict[str, Any] | None:
    """The schema of an edit's arguments inside a response schema (`edited_action.args` of the edit branch), made
    self-contained (the root's `$defs` travel with it), or None when the schema has no such branch."""
    if not isinstance(schema, Mapping):
        return None
    for member in _members(schema):
        if "edit" not in _tag_values(member, "type"):
            continue
        action = _resolve(member.get("properties", {}).get("edited_action"), schema)
        args = action.get("properties", {}).get("args") if isinstance(action, Mapping) else None
        args = _resolve(args, schema)
        if isinstance(args, Mapping):
            defs = schema.get("$defs")
            return {**args, "$defs": defs} if isinstance(defs, Mapping) and "$defs" not in args else dict(args)
    return None


def problem(value: Any, schema: Any) -> str | None:
    """Why `value` does not fit `schema`, as a short phrase naming where; None when it fits (or there is no
    usable schema: an unreadable schema must not block a decision the agent may well accept)."""
    if not isinstance(schema, Mapping):
        return None
    # Imported here, not at the top: jsonschema takes ~0.1 s to import, and reading the DB (the console's first
    # paint, `list`, the split read's child) never validates anything.
    import jsonschema
    import jsonschema.exceptions

    try:
        validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        validator_class.check_schema(schema)
    except jsonschema.exceptions.SchemaError:
        return None
    error = jsonschema.exceptions.best_match(validator_class(schema).iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    text = visible(error.message)
    text = text if len(text) <= 160 else text[:159] + "…"
    return f"{where}: {text}" if where else text
