"""Which words of the chosen sentence are the answer: a fitted score over short windows.

A reader of "فردوسی در چه سالی به دنیا آمد؟" looks for the words the question word stands
in for: after "فردوسی در" and before "به دنیا آمد" in the sentence. The question's words
around its question word leave a *hole* in the sentence, and the answer is in it. This
module cuts a sentence into every window of at most `width` words, describes each by where
the question's words stand around it (`SPAN_FEATURES`) and scores it linearly, with weights
per question language fitted by `bench/fit_span.py` on questions the evaluation never sees.
The window is always whole words of the stored sentence, so the answer stays a quote.

At the default limit of 25 words the fitted weights mostly keep a long sentence's opening
(its subject) and move the window on when the question's words stand further in; the
hole features matter more the shorter the limit (`bench/fit_span.py` prints both).

Example:
    >>> [w.text for w in windows(Span(4, 13, "a b c d e"), 3)]
    ['a b c', 'b c d', 'c d e']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.text import Span, match_keys, normalize

_WORD = re.compile(r"\S+")
_CLAUSE_END = re.compile(r"[،,;؛:.!?؟»)\]]$")
WH_WORDS = frozenset(
    [
        "چه",
        "چی",
        "چیست",
        "چیه",
        "کی",
        "کیست",
        "کیه",
        "کجا",
        "کجاست",
        "کدام",
        "کدوم",
        "کدامیک",
        "چند",
        "چندم",
        "چقدر",
        "چگونه",
        "چطور",
        "چطوری",
        "چرا",
    ]
    + ["what", "which", "who", "whom", "whose", "when", "where", "how", "why"]
)

TYPE_WORDS = frozenset(["چه", "کدام", "کدوم", "کدامیک", "چند", "what", "which", "how", "whose"])


@dataclass(frozen=True, slots=True)
class SpanQuestion:
    """What of a question the span scorer reads: its words' weights, and which of them stand
    before ("left") and after ("right") its question word."""

    weights: dict[str, float]  # match key -> idf (qa.answer.question_weights)
    left: frozenset[str]
    right: frozenset[str]
    kind: str | None  # qa.answer_type.answer_type

    @classmethod
    def of(cls, question: str, weights: dict[str, float], kind: str | None) -> SpanQuestion:
        words = question.split()
        folded = [normalize(w).strip("؟?.,،!«»\"'()") for w in words]
        at = next((i for i, w in enumerate(folded) if w in WH_WORDS), len(words))
        # "چه سالی", "کدام شهر", "how many": the word after such a question word names the
        # answer's kind and stands beside the answer, on neither side of it
        after = at + 2 if at + 1 < len(words) and folded[at] in TYPE_WORDS else at + 1
        left = set().union(*(match_keys(w) for w in words[:at]))
        right = set().union(*(match_keys(w) for w in words[after:]))
        keys = set(weights)
        return cls(dict(weights), frozenset(left & keys), frozenset(right & keys), kind)


@dataclass(frozen=True, slots=True)
class SpanScorer:
    """A linear score over SPAN_FEATURES; the best-scoring window is the answer."""

    weights: tuple[float, ...]


SPAN_FEATURES = (
    "inside",  # the question's words inside the window, idf-weighted share
    "hole",  # its best unmatched word by the question's words around it (left ones before, right ones after)
    "between",  # its best unmatched word by the weaker of the two pulls: a word between both sides
    "left_before",  # share of the question's left words standing before the window's end
    "right_after",  # share of its right words standing after the window's start
    "left_after",  # share of its left words after the window (the hole is further on)
    "right_before",  # share of its right words before the window (the hole was earlier)
    "new_words",  # share of its words that are not the question's
    "starts_sentence",
    "ends_sentence",
    "position",  # where it starts: 0 at the sentence's opening, 1 at the last possible start
    "matches_after",  # question words after the window, share
    "matches_before",  # question words before the window, share
    "clause_start",  # it starts after a comma or other clause mark
    "clause_end",  # it ends on one
)
# The "most question words, the hole inside" rule used before a scorer is fitted.
SPAN_HAND_SET = (1.0, 0.5, 1.0, 0.5, 0.5, -0.5, -0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
# Words an answer never ends on: a window cut after one ("... به دنیا آمد و") loses it.
DANGLING = frozenset(
    ["و", "یا", "که", "در", "به", "از", "با", "را", "تا"] + ["and", "or", "of", "in", "the", "a", "to", "that"]
)
HOLE_DECAY = 0.8  # a question word's pull on a hole word falls by this per word between them


def windows(sentence: Span, width: int) -> list[Span]:
    """Every run of `width` consecutive words of the sentence (the sentence itself when it is
    no longer), as spans with the sentence's offsets."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(sentence.text)]
    if len(words) <= width:
        return [sentence]
    out = []
    for i in range(len(words) - width + 1):
        s, e = words[i][0], words[i + width - 1][1]
        out.append(Span(sentence.start + s, sentence.start + e, sentence.text[s:e]))
    return out


