"""The one place a backend is chosen from the settings (today: the embedded one).

Example: `open_backend(Settings())` -> `EmbeddedBackend` (SQLite + FAISS in `QA_DATA_DIR`).
"""

from __future__ import annotations

from qa.backends.base import Backend, Store
from qa.settings import Settings


def open_backend(settings: Settings) -> Backend:
    """The backend the settings name, opened (migrated, its indexes loaded)."""
    from qa.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(settings)


def open_store(settings: Settings) -> Store:
    """Only the store the settings name (no index loaded): to check it, or to copy from it."""
    from qa.backends.sqlite import SQLiteStore

    return SQLiteStore(settings.data_dir)
