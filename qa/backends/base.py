"""What a backend is: a `Store`, a `VectorSearch` and a `LexicalSearch`, kept in step as a `Backend`.

The question path (`qa.retrieve`, `qa.answer`, `qa.answering`) and the writes (`qa.indexing`)
depend on these protocols only; `qa.backends.factory` picks the implementation from the
settings: SQLite + FAISS + in-process BM25 (`embedded`), or PostgreSQL + pgvector with the
lexical side in the same database (`postgres`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from qa.models import Block, Document, Paragraph


@dataclass(slots=True)
class NewParagraph:
    """A paragraph ready to store: raw text, matching tokens, and its embeddings."""

    n: int
    text: str
    hash: str
    tokens: list[str]
    vector: np.ndarray
    sentence_spans: list[tuple[int, int]]
    sentence_vectors: np.ndarray
    section: str = ""
    citable_start: int = 0


@dataclass(slots=True)
class SentenceTable:
    """The sentences of one paragraph: offsets and unit vectors, row-aligned."""

    starts: np.ndarray
    ends: np.ndarray
    vectors: np.ndarray


@dataclass(slots=True)
class DoctorReport:
    """What `qa doctor` found (paragraph ids) and whether it repaired it."""

    paragraphs: int
    indexed: int
    missing: list[int]
    orphaned: list[int]
    bad_vectors: list[int]
    stale_file: bool = False
    stale_memory: bool = False
    rebuilt_on_open: str | None = None
    repaired: bool = False
    recall: float | None = None  # sampled recall@10 of the approximate index against exact search
    reindexed: bool = False  # the approximate index was rebuilt because that recall was too low

    @property
    def ok(self) -> bool:
        return not (self.missing or self.orphaned or self.bad_vectors or self.stale_file or self.stale_memory)


def vectors_from_blobs(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """Rows of float32 vectors from their raw bytes (how both stores hand vectors out)."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim)


class Store(Protocol):
    """Documents, paragraphs, sentences, their vectors and blocks; the source of truth.

    Every write is one transaction and counts one more `generation`; vectors are handed out
    as float32 bytes.
    """

    def meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    @property
    def unseeded(self) -> bool: ...
    @property
    def generation(self) -> int: ...
    @property
    def model(self) -> tuple[str, int] | None: ...

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
    ) -> tuple[list[int], list[int], int]: ...
    def delete_document(self, doc_id: str) -> tuple[list[int], int] | None: ...
    def replace_vectors(
        self,
        model: str,
        dim: int,
        paragraph_vectors: Iterable[tuple[int, np.ndarray]],
        sentence_vectors: Iterable[tuple[int, int, np.ndarray]],
        expected_ids: set[int],
    ) -> int | None: ...
    def set_paragraph_vectors(self, vectors: Iterable[tuple[int, np.ndarray]]) -> None: ...

    def documents(self, doc_id: str | None = None) -> list[Document]: ...
    def document(self, doc_id: str) -> tuple[Document, list[Paragraph]] | None: ...
    def blocks(self, doc_id: str) -> list[Block]: ...
    def block_recurrence(self, keys: Collection[str], exclude: Collection[str]) -> Counter[str]: ...
    def content_hash(self, doc_id: str) -> str | None: ...
    def counts(self) -> tuple[int, int]: ...
    def paragraphs(self, ids: Sequence[int]) -> dict[int, Paragraph]: ...
    def neighbours(self, paragraphs: Sequence[Paragraph], reach: int) -> dict[int, list[Paragraph]]: ...
    def sentences(self, paragraph_ids: Sequence[int], dim: int) -> dict[int, SentenceTable]: ...
    def vectors_by_hash(self, hashes: Sequence[str], dim: int) -> dict[str, tuple[np.ndarray, np.ndarray]]: ...
    def iter_paragraphs(self, batch: int = 1024) -> Iterator[list[tuple[int, str, str, bytes]]]: ...
    def iter_passages(self, batch: int = 1024) -> Iterator[list[tuple[int, str, str, str]]]: ...
    def iter_sentences(self, batch: int = 4096) -> Iterator[list[tuple[int, int, str, str, str]]]: ...


class VectorSearch(Protocol):
    """Inner-product search over unit paragraph vectors keyed by paragraph id."""

    dim: int

    @property
    def kind(self) -> str:
        """How it searches: "flat" or "ivf" (FAISS), "exact" or "hnsw" (pgvector)."""
        ...

    def __len__(self) -> int: ...
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k nearest paragraphs per query row; id -1 pads."""
        ...

    def similarities(self, query: np.ndarray, paragraph_ids: Sequence[int]) -> np.ndarray:
        """Cosine of a query vector with each of these paragraphs (0 where one has none)."""
        ...


class LexicalSearch(Protocol):
    """BM25-style ranking over the paragraphs' matching tokens (`qa.text.tokens`)."""

    def search(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, paragraph ids) of the k best, best first."""
        ...

    def coverage(self, terms: Sequence[str]) -> float:
        """Share of the terms some paragraph holds: 0 means lexical matching cannot help."""
        ...

    def held(self, terms: Sequence[str]) -> set[str]:
        """The terms some paragraph holds, asked in one read."""
        ...

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        """Inverse document frequency per term; a term no paragraph holds gets the highest."""
        ...


def index_health(kind: str, index: VectorSearch) -> dict[str, object]:
    """What `/health` says of every backend: its kind, and its vector index's dimension, size and kind."""
    return {"backend": kind, "dim": index.dim, "index_size": len(index), "index_kind": index.kind}


ReEmbed = Callable[[list[int]], np.ndarray]  # paragraph ids -> fresh vectors (a repair)


class Backend(Protocol):
    """A store with its dense and lexical search, kept in step: what `QAService` runs on.

    Writes go through the backend (never to the store alone), so the searches never miss one.
    `writes` is this process's writer lock (re-entrant: a rebuild holds it across many steps).
    """

    kind: str
    store: Store
    writes: AbstractContextManager[Any]

    @property
    def index(self) -> VectorSearch: ...
    @property
    def lexical(self) -> LexicalSearch: ...
    @property
    def dim(self) -> int: ...

    def reading(self) -> AbstractContextManager[None]:
        """Held while a question reads the searches and the store: it sees each write whole."""
        ...

    def refresh(self) -> None:
        """Catch up with writes other processes made."""
        ...

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
    ) -> None: ...
    def delete_document(self, doc_id: str) -> bool:
        """False when there is no such document."""
        ...

    def replace_vectors(
        self,
        model: str,
        dim: int,
        ids: np.ndarray,
        paragraph_vectors: np.ndarray,
        sentence_vectors: Iterable[tuple[int, int, np.ndarray]],
    ) -> bool:
        """Swap in every vector of a new model at once; False (nothing changed) when the
        paragraphs are no longer `ids` because another writer came in meanwhile."""
        ...

    def batch(self) -> AbstractContextManager[None]:
        """The writes inside are one batch: index upkeep (a file save, a recall check) runs once, at its end."""
        ...

    def check(self, repair: bool, re_embed: ReEmbed) -> DoctorReport:
        """Compare the searches with the store (and sample recall); repair on request."""
        ...

    def health(self) -> dict[str, object]:
        """What `/health` adds for this backend: its kind, index size and state."""
        ...
