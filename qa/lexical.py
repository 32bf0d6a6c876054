"""BM25 over the one hazm-based tokenizer of `qa.text`, kept current as documents come and go.

Lexical matching catches what embeddings blur (names, numbers, rare words) for a
question in the corpus's own language. Scores come from sparse matrix slices, not a
Python loop over paragraphs.

The index is kept like a small search engine's: a large *base* segment (term
frequencies as a sparse matrix, built in one pass), a small *delta* segment holding the
paragraphs added since, and a mask for paragraphs removed from the base. Document
frequencies and lengths are kept as running totals, and the BM25 weights are computed at
question time from them, so a write costs a delta rebuild (small) and no question ever
waits for the whole matrix to be rebuilt (0.2-0.3 s at 10k paragraphs, ~25 s at 1M). The
delta is merged into the base when it outgrows `merge_share` of it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

MIN_MERGE = 2000  # paragraphs: below this, the delta is never worth merging


@dataclass(frozen=True, slots=True)
class _Segment:
    """Term frequencies of some paragraphs: one row each, one column per vocabulary term."""

    ids: np.ndarray  # paragraph id per row
    tf: sparse.csc_matrix  # rows x (vocabulary size when built)
    lengths: np.ndarray  # tokens per row
    alive: np.ndarray  # False once the paragraph was removed

    @classmethod
    def build(cls, docs: Sequence[tuple[int, np.ndarray, np.ndarray]], width: int) -> _Segment:
        if not docs:
            return cls(
                np.zeros(0, np.int64), sparse.csc_matrix((0, width), dtype=np.float32), np.zeros(0), np.ones(0, bool)
            )
        sizes = np.fromiter((len(cols) for _, cols, _ in docs), dtype=np.int64, count=len(docs))
        cols = np.concatenate([c for _, c, _ in docs])
        tfs = np.concatenate([t for _, _, t in docs]).astype(np.float32)
        rows = np.repeat(np.arange(len(docs)), sizes)
        tf = sparse.csc_matrix((tfs, (rows, cols)), shape=(len(docs), width))
        lengths = np.fromiter((t.sum() for _, _, t in docs), dtype=np.float64, count=len(docs))
        ids = np.fromiter((pid for pid, _, _ in docs), dtype=np.int64, count=len(docs))
        return cls(ids, tf, lengths, np.ones(len(docs), bool))

    def scores(self, cols: np.ndarray, idf: np.ndarray, k1: float, b: float, avg: float) -> np.ndarray:
        """BM25 of each row for the query columns `cols` (weights `idf`), 0 for removed rows."""
        inside = cols < self.tf.shape[1]
        cols, idf = cols[inside], idf[inside]
        if not len(cols) or not len(self.ids):
            return np.zeros(len(self.ids))
        sub = self.tf[:, cols]
        weight = np.repeat(idf, np.diff(sub.indptr))
        rows, tf = sub.indices, sub.data
        contrib = weight * tf * (k1 + 1) / (tf + k1 * (1 - b + b * self.lengths[rows] / avg))
        scores = np.bincount(rows, weights=contrib, minlength=len(self.ids))
        scores[~self.alive] = 0.0
        return scores


@dataclass(frozen=True, slots=True)
class _State:
    """What a question reads: replaced whole on each write, never changed in place."""

    base: _Segment
    delta: _Segment
    df: np.ndarray  # paragraphs holding each vocabulary term
    n: int  # live paragraphs
    avg: float  # their mean length in tokens


class BM25Index:
    """Okapi BM25 (k1, b) over paragraphs keyed by paragraph id.

    Writers hold a lock and work on private copies of the arrays questions read; a write
    ends by publishing a new `_State`, so a question sees one write entirely or not at all.
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75, merge_share: float = 0.05) -> None:
        self.k1, self.b, self.merge_share = k1, b, merge_share
        self._lock = threading.Lock()
        self._vocab: dict[str, int] = {}  # only grows; a term no live paragraph holds has df 0
        # id -> int32 array: row 0 the paragraph's term columns, row 1 their counts (one small
        # array per paragraph, not two int64 ones: ~0.7 KB less per paragraph, ~0.6 GiB at 1M)
        self._docs: dict[int, np.ndarray] = {}
        self._total = 0.0  # tokens over live paragraphs
        self._base_rows: dict[int, int] = {}  # id -> row of the base segment
        self._delta_ids: dict[int, None] = {}  # ids added since the last merge, in order
        self._base_dead = 0
        empty = _Segment.build([], 0)
        self._state = _State(empty, empty, np.zeros(0, np.int64), 0, 1.0)
        # The writer's side; `_own` makes the arrays private before a write changes them.
        self._base, self._df, self._alive = empty, self._state.df, empty.alive
        self._owned = False

    @classmethod
    def from_items(cls, items: Iterable[tuple[int, Sequence[str]]], **params: float) -> BM25Index:
        """An index of many paragraphs built in one pass (a service opening its store)."""
        index = cls(**params)
        with index._lock:
            index._own()
            for pid, toks in items:
                index._put(int(pid), toks, count_df=False)
            cols = [doc[0] for doc in index._docs.values()]
            index._df = np.bincount(np.concatenate(cols), minlength=len(index._vocab)) if cols else index._df
            index._merge()
            index._publish()
        return index

    def __len__(self) -> int:
        return len(self._docs)

    def add(self, items: Iterable[tuple[int, Sequence[str]]]) -> None:
        """Index (paragraph id, tokens) pairs; an id already indexed is replaced."""
        self.update((), items)

    def remove(self, ids: Iterable[int]) -> None:
        self.update(ids, ())

    def update(self, removed: Iterable[int], added: Iterable[tuple[int, Sequence[str]]]) -> None:
        """Remove some paragraphs and add others as one write: a question sees both or neither."""
        with self._lock:
            self._own()
            for pid in removed:
                if int(pid) in self._docs:
                    self._drop(int(pid))
            for pid, toks in added:
                pid = int(pid)
                if pid in self._docs:
                    self._drop(pid)
                self._put(pid, toks)
                self._delta_ids[pid] = None
            self._publish()

    # -- writes (holding the lock) ---------------------------------------------------------

    def _own(self) -> None:
        """Private copies of the arrays questions may be reading, once per write."""
        if not self._owned:
            self._df, self._alive, self._owned = self._df.copy(), self._alive.copy(), True

    def _put(self, pid: int, toks: Sequence[str], count_df: bool = True) -> None:
        counts = Counter(toks)
        vocab = self._vocab
        doc = np.array([[vocab.setdefault(t, len(vocab)) for t in counts], list(counts.values())], dtype=np.int32)
        self._docs[pid] = doc
        cols = doc[0]
        self._total += len(toks)
        if count_df:
            if len(vocab) > len(self._df):
                grown = np.zeros(max(len(vocab), 2 * len(self._df)), np.int64)
                grown[: len(self._df)] = self._df
                self._df = grown
            self._df[cols] += 1

    def _drop(self, pid: int) -> None:
        cols, tfs = self._docs.pop(pid)
        self._df[cols] -= 1
        self._total -= float(tfs.sum(dtype=np.int64))
        if pid in self._delta_ids:
            del self._delta_ids[pid]
        else:
            self._alive[self._base_rows.pop(pid)] = False
            self._base_dead += 1

    def _merge(self) -> None:
        """Every live paragraph into a new base segment; the delta is empty after."""
        docs = [(pid, doc[0], doc[1]) for pid, doc in self._docs.items()]
        self._base = _Segment.build(docs, len(self._vocab))
        self._base_rows = {pid: row for row, (pid, _, _) in enumerate(docs)}
        self._delta_ids, self._base_dead, self._alive = {}, 0, self._base.alive

    def _publish(self) -> None:
        """Make the current documents what questions see, merging when the delta outgrew its share."""
        if len(self._delta_ids) + self._base_dead > max(MIN_MERGE, self.merge_share * len(self._base_rows)):
            self._merge()
        base = _Segment(self._base.ids, self._base.tf, self._base.lengths, self._alive)
        delta = _Segment.build([(pid, *self._docs[pid]) for pid in self._delta_ids], len(self._vocab))
        n = len(self._docs)
        self._state = _State(base, delta, self._df, n, self._total / n if n else 1.0)
        self._owned = False

    # -- reads -------------------------------------------------------------------------------

    def _columns(self, terms: Sequence[str], state: _State) -> np.ndarray:
        """Vocabulary columns of the terms some live paragraph holds (repeats kept)."""
        vocab, df = self._vocab, state.df
        cols = [c for t in terms if (c := vocab.get(t, -1)) >= 0 and c < len(df) and df[c] > 0]
        return np.array(cols, dtype=np.int64)

    def _idf(self, df: np.ndarray, n: int) -> np.ndarray:
        return np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        """Inverse document frequency of each term; a term the corpus lacks gets the highest.

        A question word no paragraph contains is the strongest sign the corpus may not
        hold the answer, so it must weigh most in any coverage measure.
        """
        state = self._state
        df = np.array(
            [state.df[c] if 0 <= (c := self._vocab.get(t, -1)) < len(state.df) else 0 for t in terms], dtype=np.float64
        )
        return self._idf(df, state.n)

    def coverage(self, terms: Sequence[str]) -> float:
        """Share of the query terms the corpus contains at all: 0 means lexical can't help."""
        if not terms:
            return 0.0
        return len(self._columns(terms, self._state)) / len(terms)

    def held(self, terms: Sequence[str]) -> set[str]:
        """The terms some live paragraph holds."""
        state = self._state
        return {t for t in terms if len(self._columns([t], state))}

    def search(self, terms: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, paragraph ids) of the k best-scoring paragraphs, best first."""
        state = self._state
        cols = self._columns(terms, state)
        if not len(cols) or not state.n:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        idf = self._idf(state.df[cols].astype(np.float64), state.n)
        scores = np.concatenate(
            [seg.scores(cols, idf, self.k1, self.b, state.avg) for seg in (state.base, state.delta)]
        )
        ids = np.concatenate([state.base.ids, state.delta.ids])
        k = min(k, int(np.count_nonzero(scores)))
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return scores[top].astype(np.float32), ids[top]
