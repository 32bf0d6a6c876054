"""The answer cut from its sentence by the trained reader's span head: the shortest window that
holds nearly all of the head's belief about where the answer is.

The selector's window scorer (qa.span) rates a window by the question words around it, which
says little about where the answer stands: cut to 12 words, its window held the gold of a
rightly chosen Persian sentence 0.64 of the time. The reader's start and end scores say more,
but its single best span is too short to hold a multi-word gold answer (0.32, given the gold
paragraph). Between the two: every span the head can propose inside the sentence gets the
probability softmax(start + end), and the answer is the shortest window of ANSWER_WIDTHS words
that holds MASS_SHARE of it, else the window of the answer limit that holds most. A confident
head gives a 10-word answer, an unsure one a long window, which the gold is then more likely in.

`bench/answer_window.py` measured the widths and the share (dev "calibration" part chosen,
"eval" part reported; the rightly chosen sentences only, 2 cores, run 11): see ANSWER_WIDTHS.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from qa.text import Span

if TYPE_CHECKING:
    from qa.reader import ReaderPass

# dev "calibration" / "eval" parts, rightly chosen Persian sentences (56 / 116): the 25-word
# window of qa.span held the gold 0.893 / 0.966 at a median of 18 / 22 words; these widths and
# share 0.893 / 0.914 at 11 / 10 words (12 words and up: 0.893 / 0.914 at 12 / 12; share 0.9:
# 0.875 / 0.879; 0.97: 0.911 / 0.931 at 15 / 12).
ANSWER_WIDTHS = (10, 12, 15, 18)
MASS_SHARE = 0.95
MAX_SPAN_WORDS = 30  # the longest span the head proposes (its training answers are far shorter)
LIST_COMMAS = ("،", ",")
BRACKETS = (("(", ")"), ("«", "»"), ("[", "]"))
_EDGE = "،,.;؛:!?؟\"'"  # brackets are balanced, not stripped (balanced)


def words_of(text: str, span: Span) -> list[Span]:
    """The whitespace-separated words of `text[span.start:span.end]`, as offsets into `text`."""
    return [
        Span(span.start + m.start(), span.start + m.end(), m.group())
        for m in re.finditer(r"\S+", text[span.start : span.end])
    ]


def span_scores(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """scores[i, j] = start[i] + end[j] for every span i <= j at most MAX_SPAN_WORDS words long,
    -inf for the rest: a window's spans are then the square of it the window covers."""
    n = len(starts)
    i, j = np.indices((n, n))
    band = (j >= i) & (j < i + MAX_SPAN_WORDS)
    return np.where(band, np.add.outer(np.asarray(starts, float), np.asarray(ends, float)), -np.inf)


def span_mass(starts: np.ndarray, ends: np.ndarray, first: int, stop: int) -> float:
    """log of the summed exp(start[i] + end[j]) over the spans i <= j < stop, i >= first,
    at most MAX_SPAN_WORDS words long."""
    return _window_mass(span_scores(starts, ends), first, stop)


def _window_mass(scores: np.ndarray, first: int, stop: int) -> float:
    inside = scores[first:stop, first:stop]
    return float(np.logaddexp.reduce(inside, axis=None)) if inside.size else float("-inf")


def mass_window(
    starts: np.ndarray, ends: np.ndarray, widths: Sequence[int], share: float, longest: int
) -> tuple[int, int]:
    """(first, stop) word indices of the answer window: the narrowest of `widths` whose best
    window holds `share` of the span mass, else the best window of `longest` words."""
    n = len(starts)
    scores = span_scores(starts, ends)
    total = _window_mass(scores, 0, n)
    for width in [w for w in widths if w < longest] + [longest]:
        if width >= n:
            return 0, n
        masses = [_window_mass(scores, a, a + width) for a in range(n - width + 1)]
        best = int(np.argmax(masses))
        if width == longest or np.exp(masses[best] - total) >= share:
            return best, best + width
    return 0, n


def list_start(words: Sequence[Span], first: int) -> int:
    """`first`, moved back over the items of a list it would cut ("میان ایران، [روسیه و ترکیه]"):
    while the word before it ends with a comma. The head often starts a list answer at its
    second item."""
    while first > 0 and words[first - 1].text.endswith(LIST_COMMAS):
        first -= 1
    return first


def reader_window(read: ReaderPass, owner: int, text: str, quoted: Span, max_words: int) -> Span:
    """The answer inside `quoted` (a span of paragraph `owner`'s `text`, read in `read`): the
    mass window of its words by the reader's span scores, without edge punctuation. `quoted`
    itself when the reader gave its words no scores."""
    words = words_of(text, quoted)
    if not words:
        return quoted
    starts, ends = read.word_scores(owner, words)
    if not np.isfinite(starts).any() or not np.isfinite(ends).any():
        return quoted
    floor = float(min(starts[np.isfinite(starts)].min(), ends[np.isfinite(ends)].min())) - 30.0
    starts = np.where(np.isfinite(starts), starts, floor)
    ends = np.where(np.isfinite(ends), ends, floor)
    first, stop = mass_window(starts, ends, ANSWER_WIDTHS, MASS_SHARE, max_words)
    first = list_start(words, first)
    start, end = balanced(text, words[first].start, words[stop - 1].end, quoted)
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    if end <= start:
        return quoted
    return Span(start, end, text[start:end])


def balanced(text: str, start: int, end: int, within: Span) -> tuple[int, int]:
    """`start:end` with no bracket or quote mark left open: a window that opens "(" or "«"
    and stops before its closer reaches to it when the closer stands within `within`, else
    stops before the opener; one that holds a closer without its opener starts after it
    (or at the opener, when that is within `within`)."""
    for opener, closer in BRACKETS:
        depth, first_open = 0, None
        for i in range(start, end):
            if text[i] == opener:
                depth, first_open = depth + 1, i if depth == 0 else first_open
            elif text[i] == closer:
                if depth:
                    depth -= 1
                else:  # a closer whose opener is before the window
                    back = text.rfind(opener, within.start, start)
                    start = back if back >= 0 else i + 1
        if depth and first_open is not None:
            close = text.find(closer, end, within.end)
            end = close + 1 if close >= 0 else first_open
    return start, max(start, end)
