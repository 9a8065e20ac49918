"""Widgets of the console: the thread list, details, status bar, audit pane."""
