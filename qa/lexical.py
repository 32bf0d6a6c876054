"""BM25 over the one hazm-based tokenizer of `qa.text`, as a sparse matrix.

Lexical matching catches what embeddings blur (names, numbers, rare words) for a
question in the corpus's own language. Scores come from one sparse matrix product,
not a Python loop over paragraphs; the matrix is rebuilt lazily after writes.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse


class BM25Index:
    """Okapi BM25 (k1, b) over paragraphs keyed by paragraph id."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._docs: dict[int, Counter[str]] = {}
        self._lock = threading.Lock()
        self._matrix: sparse.csc_matrix | None = None
        self._ids = np.zeros(0, dtype=np.int64)
        self._vocab: dict[str, int] = {}
        self._idf = np.zeros(0, dtype=np.float32)

    def __len__(self) -> int:
        return len(self._docs)

    def add(self, items: Iterable[tuple[int, Sequence[str]]]) -> None:
        """Index (paragraph id, tokens) pairs."""
        with self._lock:
            for pid, toks in items:
                self._docs[int(pid)] = Counter(toks)
            self._matrix = None

    def remove(self, ids: Iterable[int]) -> None:
        with self._lock:
            for pid in ids:
                self._docs.pop(int(pid), None)
            self._matrix = None

    def _build(self) -> None:
        ids = np.fromiter(self._docs.keys(), dtype=np.int64, count=len(self._docs))
        vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.zeros(len(ids), dtype=np.float32)
        for row, pid in enumerate(ids):
            counts = self._docs[int(pid)]
            lengths[row] = sum(counts.values())
            for term, tf in counts.items():
                rows.append(row)
                cols.append(vocab.setdefault(term, len(vocab)))
                tfs.append(tf)
        rows_a, cols_a = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
        tf_a = np.array(tfs, dtype=np.float32)
        n = max(len(ids), 1)
        df = np.bincount(cols_a, minlength=len(vocab)).astype(np.float32)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(lengths.mean()) if len(lengths) else 1.0
        norm = self.k1 * (1 - self.b + self.b * lengths[rows_a] / max(avg, 1e-9))
        weights = idf[cols_a] * tf_a * (self.k1 + 1) / (tf_a + norm)
        self._matrix = sparse.csc_matrix((weights, (rows_a, cols_a)), shape=(len(ids), len(vocab)))
        self._ids, self._vocab, self._idf = ids, vocab, idf

    def _snapshot(self) -> tuple[sparse.csc_matrix, np.ndarray, dict[str, int], np.ndarray]:
        with self._lock:
            if self._matrix is None:
                self._build()
            return self._matrix, self._ids, self._vocab, self._idf

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        """Inverse document frequency of each term; a term the corpus lacks gets the highest.

        A question word no paragraph contains is the strongest sign the corpus may not
        hold the answer, so it must weigh most in any coverage measure.
        """
        _, ids, vocab, idf = self._snapshot()
        unseen = float(np.log1p((len(ids) + 0.5) / 0.5))
        return np.array([idf[vocab[t]] if t in vocab else unseen for t in terms], dtype=np.float32)

    def coverage(self, terms: Sequence[str]) -> float:
        """Share of the query terms the corpus contains at all: 0 means lexical can't help."""
        if not terms:
            return 0.0
        _, _, vocab, _ = self._snapshot()
        return sum(t in vocab for t in terms) / len(terms)

    def search(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, paragraph ids) of the k best-scoring paragraphs, best first."""
        matrix, ids, vocab, _ = self._snapshot()
        cols = [vocab[t] for t in terms if t in vocab]
        if not cols or not len(ids):
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores = np.asarray(matrix[:, cols].sum(axis=1)).ravel()
        k = min(k, int(np.count_nonzero(scores)))
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return scores[top].astype(np.float32), ids[top]
