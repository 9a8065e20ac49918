"""The `hitl-tui` command: one module per command group; `main` parses and dispatches."""
