"""Reading LangGraph's Postgres checkpointer (`langgraph-checkpoint-postgres`), for agents on several hosts.

Needs the `postgres` extra (psycopg). No Textual here; LangGraph's tables are only ever read.
"""