def window_features(question: SpanQuestion, sentence: Span, spans: Sequence[Span]) -> np.ndarray:
    """One row of SPAN_FEATURES per window of `sentence` (spans from `windows`)."""
    words = [(m.start() + sentence.start, m.end() + sentence.start, m.group()) for m in _WORD.finditer(sentence.text)]
    n = len(words)
    weights = question.weights
    total = sum(weights.values()) or 1.0
    keys = [match_keys(w) for _, _, w in words]

    def weight(k: int, among: frozenset[str] | dict[str, float]) -> float:
        return max((weights[x] for x in keys[k] if x in among), default=0.0)

    matched = np.array([weight(k, weights) for k in range(n)]) / total
    left = np.array([weight(k, question.left) for k in range(n)])
    right = np.array([weight(k, question.right) for k in range(n)])
    left /= left.sum() or 1.0
    right /= right.sum() or 1.0
    at = np.arange(n)
    gap = at[:, None] - at[None, :]  # gap[k, j] = k - j
    pull_left = (np.where(gap > 0, HOLE_DECAY ** np.maximum(gap - 1, 0), 0.0) * left).sum(1)
    pull_right = (np.where(gap < 0, HOLE_DECAY ** np.maximum(-gap - 1, 0), 0.0) * right).sum(1)
    unmatched = matched == 0
    hole = np.where(unmatched, pull_left + pull_right, 0.0)
    between = np.where(unmatched, np.minimum(pull_left, pull_right), 0.0)
    starts = {s: i for i, (s, _, _) in enumerate(words)}
    ends = {e: i for i, (_, e, _) in enumerate(words)}
    rows = []
    for span in spans:
        i, j = starts[span.start], ends[span.end] + 1  # words i..j-1
        width = j - i
        rows.append(
            [
                sum(weights[x] for x in set().union(*keys[i:j]) if x in weights) / total,
                float(hole[i:j].max()),
                float(between[i:j].max()),
                float(left[:j].sum()),
                float(right[i:].sum()),
                float(left[j:].sum()),
                float(right[:i].sum()),
                float(unmatched[i:j].mean()),
                float(i == 0),
                float(j == n),
                i / max(n - width, 1),
                float(matched[j:].sum()),
                float(matched[:i].sum()),
                float(i > 0 and bool(_CLAUSE_END.search(words[i - 1][2]))),
                float(bool(_CLAUSE_END.search(words[j - 1][2]))),
            ]
        )
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(SPAN_FEATURES))


def best_window(
    question: SpanQuestion, sentence: Span, width: int, scorer: SpanScorer, within: Span | None = None
) -> Span:
    """The window of at most `width` words of `sentence` that `scorer` rates highest (ties go
    to the earlier window), less any function word it ends on. With `within`, only windows
    holding that span compete (`within` itself when it is wider than `width` or no window
    holds it)."""
    spans = windows(sentence, width)
    if within is not None:
        spans = [s for s in spans if s.start <= within.start and within.end <= s.end] or [within]
    if len(spans) == 1:
        return spans[0]
    scores = window_features(question, sentence, spans) @ np.asarray(scorer.weights)
    return without_dangling_end(spans[int(np.argmax(scores))], within)


def without_dangling_end(span: Span, keep: Span | None = None) -> Span:
    """`span` without the DANGLING words it ends on (never cutting into `keep`).

    Example:
        >>> without_dangling_end(Span(0, 17, "born in Tus and in")).text
        'born in Tus'
    """
    words = list(_WORD.finditer(span.text))
    while len(words) > 1 and words[-1].group().lower() in DANGLING:
        if keep is not None and span.start + words[-2].end() < keep.end:
            break
        words.pop()
    end = words[-1].end()
    return Span(span.start, span.start + end, span.text[:end])


# Fitted by `bench/fit_span.py --width 25` (listwise softmax per question language) on the
# sentences of bench/reader_data/*.jsonl and the dev "train" part. The answer holds the gold,
# "most question words" trim -> fitted, at 25 words, over the sentences the selector chose /
# the gold sentences, never fitted on: dev "eval" part fa 0.600/0.826 -> 0.643/0.884 (140),
# en 0.250/0.789 -> 0.219/0.789 (32); bench/reader_data/heldout fa 0.536/0.816 -> 0.536/0.820
# (560), en 0.218/0.732 -> 0.255/0.851 (560).
SPAN_SCORERS: dict[str, SpanScorer] = {
    "fa": SpanScorer(
        (1.884, 0.519, 0.972, -0.174, -0.033, 0.174, 0.033, -0.912, 1.811, 0.001, 1.257, -1.816, -0.416, 0.358, 1.880)
    ),
    "en": SpanScorer(
        (2.594, 1.812, 0.000, -0.000, 0.063, 0.000, -0.063, -0.558, 1.888, 3.050, -0.290, -1.980, 0.661, -0.079, 0.730)
    ),
}


def span_scorer_for(language: str) -> SpanScorer:
    return SPAN_SCORERS.get(language, SPAN_SCORERS["en"])
