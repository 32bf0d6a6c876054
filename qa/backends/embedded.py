"""The embedded backend (the default): a SQLite store, a FAISS index and BM25 in this process.

The store is the truth; the FAISS index (saved beside it, stamped with the store generation
it reflects) and BM25 are this process's copies. Another process's writes (`qa ingest` beside
`qa serve`, another worker) reach them through the store's change log: just the paragraphs
they removed and added, or everything when the log cannot say. The readers-writer lock is
held only while the store transaction commits and the in-memory indexes change, so questions
keep being answered during a long ingest and never see half of it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import numpy as np

from embeddings.index import VectorIndex, remove_orphan_temp_files
from qa.backends.base import DoctorReport, NewParagraph, ReEmbed, index_health
from qa.backends.sqlite import SQLiteStore
from qa.lexical import BM25Index
from qa.locks import ReadWriteLock
from qa.models import Block
from qa.settings import Settings

log = logging.getLogger(__name__)

INDEX_DIR = "index"


class EmbeddedBackend:
    """SQLite + FAISS + BM25 over one data directory."""

    kind = "sqlite+faiss"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = Path(settings.data_dir)
        self.store = SQLiteStore(self.data_dir)
        self._lock = ReadWriteLock()
        self.writes = threading.RLock()
        self._local = threading.local()
        self.rebuilt_on_open: str | None = None  # why the index had to be rebuilt from the store
        self._load()
        if not self.store.counts()[1]:
            self.rebuilt_on_open = None

    @property
    def lexical(self) -> BM25Index:
        return self.bm25

    @property
    def dim(self) -> int:
        return self.index.dim

    def reading(self) -> AbstractContextManager[None]:
        return self._lock.read()

    def _load(self) -> None:
        """(Re)load the vector and BM25 indexes so they reflect the store as it is now.

        The generation is read first: a write landing meanwhile makes the indexes newer
        than their stamp, never older, so the next check reloads rather than misses it.
        """
        generation = self.store.generation
        remove_orphan_temp_files(self.data_dir / INDEX_DIR)
        self.index = self._open_index(generation)
        self._load_bm25()
        self._generation = generation

    def _load_bm25(self) -> None:
        self.bm25 = BM25Index.from_items(
            (pid, toks.split()) for rows in self.store.iter_paragraphs() for pid, _, toks, _ in rows
        )

    def refresh(self) -> None:
        """Catch up with writes another process made: only the paragraphs they removed and
        added, from the store's change log, or everything when the log cannot say (a rebuild,
        or too long ago)."""
        if self.store.generation == self._generation:
            return
        with self.writes:
            if self.store.generation == self._generation:
                return
            change = self.store.changes_since(self._generation)
            with self._lock.write():
                if change is None or not len(self.index):
                    self._load()
                    return
                generation, removed, added = change
                try:
                    rows = self.store.vectors_and_tokens(added, self.index.dim)
                except ValueError:  # a vector of another size: only a full reload sorts that out
                    self._load()
                    return

                def apply() -> None:
                    self.index.remove(np.array(removed, dtype=np.int64))
                    if rows:
                        self.index.add(np.array([r[0] for r in rows], dtype=np.int64), np.stack([r[1] for r in rows]))

                self._applied(self._generation, apply, after=generation)
            self.bm25.update(removed, ((pid, toks) for pid, _, toks in rows))

    def _applied(self, before: int, apply: Callable[[], None], after: int | None = None) -> bool:
        """Apply a write (by default this process's own, one generation on; `after` for others'
        caught up from the change log) to the vector index, or reload all if another came between.

        True when applied: the caller then updates BM25 too, after releasing the readers'
        lock (a BM25 merge takes seconds at 1M paragraphs; questions meanwhile read its
        previous state, and drop any id the store no longer has).
        """
        if before == self._generation:
            apply()
            self._generation = before + 1 if after is None else after
            if not self.index.fits(self.settings.ann_threshold):  # grew past exact search
                self.index = self._index_from_store()
            return True
        self._load()
        return False

    def _open_index(self, generation: int) -> VectorIndex:
        """The saved index if it matches the store, else one rebuilt from stored vectors."""
        folder = self.data_dir / INDEX_DIR
        stored = self.store.model
        loaded = VectorIndex.load(folder)
        if loaded is not None:
            index, meta = loaded
            current = stored and meta.generation == generation and meta.model == stored[0]
            if current and index.fits(self.settings.ann_threshold):
                return index
            if not current:
                self.rebuilt_on_open = f"the index file reflected write {meta.generation}, the store is at {generation}"
        else:
            self.rebuilt_on_open = "the index file was missing or unreadable"
        if stored is None:
            return VectorIndex(0, "")  # no vector yet: the first write sets model and size
        index = self._index_from_store()
        if len(index):
            log.info("rebuilt the vector index (%s) from %d stored vectors", index.kind, len(index))
        index.save(folder, generation)
        return index

    def _index_from_store(self) -> VectorIndex:
        """A new index of the kind the corpus size calls for, from the stored vectors."""
        name, dim = self.store.model or ("", self.index.dim)
        ids, blobs = [], []
        for rows in self.store.iter_paragraphs():
            ids.extend(r[0] for r in rows)
            blobs.extend(r[3] for r in rows)
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), dim)
        return self._build_index(dim, name, np.array(ids, dtype=np.int64), vectors)

    def _build_index(self, dim: int, name: str, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
        return VectorIndex.build(dim, name, ids, vectors, self.settings.ann_threshold, self.settings.ann_nprobe)

    def _save_index(self) -> None:
        """Write the index file. Call holding `writes` but not the read-write lock: writers
        (and reloads) hold `writes`, so the index and generation stay put, while questions
        go on searching the same index (both only read it)."""
        self.index.save(self.data_dir / INDEX_DIR, self._generation)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """The writes inside save the index file once, at the end, even if one fails.

        At 200k paragraphs a save takes 2-3 s: once per ingest call, not per document, and
        not at all when nothing changed (unchanged files re-ingested). A crash before the save
        leaves a stale file, which the next open rebuilds from the store (the store is the
        truth), so nothing acknowledged is lost.
        """
        depth = getattr(self._local, "saves_deferred", 0)
        self._local.saves_deferred = depth + 1
        before = self._generation
        try:
            yield
        finally:
            self._local.saves_deferred = depth
            if depth == 0 and self._generation != before:
                with self.writes:
                    self._save_index()

    # -- writes -------------------------------------------------------------------------

    def replace_document(  # inside `batch()`, which saves the index file
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
        with self.writes:
            with self._lock.write():
                if not len(self.index) and self.index.dim != dim:
                    self.index = VectorIndex(dim, model)
                removed, added, before = self.store.replace_document(
                    doc_id, title, source, content_hash, paragraphs, model, dim, blocks
                )

                def apply() -> None:
                    self.index.remove(np.array(removed, dtype=np.int64))
                    self.index.add(np.array(added, dtype=np.int64), np.stack([p.vector for p in paragraphs]))

                applied = self._applied(before, apply)
            if applied:
                self.bm25.update(removed, zip(added, (p.tokens for p in paragraphs), strict=True))

    def delete_document(self, doc_id: str) -> bool:
        with self.writes:
            with self._lock.write():
                deleted = self.store.delete_document(doc_id)
                if deleted is None:
                    return False
                removed, before = deleted

                def apply() -> None:
                    self.index.remove(np.array(removed, dtype=np.int64))

                applied = self._applied(before, apply)
            if applied:
                self.bm25.remove(removed)
            self._save_index()
        return True

    def replace_vectors(
        self,
        model: str,
        dim: int,
        ids: np.ndarray,
        paragraph_vectors: np.ndarray,
        sentence_vectors: Iterable[tuple[int, int, np.ndarray]],
    ) -> bool:
        with self.writes:
            index = self._build_index(dim, model, ids, paragraph_vectors)
            with self._lock.write():
                before = self.store.replace_vectors(
                    model,
                    dim,
                    zip(ids.tolist(), paragraph_vectors, strict=True),
                    sentence_vectors,
                    expected_ids=set(ids.tolist()),
                )
                if before is None:
                    return False
                self.index = index
                if before != self._generation:  # BM25 lags another process's writes; a rebuild
                    self._load_bm25()  # changes no tokens, so otherwise it is already current
                self._generation = before + 1
            self._save_index()
        return True

    # -- checks -------------------------------------------------------------------------

    def check(self, repair: bool, re_embed: ReEmbed) -> DoctorReport:
        """Compare the saved index and the in-memory indexes with the store; repair on request.

        The store is the truth: paragraphs the index lacks are added from their stored
        vectors, index ids with no paragraph are dropped, a vector of the wrong size is
        re-embedded from its paragraph's text.
        """
        with self.writes, self._lock.write():
            stored: dict[int, bytes] = {}
            for rows in self.store.iter_paragraphs():
                for pid, _, _, blob in rows:
                    stored[pid] = blob
            dim = self.store.model[1] if self.store.model else self.index.dim
            saved = VectorIndex.load(self.data_dir / INDEX_DIR)
            on_disk = set(saved[0].ids().tolist()) if saved else set()
            in_memory = set(self.index.ids().tolist())
            report = DoctorReport(
                paragraphs=len(stored),
                indexed=len(on_disk),
                missing=sorted(set(stored) - on_disk),
                orphaned=sorted(on_disk - set(stored)),
                bad_vectors=sorted(pid for pid, blob in stored.items() if len(blob) != 4 * dim),
                stale_file=saved is None or saved[1].generation != self.store.generation,
                stale_memory=in_memory != set(stored) or self._generation != self.store.generation,
                rebuilt_on_open=self.rebuilt_on_open,
            )
            if repair and not report.ok:
                if report.bad_vectors:
                    fresh = re_embed(report.bad_vectors)
                    self.store.set_paragraph_vectors(zip(report.bad_vectors, fresh, strict=True))
                self._load()
                self._save_index()
                report.repaired = True
        return report

    def health(self) -> dict[str, object]:
        return index_health(self.kind, self.index)
