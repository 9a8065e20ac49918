"""Third-party agents built with the real libraries, for the decisions tests (loaded by hitl-tui from config.toml).

- `per_call_graph` / `batched_graph`: LangChain `create_agent` with `HumanInTheLoopMiddleware` on a `transfer`
  tool whose review config allows only approve and reject (`strict_*`) or approve, edit and reject (`editable_*`).
  A scripted chat model asks for one transfer, then says "done" once it sees the tool's result: stateless, so a
  resumer in another process continues the same conversation.
- `typed_answer_graph`: asks twice with `interrupt(..., response_schema=EvenNumber)`, a Pydantic type whose
  validator (evenness) is not in its JSON Schema: only LangGraph, inside the agent, can refuse an odd answer, and it
  does so before saving anything. It names its graph only in the run's metadata, as many apps do.
"""

from __future__ import annotations

from typing import Any, TypedDict

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, field_validator

from hitl_tui.demo.outbox import record_effect

TRANSFER_ARGS = {"amount": 800, "to": "bob"}


@tool
def transfer(amount: int, to: str) -> str:
    """Move money to someone."""
    record_effect("transfer", {"amount": amount, "to": to}, get_config())
    return f"sent {amount} to {to}"


class ScriptedModel(BaseChatModel):
    """Asks for one transfer; once a tool result is in the conversation, says it is done."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        if any(isinstance(m, ToolMessage) for m in messages):
            reply = AIMessage(content="done")
        else:
            reply = AIMessage(content="", tool_calls=[{"name": "transfer", "args": TRANSFER_ARGS, "id": "call-1"}])
        return ChatResult(generations=[ChatGeneration(message=reply)])


def _agent(saver: Any, mode: str, allowed: list[str]) -> Any:
    middleware = HumanInTheLoopMiddleware(interrupt_on={"transfer": {"allowed_decisions": allowed}},
                                          interrupt_mode=mode)
    return create_agent(ScriptedModel(), tools=[transfer], middleware=[middleware], checkpointer=saver)


def strict_per_call_graph(saver: Any) -> Any:
    return _agent(saver, "per_call", ["approve", "reject"])


def editable_per_call_graph(saver: Any) -> Any:
    return _agent(saver, "per_call", ["approve", "edit", "reject"])


def strict_batched_graph(saver: Any) -> Any:
    return _agent(saver, "batched", ["approve", "reject"])


class EvenNumber(BaseModel):
    value: int

    @field_validator("value")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("must be even")
        return value


class TypedState(TypedDict, total=False):
    first: int
    second: int


def _ask(field: str) -> Any:
    def node(state: TypedState) -> dict[str, Any]:
        answer = interrupt(f"Pick an even {field} number", response_schema=EvenNumber)
        record_effect(f"picked {field}", {"value": answer.value}, get_config())
        return {field: answer.value}

    return node


def typed_answer_graph(saver: Any) -> Any:
    builder = StateGraph(TypedState)
    builder.add_node("first", _ask("first"))
    builder.add_node("second", _ask("second"))
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    return builder.compile(checkpointer=saver)  # no graph id bound here: the app passes it in run metadata
