"""The few pieces every demo graph shares: compiling with its graph id, messages, and the outbox effect."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hitl_tui.demo.outbox import outbox_next_to, record_effect


def message(role: str, content: str, **extra: Any) -> dict[str, Any]:
    """A chat-style message as kept in the demo states' `messages` lists (plain dicts, JSON-able)."""
    return {"role": role, "content": content, **extra}


def configurable(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """`config["configurable"]`, or an empty mapping."""
    return (config or {}).get("configurable") or {}


def initiator(config: Mapping[str, Any] | None) -> str | None:
    """Who started the run (`configurable.user_id`), so four-eyes rules can exclude them."""
    user = configurable(config).get("user_id")
    return str(user) if user else None


def run_config(graph_id: str, thread_id: str, **configurable_extra: Any) -> dict[str, Any]:
    """The config a demo run uses: thread id, and the graph id in metadata (lands in checkpoint metadata)."""
    return {
        "configurable": {"thread_id": thread_id, **configurable_extra},
        "metadata": {"graph_id": graph_id},
    }


def compile_demo(builder: Any, checkpointer: Any, graph_id: str, **compile_kwargs: Any) -> Any:
    """Compile a demo graph so every run, resume and update_state records `graph_id` in checkpoint metadata.

    Binding the metadata to the compiled graph (not only to the first run's config) means a resumer that
    passes just a thread id still writes checkpoints the reader can attribute to this graph.
    """
    graph = builder.compile(checkpointer=checkpointer, name=graph_id, **compile_kwargs)
    return graph.with_config({"metadata": {"graph_id": graph_id}})


class Effects:
    """Performs the demo's side effects for one compiled graph; knows the outbox beside its DB."""

    def __init__(self, checkpointer: Any) -> None:
        self.default_outbox: Path | None = outbox_next_to(checkpointer)

    def run(
        self,
        effect: str,
        args: Mapping[str, Any],
        config: Mapping[str, Any] | None,
        *,
        decision_id: str | None = None,
        call_id: str | None = None,
    ) -> dict[str, Any]:
        """Append one outbox line for this execution and return it."""
        return record_effect(
            effect, args, config, default_outbox=self.default_outbox, decision_id=decision_id, call_id=call_id
        )
