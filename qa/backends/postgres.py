"""The PostgreSQL backend: documents, vectors (pgvector) and BM25 statistics in one database.

Every node is stateless: nothing is held in memory that another node's write could make stale,
so any number of `qa serve` processes on one database see each other's writes at once, with no
change log to replay. Every write is one transaction, and writers queue on the `generation` row,
so each sees the one before it whole. The model guard (name and dimension) is in `meta` and is
checked inside each write's transaction.

Dense search is exact (a sequential scan) below QA_ANN_THRESHOLD paragraphs and HNSW from
there; an HNSW index loses recall as rows are deleted and re-added (measured: 0.995 -> 0.72-0.80
after ~10% churn and a VACUUM), so the backend samples its recall against exact search after
large writes and on `qa doctor`, and rebuilds the index (REINDEX CONCURRENTLY) below
QA_RECALL_MIN. The lexical side is today's BM25 (`qa.lexical`), computed in SQL over postings.
The reads it asks in the same SQL as the SQLite store are in `qa.backends.sql`.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from qa.backends.base import DoctorReport, NewParagraph, ReEmbed, index_health
from qa.backends.pg_schema import HNSW_INDEX, hnsw_index_sql, migrate
from qa.backends.sql import SQLReads, block_rows
from qa.errors import ModelMismatch
from qa.models import Block, Document
from qa.settings import Settings, redact_url

log = logging.getLogger(__name__)

RECALL_K = 10
RECALL_LOCK = 0x51A_0017  # advisory lock: one node at a time checks recall and reindexes
K1, B = 1.2, 0.75  # BM25 parameters, as qa.lexical.BM25Index


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _f32(vector: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vector, dtype=np.float32)


def _array(vector: Any) -> np.ndarray:
    """A pgvector value (`pgvector.Vector`) as a float32 array."""
    return np.asarray(vector.to_numpy(), dtype=np.float32)


class PostgresStore(SQLReads):
    """The `Store` protocol in PostgreSQL; one connection per thread, safe to share between threads."""

    vector_column = "embedding"

    def __init__(self, settings: Settings) -> None:
        assert settings.database_url
        self.url = settings.database_url
        self.where = redact_url(self.url)
        self.settings = settings
        self._local = threading.local()
        self._connections: list[psycopg.Connection] = []
        self._guard = threading.Lock()
        self._con()

    def _con(self) -> psycopg.Connection:
        con = getattr(self._local, "con", None)
        if con is None or con.closed:
            try:
                con = psycopg.connect(self.url, autocommit=True, application_name="qa")
            except psycopg.OperationalError as exc:
                raise ConnectionError(f"cannot connect to QA_DATABASE_URL {self.where}: {exc}") from exc
            migrate(con)
            register_vector(con)
            con.execute(f"SET hnsw.ef_search = {int(self.settings.hnsw_ef_search)}")
            self._local.con = con
            with self._guard:
                self._connections.append(con)
        return con

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._guard:
            for con in self._connections:
                con.close()
            self._connections.clear()

    def snapshot(self) -> AbstractContextManager[Any]:
        """A read-only transaction: the reads inside see one state of the database."""

        @contextmanager
        def reading() -> Iterator[None]:
            con = self._con()
            if con.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                yield  # already inside one
                return
            with con.transaction():
                con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield

        return reading()

    # -- the dialect of the shared reads (`SQLReads`) ----------------------------------

    def _query(self, sql: str, args: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self._con().execute(sql.replace("?", "%s"), args)

    @staticmethod
    def _in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    @staticmethod
    def _vectors(stored: Sequence[Any], dim: int) -> np.ndarray:
        return np.array([_array(v) for v in stored], dtype=np.float32).reshape(len(stored), dim)

    # -- meta -------------------------------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        self._con().execute(
            "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (key, value)
        )

    @property
    def model(self) -> tuple[str, int] | None:
        rows = dict(self._con().execute("SELECT key, value FROM meta WHERE key IN ('model', 'dim')").fetchall())
        return (rows["model"], int(rows["dim"])) if rows.get("model") and rows.get("dim") else None

    def totals(self) -> tuple[int, int]:
        """(live paragraphs, their tokens): BM25's N and total length, kept by every write."""
        rows = dict(self._con().execute("SELECT key, value FROM meta WHERE key IN ('paragraphs', 'tokens')"))
        return int(rows.get("paragraphs", 0)), int(rows.get("tokens", 0))

    # -- writes (each one transaction, queued on the generation row) -------------------

    @staticmethod
    def _begin_write(con: psycopg.Connection) -> int:
        """Take the writers' turn (the generation row's lock) and count one more write; the one before."""
        row = con.execute(
            "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'generation' RETURNING value::bigint - 1"
        ).fetchone()
        return int(row[0])

    def _guard_model(self, con: psycopg.Connection, model: str, dim: int, replacing: bool = False) -> None:
        """Refuse vectors of another model than the stored ones (unless every vector is being replaced);
        record the model and make the HNSW index for its dimension."""
        rows = dict(con.execute("SELECT key, value FROM meta WHERE key IN ('model', 'dim', 'paragraphs')").fetchall())
        stored = (rows["model"], int(rows["dim"])) if "model" in rows else None
        if stored == (model, dim):
            return
        if stored is not None and int(rows["paragraphs"]) and not replacing:
            raise ModelMismatch(
                f"the index in {self.where} was built with {stored[0]!r} ({stored[1]} dims), not {model!r}; "
                f"run `qa index rebuild --model {model}` to re-embed."
            )
        con.execute(
            "INSERT INTO meta VALUES ('model', %s), ('dim', %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (model, str(dim)),
        )
        if stored is None or stored[1] != dim:
            con.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")
            con.execute(hnsw_index_sql(dim, self.settings.hnsw_m, self.settings.hnsw_ef_construction))

    @staticmethod
    def _forget(con: psycopg.Connection, doc_id: str) -> list[int]:
        """Take a document's paragraphs out of the BM25 statistics; their ids."""
        removed = [r[0] for r in con.execute("SELECT id FROM paragraphs WHERE doc_id = %s", (doc_id,))]
        if removed:
            con.execute(
                "UPDATE terms t SET df = t.df - g.c FROM (SELECT term, count(*) AS c FROM postings "
                "WHERE paragraph_id = ANY(%s) GROUP BY term) g WHERE t.term = g.term",
                (removed,),
            )
            row = con.execute(
                "SELECT count(*), coalesce(sum(array_length(string_to_array(tokens, ' '), 1)), 0) "
                "FROM paragraphs WHERE id = ANY(%s) AND tokens <> ''",
                (removed,),
            ).fetchone()
            PostgresStore._add_totals(con, -len(removed), -int(row[1]))
        return removed

    @staticmethod
    def _add_totals(con: psycopg.Connection, paragraphs: int, tokens: int) -> None:
        con.execute(
            "UPDATE meta SET value = (value::bigint + CASE key WHEN 'paragraphs' THEN %s ELSE %s END)::text "
            "WHERE key IN ('paragraphs', 'tokens')",
            (paragraphs, tokens),
        )

    @staticmethod
    def _index_terms(con: psycopg.Connection, ids: Sequence[int], token_lists: Sequence[Sequence[str]]) -> None:
        postings = []
        df: Counter[str] = Counter()
        for pid, toks in zip(ids, token_lists, strict=True):
            counts = Counter(toks)
            postings.extend((term, pid, tf, len(toks)) for term, tf in counts.items())
            df.update(counts.keys())
        with con.cursor() as cur:
            with cur.copy("COPY postings (term, paragraph_id, tf, length) FROM STDIN") as copy:
                for row in postings:
                    copy.write_row(row)
            cur.executemany(
                "INSERT INTO terms VALUES (%s, %s) ON CONFLICT (term) DO UPDATE SET df = terms.df + EXCLUDED.df",
                sorted(df.items()),  # one order for every writer
            )
        PostgresStore._add_totals(con, len(ids), sum(len(t) for t in token_lists))

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
        """Store a document, replacing one with the same id: (removed ids, new ids, generation before)."""
        now = _now()
        con = self._con()
        with con.transaction():
            before = self._begin_write(con)
            self._guard_model(con, model, dim)
            removed = self._forget(con, doc_id)
            row = con.execute("SELECT created_at FROM documents WHERE id = %s", (doc_id,)).fetchone()
            con.execute("DELETE FROM documents WHERE id = %s", (doc_id,))
            con.execute(
                "INSERT INTO documents VALUES (%s, %s, %s, %s, %s, %s)",
                (doc_id, title, source, content_hash, row[0] if row else now, now),
            )
            added = self._insert_paragraphs(con, doc_id, paragraphs)
            self._index_terms(con, added, [p.tokens for p in paragraphs])
            self._insert_blocks(con, doc_id, blocks)
        return removed, added, before

    @staticmethod
    def _insert_blocks(con: psycopg.Connection, doc_id: str, blocks: Sequence[tuple[Block, str]]) -> None:
        with con.cursor() as cur:
            cur.executemany("INSERT INTO blocks VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", block_rows(doc_id, blocks))

    @staticmethod
    def _insert_paragraphs(
        con: psycopg.Connection, doc_id: str, paragraphs: Sequence[NewParagraph], ids: Sequence[int] | None = None
    ) -> list[int]:
        """Insert paragraphs and their sentences (under `ids` when given, as a copy keeps them)."""
        added = []
        with con.cursor() as cur:
            for i, p in enumerate(paragraphs):
                values = (doc_id, p.n, p.text, p.hash, " ".join(p.tokens), _f32(p.vector), p.section, p.citable_start)
                if ids is None:
                    cur.execute(
                        "INSERT INTO paragraphs (doc_id, n, text, hash, tokens, embedding, section, citable_start) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                        values,
                    )
                    pid = int(cur.fetchone()[0])
                else:
                    pid = int(ids[i])
                    cur.execute(
                        "INSERT INTO paragraphs (id, doc_id, n, text, hash, tokens, embedding, section, citable_start) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (pid, *values),
                    )
                added.append(pid)
                cur.executemany(
                    'INSERT INTO sentences (paragraph_id, n, start, "end", embedding) VALUES (%s, %s, %s, %s, %s)',
                    [
                        (pid, j, s, e, _f32(v))
                        for j, ((s, e), v) in enumerate(zip(p.sentence_spans, p.sentence_vectors, strict=True))
                    ],
                )
        return added

    def copy_document(
        self,
        document: Document,
        content_hash: str,
        paragraphs: Sequence[NewParagraph],
        ids: Sequence[int],
        model: str,
        dim: int,
        blocks: Sequence[tuple[Block, str]],
    ) -> bool:
        """Store a document copied from another store with its paragraph ids and vectors kept;
        False (nothing written) when it is here already. One transaction."""
        con = self._con()
        with con.transaction():
            self._begin_write(con)
            if con.execute("SELECT 1 FROM documents WHERE id = %s", (document.id,)).fetchone():
                return False
            self._guard_model(con, model, dim)
            con.execute(
                "INSERT INTO documents VALUES (%s, %s, %s, %s, %s, %s)",
                (document.id, document.title, document.source, content_hash, document.created_at, document.updated_at),
            )
            self._insert_paragraphs(con, document.id, paragraphs, ids)
            self._index_terms(con, list(ids), [p.tokens for p in paragraphs])
            self._insert_blocks(con, document.id, blocks)
            con.execute("SELECT setval('paragraphs_id_seq', GREATEST((SELECT max(id) FROM paragraphs), 1))")
        return True

    def delete_document(self, doc_id: str) -> tuple[list[int], int] | None:
        """Remove a document: (its paragraph ids, the generation before), None (nothing written) if absent."""
        con = self._con()
        deleted = None
        with con.transaction():
            before = self._begin_write(con)
            if not con.execute("SELECT 1 FROM documents WHERE id = %s", (doc_id,)).fetchone():
                raise psycopg.Rollback()
            deleted = self._forget(con, doc_id), before
            con.execute("DELETE FROM documents WHERE id = %s", (doc_id,))
        return deleted

    def replace_vectors(
        self,
        model: str,
        dim: int,
        paragraph_vectors: Iterable[tuple[int, np.ndarray]],
        sentence_vectors: Iterable[tuple[int, int, np.ndarray]],
        expected_ids: set[int],
    ) -> int | None:
        """Swap in vectors of a new model for every paragraph and sentence, in one transaction;
        None (nothing changed) when the paragraphs are no longer `expected_ids`."""
        con = self._con()
        swapped = None
        with con.transaction():
            before = self._begin_write(con)
            if {r[0] for r in con.execute("SELECT id FROM paragraphs")} != expected_ids:
                raise psycopg.Rollback()
            con.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")  # rebuilt once at the end, not per row
            with con.cursor() as cur:
                cur.executemany(
                    "UPDATE paragraphs SET embedding = %s WHERE id = %s",
                    [(_f32(v), pid) for pid, v in paragraph_vectors],
                )
                cur.executemany(
                    "UPDATE sentences SET embedding = %s WHERE paragraph_id = %s AND n = %s",
                    [(_f32(v), pid, n) for pid, n, v in sentence_vectors],
                )
            con.execute("DELETE FROM meta WHERE key IN ('model', 'dim')")
            self._guard_model(con, model, dim, replacing=True)
            swapped = before
        return swapped

    def set_paragraph_vectors(self, vectors: Iterable[tuple[int, np.ndarray]]) -> None:
        con = self._con()
        with con.transaction():
            self._begin_write(con)
            with con.cursor() as cur:
                cur.executemany(
                    "UPDATE paragraphs SET embedding = %s WHERE id = %s", [(_f32(v), pid) for pid, v in vectors]
                )

    # -- reads ------------------------------------------------------------------------

    def block_recurrence(self, keys: Collection[str], exclude: Collection[str]) -> Counter[str]:
        keys = [k for k in keys if k]
        if not keys:
            return Counter()
        rows = self._con().execute(
            "SELECT key, COUNT(DISTINCT doc_id)::int FROM blocks WHERE key = ANY(%s) AND NOT doc_id = ANY(%s) "
            "GROUP BY key",
            (keys, list(exclude)),
        )
        return Counter(dict(rows.fetchall()))

    def vectors_by_hash(self, hashes: Sequence[str], dim: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if not hashes:
            return {}
        rows = self._con().execute(
            "SELECT DISTINCT ON (p.hash) p.hash, p.embedding, "
            "ARRAY(SELECT s.embedding FROM sentences s WHERE s.paragraph_id = p.id ORDER BY s.n) "
            "FROM paragraphs p WHERE p.hash = ANY(%s) ORDER BY p.hash, p.id",
            (list(hashes),),
        )
        return {
            text_hash: (
                _array(vector),
                self._vectors(svecs, dim),
            )
            for text_hash, vector, svecs in rows
        }

    def iter_paragraphs(self, batch: int = 1024) -> Iterator[list[tuple[int, str, str, bytes]]]:
        for rows in self._pages(
            "SELECT id, text, tokens, embedding FROM paragraphs WHERE id > ? ORDER BY id LIMIT ?", 1, batch
        ):
            yield [(pid, text, toks, _array(vector).tobytes()) for pid, text, toks, vector in rows]


class PgVectorSearch:
    """The `VectorSearch` protocol over pgvector: exact below the ANN threshold, HNSW from it on."""

    def __init__(self, store: PostgresStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    @property
    def dim(self) -> int:
        model = self.store.model
        return model[1] if model else 0

    def __len__(self) -> int:
        return self.store.totals()[0]

    @property
    def kind(self) -> str:
        return "hnsw" if len(self) >= self.settings.ann_threshold else "exact"

    def nearest(self, query: np.ndarray, k: int, approximate: bool) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k paragraphs nearest `query`: by the HNSW index, or by a full scan."""
        con = self.store._con()
        dim = len(query)
        if approximate:  # the index's expression, and no sequential scan: the planner must use it
            with con.transaction():
                con.execute("SET LOCAL enable_seqscan = off")
                rows = con.execute(
                    f"SELECT id, -(embedding::vector({dim}) <#> %s::vector({dim})) FROM paragraphs "
                    f"ORDER BY embedding::vector({dim}) <#> %s::vector({dim}) LIMIT %s",
                    (_f32(query), _f32(query), k),
                ).fetchall()
        else:  # not the index's expression: an exact scan
            rows = con.execute(
                "SELECT id, -(embedding <#> %s) FROM paragraphs ORDER BY embedding <#> %s, id LIMIT %s",
                (_f32(query), _f32(query), k),
            ).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        scores = np.array([r[1] for r in rows], dtype=np.float32)
        return scores, ids

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        approximate = len(self) >= self.settings.ann_threshold
        found = [self.nearest(q, k, approximate) for q in queries]
        width = max((len(ids) for _, ids in found), default=0)
        scores = np.zeros((len(found), width), np.float32)
        ids = np.full((len(found), width), -1, np.int64)
        for row, (s, i) in enumerate(found):
            scores[row, : len(s)], ids[row, : len(i)] = s, i
        return scores, ids

    def similarities(self, query: np.ndarray, paragraph_ids: Sequence[int]) -> np.ndarray:
        rows = dict(
            self.store._con().execute(
                "SELECT id, -(embedding <#> %s) FROM paragraphs WHERE id = ANY(%s)",
                (_f32(query), [int(i) for i in paragraph_ids]),
            )
        )
        return np.array([rows.get(int(i), 0.0) for i in paragraph_ids], dtype=np.float32)


class PgLexical:
    """The `LexicalSearch` protocol: Okapi BM25 exactly as `qa.lexical.BM25Index` scores it, in SQL."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    def _df(self, terms: Sequence[str]) -> dict[str, int]:
        rows = self.store._con().execute(
            "SELECT term, df FROM terms WHERE term = ANY(%s) AND df > 0", (list(dict.fromkeys(terms)),)
        )
        return dict(rows.fetchall())

    @staticmethod
    def _idf(df: np.ndarray, n: int) -> np.ndarray:
        return np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        df = self._df(terms)
        return self._idf(np.array([df.get(t, 0) for t in terms], dtype=np.float64), self.store.totals()[0])

    def coverage(self, terms: Sequence[str]) -> float:
        if not terms:
            return 0.0
        held = self.held(terms)
        return sum(1 for t in terms if t in held) / len(terms)

    def held(self, terms: Sequence[str]) -> set[str]:
        return set(self._df(terms)) if terms else set()

    def search(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        n, total = self.store.totals()
        if not terms or not n:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        rows = (
            self.store._con()
            .execute(
                "WITH q AS (SELECT term, count(*) AS times FROM unnest(%(terms)s::text[]) term GROUP BY term), "
                "w AS (SELECT q.term, q.times * ln(1 + (%(n)s - t.df + 0.5) / (t.df + 0.5)) AS weight "
                "      FROM q JOIN terms t ON t.term = q.term WHERE t.df > 0) "
                "SELECT p.paragraph_id, sum(w.weight * p.tf * %(k1)s / (p.tf + %(k)s * (1 - %(b)s + %(b)s * p.length "
                "       / %(avg)s))) AS score "
                "FROM w JOIN postings p ON p.term = w.term GROUP BY p.paragraph_id "
                "ORDER BY score DESC, p.paragraph_id LIMIT %(limit)s",
                {"terms": list(terms), "n": n, "k1": K1 + 1, "k": K1, "b": B, "avg": total / n, "limit": k},
            )
            .fetchall()
        )
        return np.array([r[1] for r in rows], dtype=np.float32), np.array([r[0] for r in rows], dtype=np.int64)


class PostgresBackend:
    """The `Backend` protocol on PostgreSQL: stateless, so `refresh` has nothing to catch up."""

    kind = "postgresql+pgvector"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = PostgresStore(settings)
        self.index = PgVectorSearch(self.store, settings)
        self.lexical = PgLexical(self.store)
        self.writes = threading.RLock()
        self.rebuilt_on_open: str | None = None
        self._local = threading.local()
        self._written = 0  # paragraphs this node wrote since its last recall check
        self._watching = threading.Lock()

    @property
    def dim(self) -> int:
        return self.index.dim

    def reading(self) -> AbstractContextManager[None]:
        return self.store.snapshot()

    def refresh(self) -> None:
        return None

    def replace_document(
        self,
        doc_id: str,
        title: str,
        source: str,
        content_hash: str,
        paragraphs: Sequence[NewParagraph],
        model: str,
        dim: int,
        blocks: Sequence[tuple[Block, str]],
    ) -> None:
        self.store.replace_document(doc_id, title, source, content_hash, paragraphs, model, dim, blocks)
        self._wrote(len(paragraphs))

    def delete_document(self, doc_id: str) -> bool:
        deleted = self.store.delete_document(doc_id)
        if deleted is not None:
            self._wrote(len(deleted[0]))
        return deleted is not None

    def replace_vectors(
        self,
        model: str,
        dim: int,
        ids: np.ndarray,
        paragraph_vectors: np.ndarray,
        sentence_vectors: Iterable[tuple[int, int, np.ndarray]],
    ) -> bool:
        before = self.store.replace_vectors(
            model, dim, zip(ids.tolist(), paragraph_vectors, strict=True), sentence_vectors, set(ids.tolist())
        )
        return before is not None

    def _wrote(self, paragraphs: int) -> None:
        self._written += paragraphs
        if not getattr(self._local, "depth", 0):
            self._after_writes()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """The writes inside are checked for recall once, at the end (a large ingest: once, not per document)."""
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if not depth:
                self._after_writes()

    def _after_writes(self) -> None:
        """After QA_RECALL_CHECK_ROWS paragraphs written by this node, check recall in the background."""
        if self._written < self.settings.recall_check_rows or len(self.index) < self.settings.ann_threshold:
            return
        self._written = 0
        threading.Thread(target=self.watch_recall, name="qa-recall-watch", daemon=True).start()

    # -- recall -------------------------------------------------------------------------

    def measure_recall(self) -> float | None:
        """Mean recall@10 of the HNSW index against exact search, for stored paragraph vectors as
        queries (QA_RECALL_SAMPLE of them); None while the corpus is searched exactly anyway."""
        dim = self.index.dim
        if not dim or len(self.index) < RECALL_K:
            return None
        sample = self.store._con().execute(
            "SELECT embedding FROM paragraphs ORDER BY random() LIMIT %s", (self.settings.recall_sample,)
        )
        recalls = []
        for (vector,) in sample.fetchall():
            query = _array(vector)
            _, exact = self.index.nearest(query, RECALL_K, approximate=False)
            _, ann = self.index.nearest(query, RECALL_K, approximate=True)
            recalls.append(len(set(exact.tolist()) & set(ann.tolist())) / len(exact))
        return float(np.mean(recalls)) if recalls else None

    def watch_recall(self, force: bool = False) -> tuple[float | None, bool]:
        """Measure recall; below QA_RECALL_MIN (or when `force`d) rebuild the HNSW index without
        blocking writes (REINDEX CONCURRENTLY) and measure again. (recall now, whether reindexed)."""
        with self._watching:
            con = self.store._con()
            if not con.execute("SELECT pg_try_advisory_lock(%s)", (RECALL_LOCK,)).fetchone()[0]:
                return self.last_recall(), False  # another node is at it
            try:
                recall = self.measure_recall()
                reindexed = False
                if recall is not None and (force or recall < self.settings.recall_min):
                    log.warning(
                        "HNSW recall@%d %.3f is below QA_RECALL_MIN %.2f: REINDEX CONCURRENTLY",
                        RECALL_K,
                        recall,
                        self.settings.recall_min,
                    )
                    con.execute(f"REINDEX INDEX CONCURRENTLY {HNSW_INDEX}")
                    reindexed = True
                    recall = self.measure_recall()
                if recall is not None:
                    self.store.set_meta("recall", f"{recall:.4f}")
                    self.store.set_meta("recall_checked_at", _now())
                    if reindexed:
                        self.store.set_meta("reindexed_at", _now())
                return recall, reindexed
            finally:
                con.execute("SELECT pg_advisory_unlock(%s)", (RECALL_LOCK,))

    def last_recall(self) -> float | None:
        value = self.store.meta("recall")
        return float(value) if value is not None else None

    # -- checks -------------------------------------------------------------------------

    def check(self, repair: bool, re_embed: ReEmbed) -> DoctorReport:
        """Vectors of the wrong size (re-embedded on repair), and the HNSW index's recall (rebuilt
        below QA_RECALL_MIN on repair). Index and store cannot disagree: the index is the table's."""
        dim = self.index.dim
        con = self.store._con()
        paragraphs = self.store.counts()[1]
        bad = [r[0] for r in con.execute("SELECT id FROM paragraphs WHERE vector_dims(embedding) <> %s", (dim,))]
        report = DoctorReport(paragraphs=paragraphs, indexed=paragraphs, missing=[], orphaned=[], bad_vectors=bad)
        if repair and bad:
            self.store.set_paragraph_vectors(zip(bad, re_embed(bad), strict=True))
            report.repaired = True
        if repair:
            report.recall, report.reindexed = self.watch_recall()
        else:
            report.recall = self.measure_recall()
        return report

    def health(self) -> dict[str, object]:
        return {
            **index_health(self.kind, self.index),
            "recall": self.last_recall(),
            "recall_checked_at": self.store.meta("recall_checked_at"),
        }
