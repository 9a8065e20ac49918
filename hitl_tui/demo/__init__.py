"""Demo agents: real LangGraph graphs that pause for a human, with a harmless outbox side effect.

Read them as examples of every pause style hitl-tui handles. Heavy imports (langgraph, openai) happen in the
agent modules and in `runner` only, so `from hitl_tui.demo import read_outbox` stays cheap.
"""

from hitl_tui.demo.outbox import read_outbox, record_effect

__all__ = ["read_outbox", "record_effect"]
