"""The reads the two SQL stores ask in the same SQL, written once for `SQLiteStore` and `PostgresStore`.

The stores differ in how they connect, write and keep vectors (a float32 blob in SQLite, a
pgvector value in PostgreSQL), not in how they read documents, paragraphs and sentences. The
queries here use `?` placeholders; each store's `_query` runs them in its dialect, `_in` spells
"this column is one of these values" for it, and `_vectors` turns its stored vectors into rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from qa.backends.base import SentenceTable
from qa.models import Block, Document, Paragraph


def block_rows(doc_id: str, blocks: Sequence[tuple[Block, str]]) -> list[tuple[Any, ...]]:
    """The rows of the `blocks` table for a document's blocks with their keys, in column order."""
    return [(doc_id, b.n, b.label, b.reason, b.section, b.paragraph, key, b.text) for b, key in blocks]


class SQLReads(ABC):
    """The `Store` reads both SQL stores share; a store supplies the dialect's four pieces below."""

    vector_column: str  # the column paragraphs and sentences keep their vectors in

    @abstractmethod
    def _query(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """Run `sql` (with `?` placeholders) on this thread's connection; its cursor."""

    @staticmethod
    @abstractmethod
    def _in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """A condition that `column` is one of `values`, and its arguments."""

    @staticmethod
    @abstractmethod
    def _vectors(stored: Sequence[Any], dim: int) -> np.ndarray:
        """Stored vectors as float32 rows of `dim` columns."""

    # -- meta -------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._query("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @property
    def unseeded(self) -> bool:
        """True for a store that has never held a document: the seeds belong in it."""
        return not (self.meta("seeded") or self.counts()[0])

    @property
    def generation(self) -> int:
        return int(self.meta("generation") or 0)

    # -- reads ------------------------------------------------------------------------

    def documents(self, doc_id: str | None = None) -> list[Document]:
        """Every document (or just `doc_id`'s) with its paragraph count."""
        where, args = ("WHERE d.id = ? ", (doc_id,)) if doc_id is not None else ("", ())
        rows = self._query(
            "SELECT d.id, d.title, d.source, COUNT(p.id), d.created_at, d.updated_at "
            f"FROM documents d LEFT JOIN paragraphs p ON p.doc_id = d.id {where}"
            "GROUP BY d.id ORDER BY d.created_at, d.id",
            args,
        )
        return [Document(*row) for row in rows]

    def document(self, doc_id: str) -> tuple[Document, list[Paragraph]] | None:
        docs = self.documents(doc_id)
        if not docs:
            return None
        rows = self._query(
            "SELECT id, doc_id, n, text, section, citable_start FROM paragraphs WHERE doc_id = ? ORDER BY n", (doc_id,)
        )
        doc = docs[0]
        return doc, [
            Paragraph(pid, did, n, text, doc.title, doc.source, section, start)
            for pid, did, n, text, section, start in rows
        ]

    def blocks(self, doc_id: str) -> list[Block]:
        """The blocks of a document as ingest labelled them, in page order ([] if stored before blocks were)."""
        rows = self._query(
            "SELECT n, text, label, reason, section, paragraph FROM blocks WHERE doc_id = ? ORDER BY n", (doc_id,)
        )
        return [Block(*row) for row in rows]

    def content_hash(self, doc_id: str) -> str | None:
        row = self._query("SELECT content_hash FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def counts(self) -> tuple[int, int]:
        """(documents, paragraphs)."""
        docs, paras = self._query(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM paragraphs)"
        ).fetchone()
        return int(docs), int(paras)

    def paragraphs(self, ids: Sequence[int]) -> dict[int, Paragraph]:
        """Paragraphs by id, with their document's title and source."""
        if not ids:
            return {}
        among, args = self._in("p.id", [int(i) for i in ids])
        rows = self._query(
            "SELECT p.id, p.doc_id, p.n, p.text, d.title, d.source, p.section, p.citable_start FROM paragraphs p "
            f"JOIN documents d ON d.id = p.doc_id WHERE {among}",
            args,
        )
        return {row[0]: Paragraph(*row) for row in rows}

    def neighbours(self, paragraphs: Sequence[Paragraph], reach: int) -> dict[int, list[Paragraph]]:
        """Per paragraph id, the paragraphs of its document within `reach` places of it (itself
        excluded), in page order: the surrounding text a reader reads a short paragraph with."""
        if not paragraphs or reach < 1:
            return {}
        where = " OR ".join("(p.doc_id = ? AND p.n BETWEEN ? AND ?)" for _ in paragraphs)
        args = [v for p in paragraphs for v in (p.doc_id, p.n - reach, p.n + reach)]
        rows = self._query(
            "SELECT p.id, p.doc_id, p.n, p.text, d.title, d.source, p.section, p.citable_start FROM paragraphs p "
            f"JOIN documents d ON d.id = p.doc_id WHERE {where} ORDER BY p.doc_id, p.n",
            args,
        )
        found = [Paragraph(*row) for row in rows]
        return {
            p.id: [q for q in found if q.doc_id == p.doc_id and q.id != p.id and abs(q.n - p.n) <= reach]
            for p in paragraphs
        }

    def sentences(self, paragraph_ids: Sequence[int], dim: int) -> dict[int, SentenceTable]:
        """Sentence offsets and vectors of the given paragraphs."""
        if not paragraph_ids:
            return {}
        among, args = self._in("paragraph_id", [int(i) for i in paragraph_ids])
        rows = self._query(
            f'SELECT paragraph_id, start, "end", {self.vector_column} FROM sentences WHERE {among} '
            "ORDER BY paragraph_id, n",
            args,
        )
        grouped: dict[int, list[tuple[int, int, Any]]] = {}
        for pid, start, end, vector in rows:
            grouped.setdefault(pid, []).append((start, end, vector))
        return {
            pid: SentenceTable(
                np.array([r[0] for r in items]),
                np.array([r[1] for r in items]),
                self._vectors([r[2] for r in items], dim),
            )
            for pid, items in grouped.items()
        }

    def _pages(self, sql: str, key_width: int, batch: int) -> Iterator[list[Any]]:
        """The rows of `sql` in batches, by keyset pagination on its first `key_width` columns.

        `sql` takes the last key's values, then the batch size, as parameters.
        """
        last: tuple[object, ...] = (-1,) * key_width
        while True:
            rows = self._query(sql, (*last, batch)).fetchall()
            if not rows:
                return
            yield rows
            last = tuple(rows[-1][:key_width])

    def iter_passages(self, batch: int = 1024) -> Iterator[list[tuple[int, str, str, str]]]:
        """Every paragraph as (id, citable text, document title, section), in id order, in batches."""
        return self._pages(
            "SELECT p.id, substr(p.text, p.citable_start + 1), d.title, p.section "
            "FROM paragraphs p JOIN documents d ON d.id = p.doc_id "
            "WHERE p.id > ? ORDER BY p.id LIMIT ?",
            1,
            batch,
        )

    def iter_sentences(self, batch: int = 4096) -> Iterator[list[tuple[int, int, str, str, str]]]:
        """Every sentence as (paragraph id, n, sentence text, document title, section), in batches."""
        return self._pages(
            'SELECT s.paragraph_id, s.n, substr(p.text, s.start + 1, s."end" - s.start), d.title, p.section '
            "FROM sentences s JOIN paragraphs p ON p.id = s.paragraph_id JOIN documents d ON d.id = p.doc_id "
            "WHERE (s.paragraph_id, s.n) > (?, ?) ORDER BY s.paragraph_id, s.n LIMIT ?",
            2,
            batch,
        )
