"""Reading LangGraph's checkpoint storage: which threads are paused, on what, and what changed since the last look.

Read-only; never imports Textual, LangGraph or the decision side.
"""
