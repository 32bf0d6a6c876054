"""The answer cut by the reader's span head (qa.reader_span): the narrowest window that holds
nearly all of the head's belief, else the longest; always exact words of the stored text."""

from __future__ import annotations

import numpy as np
import pytest

from qa.reader_span import (
    ANSWER_WIDTHS,
    MASS_SHARE,
    MAX_SPAN_WORDS,
    balanced,
    list_start,
    mass_window,
    span_mass,
    words_of,
)
from qa.text import Span

LOW = -20.0


def scores(n: int, peaks: dict[int, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Start and end scores of n words: LOW, except {word: (start, end)}."""
    starts, ends = np.full(n, LOW), np.full(n, LOW)
    for k, (s, e) in peaks.items():
        starts[k], ends[k] = s, e
    return starts, ends


def test_a_confident_head_gives_the_narrowest_window_around_its_span() -> None:
    starts, ends = scores(40, {22: (10.0, LOW), 24: (LOW, 10.0)})  # one span: words 22-24
    first, stop = mass_window(starts, ends, ANSWER_WIDTHS, MASS_SHARE, 25)
    assert stop - first == min(ANSWER_WIDTHS)
    assert first <= 22 and stop > 24


def test_an_unsure_head_gives_the_longest_window_holding_most() -> None:
    # Two equally likely spans 20 words apart: no 10-18-word window holds 95% of the mass.
    starts, ends = scores(40, {3: (10.0, 10.0), 23: (10.0, 10.0)})
    first, stop = mass_window(starts, ends, ANSWER_WIDTHS, MASS_SHARE, 25)
    assert stop - first == 25 and first <= 3 and stop > 23


def test_a_sentence_shorter_than_a_window_is_the_answer_whole() -> None:
    starts, ends = scores(8, {2: (5.0, 5.0)})
    assert mass_window(starts, ends, ANSWER_WIDTHS, MASS_SHARE, 25) == (0, 8)


def test_the_answer_limit_caps_every_width() -> None:
    starts, ends = scores(40, {3: (10.0, 10.0), 23: (10.0, 10.0)})
    first, stop = mass_window(starts, ends, ANSWER_WIDTHS, MASS_SHARE, 6)
    assert stop - first == 6


def test_span_mass_sums_the_spans_inside_only() -> None:
    starts, ends = scores(5, {1: (0.0, 0.0), 3: (0.0, 0.0)})
    # spans inside words 1..3: (1,1), (1,3), (3,3) at e^0 each, the rest ~e^-20
    assert span_mass(starts, ends, 1, 4) == pytest.approx(np.log(3.0), abs=1e-6)
    assert span_mass(starts, ends, 0, 0) == float("-inf")


def test_span_mass_leaves_out_spans_longer_than_the_head_proposes() -> None:
    n = MAX_SPAN_WORDS + 1
    starts, ends = scores(n, {0: (0.0, LOW), n - 1: (LOW, 0.0)})  # the only likely span is one word too long
    assert span_mass(starts, ends, 0, n) < LOW / 2
    starts, ends = scores(n, {0: (0.0, LOW), n - 2: (LOW, 0.0)})  # just as long as the head allows
    assert span_mass(starts, ends, 0, n) == pytest.approx(0.0, abs=1e-6)


def test_words_are_offsets_into_the_whole_text() -> None:
    text = "Intro. The bridge was built in 1602, by Shah Abbas."
    sentence = Span(7, len(text), text[7:])
    words = words_of(text, sentence)
    assert [w.text for w in words][:3] == ["The", "bridge", "was"]
    assert all(text[w.start : w.end] == w.text for w in words)


def test_a_list_is_not_cut_after_its_first_item() -> None:
    text = "براساس توافق میان ایران، روسیه و ترکیه چهار منطقه امن ایجاد شد."
    words = words_of(text, Span(0, len(text), text))
    at = [w.text for w in words].index("روسیه")
    assert words[list_start(words, at)].text == "ایران،"
    assert list_start(words, at + 1) == at + 1, "a window not after a comma stays as it is"


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("چهار منطقه امن در سوریه (کاهش", "چهار منطقه امن در سوریه (کاهش تنش)"),  # reaches the closer
        ("تنش) ایجاد شد", "(کاهش تنش) ایجاد شد"),  # starts at the opener
        ("امن در سوریه", "امن در سوریه"),  # nothing open: as it was
    ],
)
def test_an_answer_leaves_no_bracket_open(window: str, expected: str) -> None:
    text = "چهار منطقه امن در سوریه (کاهش تنش) ایجاد شد."
    start = text.index(window)
    a, b = balanced(text, start, start + len(window), Span(0, len(text), text))
    assert text[a:b] == expected


def test_a_bracket_closing_outside_the_sentence_is_left_out() -> None:
    text = "منطقه امن (کاهش تنش که"
    a, b = balanced(text, 0, len(text), Span(0, len(text), text))
    assert text[a:b].rstrip() == "منطقه امن"


def test_the_answer_keeps_the_bracket_it_closes() -> None:

    from qa.reader_span import reader_window

    text = "در سال ۲۰۱۷ چهار منطقه امن در سوریه جدید (کاهش تنش) ایجاد شد و سپس سه منطقه از آن به کنترل دولت درآمد."
    sentence = Span(0, len(text), text)
    words = words_of(text, sentence)
    at = [w.text for w in words].index("(کاهش")

    assert at == min(ANSWER_WIDTHS) - 1, "the narrowest window holding the span ends on (کاهش"

    class Read:  # the span head's scores: one span, from "در" to "(کاهش"
        def word_scores(self, owner: int, ws: list[Span]) -> tuple[np.ndarray, np.ndarray]:
            starts, ends = scores(len(ws), {0: (10.0, LOW), at: (LOW, 10.0)})
            return starts, ends

    answer = reader_window(Read(), 0, text, sentence, 25)  # type: ignore[arg-type]
    assert answer.text.endswith("(کاهش تنش)") and text[answer.start : answer.end] == answer.text
