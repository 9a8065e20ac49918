"""Recording a decision exactly once (the ledger), and resuming the agent with it (desk, resumer)."""
