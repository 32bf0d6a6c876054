"""The one place a backend is chosen: `QA_DATABASE_URL` set to a PostgreSQL URL, else embedded.

Example: no URL -> `EmbeddedBackend` (SQLite + FAISS in `QA_DATA_DIR`, what `make run` uses);
`postgresql://user@host:5432/qa` -> `PostgresBackend` (pgvector, stateless nodes).
"""

from __future__ import annotations

from qa.backends.base import Backend, Store
from qa.settings import Settings


def open_backend(settings: Settings) -> Backend:
    """The backend the settings name, opened (migrated, its indexes loaded)."""
    if settings.database_url:
        from qa.backends.postgres import PostgresBackend  # psycopg only where PostgreSQL is used

        return PostgresBackend(settings)
    from qa.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(settings)


def open_store(settings: Settings) -> Store:
    """Only the store the settings name (no index loaded): to check it, or to copy from it."""
    if settings.database_url:
        from qa.backends.postgres import PostgresStore

        return PostgresStore(settings)
    from qa.backends.sqlite import SQLiteStore

    return SQLiteStore(settings.data_dir)
