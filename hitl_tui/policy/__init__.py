"""Policies: confidence bands, risk rules, four-eyes approvals, timeouts and escalation (no Textual here)."""
