"""Demo agents: real LangGraph graphs that pause for a human, with a harmless outbox side effect.

Read them as examples of every pause style hitl-tui handles:

- `email_agent`        the project's own payload via `request_approval` (approve/edit/reject/feedback)
- `plan_execute`       a static breakpoint (`interrupt_before=["execute"]`) steered through state
- `confidence_agent`   pauses only when the model's confidence is below a threshold
- `batch_tools`        several tool calls in one pause (LangChain HumanInTheLoopMiddleware, batched)
- `per_call_tools`     one pause per tool call (the middleware's per-call mode, Send tasks)
- `inbox_agent`        the Agent Inbox HumanInterrupt shape
- `parallel_approvals` two interrupts pending at once on one thread
- `subgraph_approval`  an interrupt raised inside a subgraph, resumed from the root

Heavy imports (langgraph, openai) happen in the agent modules and inside `runner`'s functions only, so
`from hitl_tui.demo import read_outbox, prepare_demo` stays cheap.
"""

from hitl_tui.demo.outbox import read_outbox, record_effect
from hitl_tui.demo.runner import DemoEnv, build_demo_graph, config_text, open_saver, prepare_demo, run_live

__all__ = [
    "DemoEnv",
    "build_demo_graph",
    "config_text",
    "open_saver",
    "prepare_demo",
    "read_outbox",
    "record_effect",
    "run_live",
]
