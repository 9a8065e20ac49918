"""The console's logic without Textual: the polling loops, review items, what a dialog says, edit JSON.

The Textual layer (`hitl_tui.ui`) renders these; everything here runs and is tested without a terminal.
"""
