"""Alembic migrations (the same revisions on SQLite and PostgreSQL)."""
