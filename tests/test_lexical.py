"""BM25 kept current across writes: after any sequence of adds, replacements and removals,
scores equal textbook Okapi BM25 computed from scratch over the live paragraphs, whether
the paragraphs sit in the base segment, the delta or both, and a question never sees a
half-applied write.
"""

from __future__ import annotations

import math
import sys
import threading
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa import lexical
from qa.lexical import BM25Index

WORDS = ["tehran", "air", "school", "closed", "assad", "sisi", "phone", "quake", "aid", "mazut"]


def reference(docs: dict[int, list[str]], terms: list[str], k1: float = 1.2, b: float = 0.75) -> dict[int, float]:
    """Okapi BM25 of every paragraph, straight from the definition."""
    n = len(docs)
    avg = sum(len(t) for t in docs.values()) / n
    df = Counter(term for toks in docs.values() for term in set(toks))
    scores = {}
    for pid, toks in docs.items():
        tf = Counter(toks)
        score = 0.0
        for term in terms:
            if tf[term]:
                idf = math.log1p((n - df[term] + 0.5) / (df[term] + 0.5))
                score += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * len(toks) / avg))
        scores[pid] = score
    return scores


def assert_matches(index: BM25Index, docs: dict[int, list[str]], terms: list[str]) -> None:
    scores, ids = index.search(terms, k=1000)
    got = dict(zip(ids.tolist(), scores.tolist(), strict=True))
    want = {pid: s for pid, s in reference(docs, terms).items() if s > 0} if docs else {}
    assert got.keys() == want.keys()
    for pid, score in want.items():
        assert got[pid] == pytest.approx(score, rel=1e-4)
    assert list(scores) == sorted(scores, reverse=True)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 30), st.lists(st.sampled_from(WORDS), min_size=1, max_size=8)),
        st.tuples(st.just("remove"), st.integers(0, 30), st.just([])),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(ops=operations, initial=st.integers(0, 12), query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=4))
def test_scores_equal_bm25_from_scratch_after_any_writes(ops: list, initial: int, query: list[str]) -> None:
    docs = {pid: [WORDS[(pid * 7 + j) % len(WORDS)] for j in range(1 + pid % 5)] for pid in range(100, 100 + initial)}
    old = lexical.MIN_MERGE
    lexical.MIN_MERGE = 3  # merge often, so base, delta and removed rows all mix
    try:
        index = BM25Index.from_items(docs.items())
        assert_matches(index, docs, query)
        for op, pid, toks in ops:
            if op == "add":
                index.add([(pid, toks)])
                docs[pid] = toks
            else:
                index.remove([pid])
                docs.pop(pid, None)
            assert len(index) == len(docs)
            assert_matches(index, docs, query)
    finally:
        lexical.MIN_MERGE = old


def test_idf_and_coverage_follow_removals() -> None:
    index = BM25Index.from_items([(1, ["tehran", "air"]), (2, ["tehran", "school"])])
    assert index.coverage(["school", "mars"]) == 0.5
    index.remove([2])
    assert index.coverage(["school", "mars"]) == 0.0  # no live paragraph holds "school"
    unseen = index.idf(["mars"])[0]
    assert index.idf(["school"])[0] == unseen > index.idf(["tehran"])[0]


def test_a_question_sees_each_write_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers run while a writer adds and removes ten paragraphs at a time, merging segments
    as it goes: every result has all ten or none, each once."""
    monkeypatch.setattr(lexical, "MIN_MERGE", 5)
    index = BM25Index.from_items((pid, ["common"]) for pid in range(500))
    stop = threading.Event()
    seen: list[int] = []

    def writer() -> None:
        for round_ in range(60):
            batch = range(1000 + 10 * round_, 1010 + 10 * round_)
            index.add((pid, ["rare", "common"]) for pid in batch)
            index.remove(pid for pid in batch)
        stop.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: more interleavings
    try:
        thread = threading.Thread(target=writer)
        thread.start()
        while not stop.is_set():
            _, ids = index.search(["rare", "common"], k=1000)
            assert len(set(ids.tolist())) == len(ids), "a paragraph listed twice"
            seen.append(int((ids >= 1000).sum()))
        thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert set(seen) <= {0, 10}
    assert np.array_equal(index.search(["rare"], k=5)[1], np.zeros(0, np.int64))
