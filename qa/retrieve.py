"""Ranked passages for a question: dense and lexical (BM25) candidates, fused.

It reads the two searches through their protocols (`qa.backends.base`): FAISS and in-process
BM25, or pgvector and BM25 in PostgreSQL, alike.

The lexical side is weighted by how much of the question the corpus vocabulary holds
(squared):
a Persian question over Persian text gets its full weight, an English question over
Persian text gets none (its words are not in the corpus), so it cannot add noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from qa.backends.base import LexicalSearch, VectorSearch

RRF_K = 60


class Fusion(StrEnum):
    """How dense and lexical candidates become one ranking."""

    HYBRID = "hybrid"  # dense cosine + weight * normalised BM25
    RRF = "rrf"  # reciprocal rank fusion
    DENSE = "dense"
    BM25 = "bm25"


@dataclass(slots=True)
class Ranked:
    """A candidate paragraph id with its fused and per-side scores."""

    id: int
    score: float
    dense: float
    lexical: float


def rank(
    qvec: np.ndarray,
    terms: list[str],
    index: VectorSearch,
    bm25: LexicalSearch,
    k: int,
    candidates: int,
    fusion: Fusion = Fusion.HYBRID,
    lexical_weight: float = 0.1,
) -> list[Ranked]:
    """The k best paragraphs for a query vector and its matching terms."""
    dense: dict[int, float] = {}  # cosine for every candidate, from either side
    lexical: dict[int, float] = {}
    if fusion != Fusion.BM25:
        scores, ids = index.search(qvec[None, :], max(k, candidates))
        dense = {int(i): float(s) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0}
    dense_hits = set(dense)  # what the dense side itself proposed
    if fusion != Fusion.DENSE:
        scores, ids = bm25.search(terms, max(k, candidates))
        lexical = {int(i): float(s) for s, i in zip(scores, ids, strict=True)}
    lexical_only = sorted(lexical.keys() - dense.keys())
    dense.update(zip(lexical_only, index.similarities(qvec, lexical_only).tolist(), strict=True))
    top_lex = max(lexical.values(), default=0.0) or 1.0
    # Squared: a question sharing one word in eight with the corpus (an English question
    # naming "Tehran" over Persian text holding one URL) gets next to no lexical say.
    weight = lexical_weight * bm25.coverage(terms) ** 2
    out = []
    for pid in dense:
        d, lx = dense[pid], lexical.get(pid, 0.0) / top_lex
        if fusion == Fusion.HYBRID:
            score = d + weight * lx
        elif fusion == Fusion.DENSE:
            score = d
        elif fusion == Fusion.BM25:
            score = lx
        else:
            score = 0.0
        out.append(Ranked(pid, score, d, lx))
    if fusion == Fusion.RRF:
        dense_order = sorted(dense_hits, key=dense.get, reverse=True)
        for order in (dense_order, sorted(lexical, key=lexical.get, reverse=True)):
            positions = {pid: r for r, pid in enumerate(order)}
            for item in out:
                if item.id in positions:
                    item.score += 1.0 / (RRF_K + positions[item.id] + 1)
    out.sort(key=lambda r: (-r.score, r.id))
    return out[:k]
