"""The embedded backend's store in one SQLite file: documents, raw paragraphs, sentences, vectors, blocks.

The store is the source of truth. It keeps each paragraph's vector (and its sentences'
vectors) so the FAISS index can be rebuilt without re-embedding, and a `generation`
counter bumped by every write so a saved index knows whether it is current. Every write
is one SQLite transaction: a crash leaves the previous state, never half a document.
It also keeps every block of each page with its label and reason, so a user can see what
cleaning did, and the blocks' keys, so ingest can tell site furniture that recurs across
the corpus. A data dir made before blocks and sections existed is migrated on open.
The reads it asks in the same SQL as the PostgreSQL store are in `qa.backends.sql`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from qa.backends.base import NewParagraph, vectors_from_blobs
from qa.backends.sql import SQLReads, block_rows
from qa.models import Block

STORE_FILE = "store.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS paragraphs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    text TEXT NOT NULL,
    hash TEXT NOT NULL,
    tokens TEXT NOT NULL,
    vector BLOB NOT NULL,
    section TEXT NOT NULL DEFAULT '',
    citable_start INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS paragraphs_doc ON paragraphs (doc_id, n);
CREATE INDEX IF NOT EXISTS paragraphs_hash ON paragraphs (hash);
CREATE TABLE IF NOT EXISTS sentences (
    paragraph_id INTEGER NOT NULL REFERENCES paragraphs(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (paragraph_id, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    label TEXT NOT NULL,
    reason TEXT NOT NULL,
    section TEXT NOT NULL,
    paragraph INTEGER,
    key TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (doc_id, n)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blocks_key ON blocks (key);
CREATE TABLE IF NOT EXISTS changes (
    generation INTEGER PRIMARY KEY,
    removed TEXT,
    added TEXT
);
"""
# Writes whose paragraph ids the `changes` table keeps, so another process can apply just
# those (`changes_since`); an older gap, or a write that changed vectors, means a reload.
CHANGES_KEPT = 1000
# Columns added since the first data dirs were made: (table, column, definition).
_ADDED_COLUMNS = (
    ("paragraphs", "section", "TEXT NOT NULL DEFAULT ''"),
    ("paragraphs", "citable_start", "INTEGER NOT NULL DEFAULT 0"),
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


class SQLiteStore(SQLReads):
    """The `Store` of the embedded backend, in one SQLite file; safe to share between threads."""

    vector_column = "vector"

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / STORE_FILE
        self._local = threading.local()
        self._con().executescript(_SCHEMA)
        self._migrate()

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, isolation_level=None, timeout=60)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            con.execute("PRAGMA foreign_keys=ON")
            self._local.con = con
        return con

    class _Transaction:
        def __init__(self, con: sqlite3.Connection) -> None:
            self.con = con

        def __enter__(self) -> sqlite3.Connection:
            self.con.execute("BEGIN IMMEDIATE")
            return self.con

        def __exit__(self, exc_type: object, *_: object) -> None:
            self.con.execute("ROLLBACK" if exc_type else "COMMIT")

    def _write(self) -> SQLiteStore._Transaction:
        return SQLiteStore._Transaction(self._con())

    def _migrate(self) -> None:
        """Add the columns a data dir of an older version lacks (its paragraphs get no section
        and cite from their start; re-ingesting a document labels its blocks)."""

        def missing(con: sqlite3.Connection) -> list[tuple[str, str, str]]:
            tables = {table for table, _, _ in _ADDED_COLUMNS}
            have = {(t, row[1]) for t in tables for row in con.execute(f"PRAGMA table_info({t})")}
            return [c for c in _ADDED_COLUMNS if (c[0], c[1]) not in have]

        if not missing(self._con()):
            return
        with self._write() as con:  # another process may be migrating too: check again inside
            for table, column, definition in missing(con):
                con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    # -- the dialect of the shared reads (`SQLReads`) ----------------------------------

    def _query(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._con().execute(sql, args)

    @staticmethod
    def _in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} IN ({','.join('?' * len(values))})", list(values)

    @staticmethod
    def _vectors(stored: Sequence[bytes], dim: int) -> np.ndarray:
        return vectors_from_blobs(stored, dim)

    # -- meta -------------------------------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as con:
            con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def model(self) -> tuple[str, int] | None:
        """(model name, dimension) the stored vectors were made with, if any."""
        name, dim = self.meta("model"), self.meta("dim")
        return (name, int(dim)) if name and dim else None

    @staticmethod
    def _bump(con: sqlite3.Connection, removed: Sequence[int] | None = None, added: Sequence[int] | None = None) -> int:
        """Count one more write and log the paragraph ids it removed and added (None for a write
        that changed stored vectors instead); the generation before it. Inside the write's
        transaction."""
        row = con.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        before = int(row[0]) if row else 0
        con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('generation', ?)", (str(before + 1),))
        ids = None if removed is None or added is None else (" ".join(map(str, removed)), " ".join(map(str, added)))
        con.execute("INSERT OR REPLACE INTO changes VALUES (?, ?, ?)", (before + 1, *(ids or (None, None))))
        con.execute("DELETE FROM changes WHERE generation <= ?", (before + 1 - CHANGES_KEPT,))
        return before

    @staticmethod
    def _set_model(con: sqlite3.Connection, model: str, dim: int) -> None:
        con.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            [("model", model), ("dim", str(dim))],
        )

    # -- writes -----------------------------------------------------------------------

    def replace_document(
        self,
        doc_id: str,
        title: str,
        source: str,
        content_hash: str,
        paragraphs: Sequence[NewParagraph],
        model: str,
        dim: int,
        blocks: Sequence[tuple[Block, str]] = (),
    ) -> tuple[list[int], list[int], int]:
        """Store a document, replacing one with the same id; `blocks` are its blocks with their keys.

        Returns (removed paragraph ids, new paragraph ids, the generation before this write).
        """
        now = _now()
        with self._write() as con:
            removed = [r[0] for r in con.execute("SELECT id FROM paragraphs WHERE doc_id = ?", (doc_id,))]
            row = con.execute("SELECT created_at FROM documents WHERE id = ?", (doc_id,)).fetchone()
            con.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
            con.execute(
                "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                (doc_id, title, source, content_hash, row[0] if row else now, now),
            )
            added = []
            for p in paragraphs:
                cur = con.execute(
                    "INSERT INTO paragraphs (doc_id, n, text, hash, tokens, vector, section, citable_start) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (doc_id, p.n, p.text, p.hash, " ".join(p.tokens), _blob(p.vector), p.section, p.citable_start),
                )
                pid = int(cur.lastrowid)
                added.append(pid)
                con.executemany(
                    "INSERT INTO sentences VALUES (?, ?, ?, ?, ?)",
                    [
                        (pid, i, s, e, _blob(v))
                        for i, ((s, e), v) in enumerate(zip(p.sentence_spans, p.sentence_vectors, strict=True))
                    ],
                )
            con.executemany("INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?, ?, ?)", block_rows(doc_id, blocks))
            self._set_model(con, model, dim)
            before = self._bump(con, removed, added)
        return removed, added, before

    def delete_document(self, doc_id: str) -> tuple[list[int], int] | None:
        """Remove a document; (its paragraph ids, the generation before), None if absent."""
        with self._write() as con:
            if not con.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone():
                return None
            removed = [r[0] for r in con.execute("SELECT id FROM paragraphs WHERE doc_id = ?", (doc_id,))]
            con.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
            before = self._bump(con, removed, [])
        return removed, before

    def replace_vectors(
        self,
        model: str,
        dim: int,
        paragraph_vectors: Iterable[tuple[int, np.ndarray]],
        sentence_vectors: Iterable[tuple[int, int, np.ndarray]],
        expected_ids: set[int],
    ) -> int | None:
        """Swap in vectors of a new model for every paragraph and sentence, in one step.

        Returns the generation before the swap, or None (and changes nothing) when the
        paragraphs are no longer `expected_ids`: another writer came in meanwhile.
        """
        with self._write() as con:
            if {r[0] for r in con.execute("SELECT id FROM paragraphs")} != expected_ids:
                return None
            con.executemany(
                "UPDATE paragraphs SET vector = ? WHERE id = ?",
                ((_blob(v), pid) for pid, v in paragraph_vectors),
            )
            con.executemany(
                "UPDATE sentences SET vector = ? WHERE paragraph_id = ? AND n = ?",
                ((_blob(v), pid, n) for pid, n, v in sentence_vectors),
            )
            self._set_model(con, model, dim)
            return self._bump(con)

    def set_paragraph_vectors(self, vectors: Iterable[tuple[int, np.ndarray]]) -> None:
        """Replace some paragraphs' vectors (a repair), in one transaction."""
        with self._write() as con:
            con.executemany("UPDATE paragraphs SET vector = ? WHERE id = ?", ((_blob(v), pid) for pid, v in vectors))
            self._bump(con)

    # -- reads ------------------------------------------------------------------------

    def stored_document(
        self, doc_id: str, dim: int
    ) -> tuple[str, list[tuple[int, NewParagraph]], list[tuple[Block, str]]] | None:
        """Everything stored of one document, as a copy to another store needs it: its content
        hash, its paragraphs by id (vectors included) and its blocks with their keys."""
        con = self._con()
        row = con.execute("SELECT content_hash FROM documents WHERE id = ?", (doc_id,)).fetchone()
        if row is None:
            return None
        paragraphs = []
        for pid, n, text, text_hash, toks, blob, section, start in con.execute(
            "SELECT id, n, text, hash, tokens, vector, section, citable_start FROM paragraphs WHERE doc_id = ? "
            "ORDER BY n",
            (doc_id,),
        ).fetchall():
            sentences = con.execute(
                "SELECT start, end, vector FROM sentences WHERE paragraph_id = ? ORDER BY n", (pid,)
            ).fetchall()
            paragraphs.append(
                (
                    pid,
                    NewParagraph(
                        n,
                        text,
                        text_hash,
                        toks.split(),
                        vectors_from_blobs([blob], dim)[0],
                        [(s, e) for s, e, _ in sentences],
                        vectors_from_blobs([v for _, _, v in sentences], dim),
                        section,
                        start,
                    ),
                )
            )
        blocks = [
            (Block(*r[:6]), r[6])
            for r in con.execute(
                "SELECT n, text, label, reason, section, paragraph, key FROM blocks WHERE doc_id = ? ORDER BY n",
                (doc_id,),
            )
        ]
        return row[0], paragraphs, blocks

    def block_recurrence(self, keys: Collection[str], exclude: Collection[str]) -> Counter[str]:
        """For each block key, how many stored documents (other than those in `exclude`) hold it."""
        found: Counter[str] = Counter()
        keys, exclude = [k for k in keys if k], list(exclude)
        for at in range(0, len(keys), 500):
            chunk = keys[at : at + 500]
            rows = self._con().execute(
                f"SELECT key, COUNT(DISTINCT doc_id) FROM blocks WHERE key IN ({','.join('?' * len(chunk))}) "
                f"AND doc_id NOT IN ({','.join('?' * len(exclude))}) GROUP BY key",
                [*chunk, *exclude],
            )
            found.update(dict(rows.fetchall()))
        return found

    def changes_since(self, generation: int) -> tuple[int, list[int], list[int]] | None:
        """(the current generation, paragraph ids removed, ids added) by the writes after
        `generation`, net of each other; None when the log does not reach back that far or a
        write among them changed stored vectors (a rebuild or a repair)."""
        con = self._con()
        con.execute("BEGIN")  # one snapshot for the generation and the log
        try:
            current = self.generation
            rows = con.execute(
                "SELECT removed, added FROM changes WHERE generation > ? ORDER BY generation", (generation,)
            ).fetchall()
        finally:
            con.execute("COMMIT")
        if len(rows) != current - generation or any(r is None or a is None for r, a in rows):
            return None
        removed: set[int] = set()
        added: dict[int, None] = {}
        for gone, new in rows:
            for pid in map(int, gone.split()):
                if pid in added:
                    del added[pid]
                else:
                    removed.add(pid)
            added.update(dict.fromkeys(map(int, new.split())))
        return current, sorted(removed), list(added)

    def vectors_and_tokens(self, ids: Sequence[int], dim: int) -> list[tuple[int, np.ndarray, list[str]]]:
        """(id, vector, tokens) of the given paragraphs that still exist, in id order."""
        if not ids:
            return []
        among, args = self._in("id", [int(i) for i in ids])
        rows = self._query(f"SELECT id, vector, tokens FROM paragraphs WHERE {among} ORDER BY id", args)
        return [(pid, vectors_from_blobs([blob], dim)[0], toks.split()) for pid, blob, toks in rows]

    def vectors_by_hash(self, hashes: Sequence[str], dim: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Stored (paragraph vector, sentence vectors) for paragraphs with these text hashes."""
        if not hashes:
            return {}
        among, args = self._in("hash", hashes)
        rows = self._query(f"SELECT hash, id, vector FROM paragraphs WHERE {among} GROUP BY hash", args).fetchall()
        found = {}
        for text_hash, pid, blob in rows:
            blobs = [
                r[0]
                for r in self._con().execute("SELECT vector FROM sentences WHERE paragraph_id = ? ORDER BY n", (pid,))
            ]
            found[text_hash] = (vectors_from_blobs([blob], dim)[0], vectors_from_blobs(blobs, dim))
        return found

    def iter_paragraphs(self, batch: int = 1024) -> Iterator[list[tuple[int, str, str, bytes]]]:
        """Every paragraph as (id, text, tokens, vector blob), in id order, in batches."""
        return self._pages("SELECT id, text, tokens, vector FROM paragraphs WHERE id > ? ORDER BY id LIMIT ?", 1, batch)
