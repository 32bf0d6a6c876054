"""`qa migrate --to postgresql://...`: copy an embedded data dir into PostgreSQL, vectors included.

Nothing is re-embedded: every paragraph keeps its id, text, tokens and vectors (its sentences'
too), so the copy answers exactly as the data dir did. Each document is one transaction in the
target, and a document already there is skipped, so an interrupted copy is resumed by running
the same command again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qa.backends.postgres import PostgresStore
from qa.backends.sqlite import SQLiteStore

Progress = Callable[[int, int], None]  # (documents done now, documents in all)


@dataclass(slots=True)
class MigrationResult:
    copied: int
    skipped: int
    paragraphs: int


def copy_store(source: SQLiteStore, target: PostgresStore, progress: Progress | None = None) -> MigrationResult:
    """Copy every document of `source` that `target` lacks; the counts."""
    result = MigrationResult(0, 0, 0)
    model = source.model
    documents = source.documents()
    if model is None:
        return result
    name, dim = model
    for document in documents:
        stored = source.stored_document(document.id, dim)
        if stored is not None:
            content_hash, paragraphs, blocks = stored
            ids = [pid for pid, _ in paragraphs]
            if target.copy_document(document, content_hash, [p for _, p in paragraphs], ids, name, dim, blocks):
                result.copied += 1
                result.paragraphs += len(ids)
            else:
                result.skipped += 1
        if progress:
            progress(1, len(documents))
    if source.meta("seeded"):
        target.set_meta("seeded", "1")
    return result
