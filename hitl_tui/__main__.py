from hitl_tui.cli.main import entry

entry()
