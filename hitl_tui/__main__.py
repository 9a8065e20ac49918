from hitl_tui.cli import entry

entry()
