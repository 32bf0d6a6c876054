"""From ranked passages to a short, exactly quotable answer, or an honest abstention.

The answer is always a span of a stored paragraph, so it says nothing its citation does
not: the best sentence of the best passages (dense similarity plus question-word
overlap), trimmed to the clauses that carry the question's words when it is long.
Confidence is a calibrated probability from retrieval and span scores, with separate
parameters per question language: an English question scores lower against Persian
text than a Persian one does, and one threshold must mean the same for both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.models import Citation, Paragraph
from qa.store import SentenceTable
from qa.text import Span, clauses, tokens, word_count

PASSAGES_READ = 3
LEXICAL_SENTENCE_WEIGHT = 0.15
RANK_PENALTY = 0.5


@dataclass(frozen=True, slots=True)
class Calibration:
    """Logistic confidence: sigmoid(bias + w_dense*dense + w_lexical*lexical + w_sentence*sentence)."""

    bias: float
    dense: float
    lexical: float
    sentence: float

    def confidence(self, dense: float, lexical: float, sentence: float) -> float:
        z = self.bias + self.dense * dense + self.lexical * lexical + self.sentence * sentence
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


# Fitted on ../shared/data/persianqa_dev.json and tests/data/*.jsonl by bench/calibrate.py.
CALIBRATION: dict[str, Calibration] = {
    "fa": Calibration(bias=-34.0, dense=36.0, lexical=4.0, sentence=4.0),
    "en": Calibration(bias=-31.0, dense=36.0, lexical=0.0, sentence=4.0),
}


@dataclass(slots=True)
class SpanChoice:
    """The chosen answer span and the scores that chose it."""

    paragraph: Paragraph
    span: Span
    sentence_score: float
    lexical: float


def question_overlap(question: set[str], text_terms: Sequence[str], idf: dict[str, float]) -> float:
    """idf-weighted share of the question's terms that a text contains."""
    total = sum(idf.get(t, 0.0) for t in question)
    if total <= 0:
        return 0.0
    present = set(text_terms)
    return sum(idf.get(t, 0.0) for t in question if t in present) / total


def _units(sentence: Span, max_words: int) -> list[Span]:
    """Clauses of a sentence; a clause longer than half the limit is cut into word runs."""
    units = []
    half = max(3, max_words // 2)
    for clause in clauses(sentence):
        if word_count(clause.text) <= half:
            units.append(clause)
            continue
        words = [(m_start, m_end) for m_start, m_end in _word_offsets(clause.text)]
        for i in range(0, len(words), half):
            chunk = words[i : i + half]
            s, e = clause.start + chunk[0][0], clause.start + chunk[-1][1]
            units.append(Span(s, e, clause.text[chunk[0][0] : chunk[-1][1]]))
    return units


def _word_offsets(text: str) -> list[tuple[int, int]]:
    offsets, i = [], 0
    for word in text.split():
        start = text.index(word, i)
        offsets.append((start, start + len(word)))
        i = start + len(word)
    return offsets


def trim(
    sentence: Span,
    paragraph_text: str,
    question: set[str],
    idf: dict[str, float],
    max_words: int,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    qvec: np.ndarray | None = None,
) -> Span:
    """The shortest run of clauses of a long sentence that best matches the question.

    A window scores by the question words it holds, plus a bonus when it also holds
    words the question lacks (the answer itself). With no shared words (a question in
    another language), the windows are compared by embedding instead.
    """
    if word_count(sentence.text) <= max_words:
        return sentence
    units = _units(sentence, max_words)
    windows = []
    for i in range(len(units)):
        for j in range(i, len(units)):
            start, end = units[i].start, units[j].end
            text = paragraph_text[start:end]
            if word_count(text) > max_words:
                break
            windows.append(Span(start, end, text))
    if not windows:
        return sentence
    scored = []
    for w in windows:
        terms = tokens(w.text)
        new_words = sum(t not in question for t in terms)
        scored.append(question_overlap(question, terms, idf) + (0.3 if new_words else 0.0))
    best = max(scored)
    if best <= 0.3 and embed is not None and qvec is not None:
        sims = embed([w.text for w in windows]) @ qvec
        return windows[int(np.argmax(sims))]
    # Among the best windows, the shortest.
    candidates = [w for w, s in zip(windows, scored, strict=True) if s >= best - 1e-9]
    return min(candidates, key=lambda w: (word_count(w.text), w.start))


def choose_span(
    passages: Sequence[tuple[Paragraph, float]],
    sentences: dict[int, SentenceTable],
    qvec: np.ndarray,
    question: set[str],
    idf: dict[str, float],
) -> SpanChoice | None:
    """The best sentence among the top passages, scored by meaning and shared words."""
    best: SpanChoice | None = None
    top_score = passages[0][1] if passages else 0.0
    for paragraph, score in passages[:PASSAGES_READ]:
        table = sentences.get(paragraph.id)
        if table is None or not len(table.starts):
            continue
        dense = table.vectors @ qvec
        for i in range(len(table.starts)):
            start, end = int(table.starts[i]), int(table.ends[i])
            text = paragraph.text[start:end]
            lexical = question_overlap(question, tokens(text), idf)
            value = float(dense[i]) + LEXICAL_SENTENCE_WEIGHT * lexical - RANK_PENALTY * (top_score - score)
            if best is None or value > best.sentence_score:
                best = SpanChoice(paragraph, Span(start, end, text), value, lexical)
    return best


def citation(n: int, paragraph: Paragraph, span: Span) -> Citation:
    """A numbered citation; its quote is the stored paragraph text at start:end."""
    return Citation(
        n=n,
        doc_id=paragraph.doc_id,
        title=paragraph.title,
        source=paragraph.source,
        paragraph=paragraph.n,
        start=span.start,
        end=span.end,
        quote=paragraph.text[span.start : span.end],
    )
