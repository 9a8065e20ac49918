"""The console: the only package that imports Textual. A thin layer over the reader, the desk and the audit log.

Importing this package is cheap on purpose; `hitl_tui.ui.launch.run_console` and `hitl_tui.ui.app.build_app`
are the entry points.
"""
