"""hitl-tui: the terminal approval console for human-in-the-loop LangGraph agents."""

__version__ = "0.1.0"
