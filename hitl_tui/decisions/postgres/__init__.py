"""The decision ledger in Postgres (agents on several hosts): our own hitl_* tables beside LangGraph's, never
altering them. Needs the `postgres` extra (psycopg). No Textual here."""
