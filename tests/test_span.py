"""The answer span inside a chosen sentence (qa/span.py): exact quotes, the question's hole,
the fitted scorer per language."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import qa.span
from qa.answer import TYPED_ANSWER_WORDS, short_answer
from qa.span import (
    DANGLING,
    SPAN_FEATURES,
    SPAN_HAND_SET,
    SPAN_SCORERS,
    SpanQuestion,
    SpanScorer,
    best_window,
    span_scorer_for,
    window_features,
    windows,
    without_dangling_end,
)
from qa.text import Span, match_key, tokens

PARAGRAPH = (
    "مقدمه. حکیم ابوالقاسم فردوسی شاعر بزرگ ایرانی در سال ۳۲۹ در توس به دنیا آمد و "
    "سی سال از عمر خود را صرف سرودن شاهنامه کرد که بزرگ‌ترین حماسه فارسی است."
)


def sentence_of(text: str, first: str) -> Span:
    start = text.index(first)
    end = text.index(".", start + 1) + 1
    return Span(start, end, text[start:end])


def question(text: str, kind: str | None = None) -> SpanQuestion:
    terms = tokens(text)
    return SpanQuestion.of(text, {match_key(t): 1.0 for t in terms}, kind)


def test_module_examples_hold() -> None:
    assert doctest.testmod(qa.span).failed == 0


def test_every_window_is_the_stored_text_at_its_offsets() -> None:
    sentence = sentence_of(PARAGRAPH, "حکیم")
    spans = windows(sentence, 5)
    assert len(spans) == len(sentence.text.split()) - 4
    for span in spans:
        assert PARAGRAPH[span.start : span.end] == span.text
        assert len(span.text.split()) == 5


def test_a_sentence_within_the_limit_is_its_own_only_window() -> None:
    sentence = Span(3, 12, "a b c d e")
    assert windows(sentence, 5) == [sentence]
    assert best_window(question("what is a?"), sentence, 5, span_scorer_for("en")) == sentence


def test_the_words_around_the_question_word_fall_on_either_side_of_it() -> None:
    q = question("فردوسی در کدام شهر به دنیا آمد؟")
    assert match_key("فردوسی") in q.left
    assert match_key("دنیا") in q.right
    # "شهر" names the answer's kind: it stands beside the answer, on neither side
    assert match_key("شهر") not in q.left | q.right


def test_the_hole_feature_peaks_where_the_question_word_stands_in_the_sentence() -> None:
    sentence = sentence_of(PARAGRAPH, "حکیم")
    q = question("فردوسی در کدام شهر به دنیا آمد؟", "place")
    spans = windows(sentence, 1)
    between = window_features(q, sentence, spans)[:, SPAN_FEATURES.index("between")]
    best = spans[int(np.argmax(between))].text
    assert best in {"۳۲۹", "در", "توس", "به", "سال"}
    assert between[[s.text for s in spans].index("شاعر")] < between.max()


@pytest.mark.parametrize("language", ["fa", "en", "unknown"])
def test_every_language_has_a_fitted_scorer_of_the_right_size(language: str) -> None:
    scorer = span_scorer_for(language)
    assert len(scorer.weights) == len(SPAN_FEATURES)
    assert set(SPAN_SCORERS) == {"fa", "en"}
    assert len(SPAN_HAND_SET) == len(SPAN_FEATURES)


def test_the_short_answer_is_a_quote_of_at_most_the_limit() -> None:
    sentence = sentence_of(PARAGRAPH, "حکیم")
    text = "شاهنامه چه نوع اثری است؟"
    for limit in (3, 6, 12):
        span = short_answer(text, sentence, question(text).weights, limit, "fa")
        assert PARAGRAPH[span.start : span.end] == span.text
        assert sentence.start <= span.start < span.end <= sentence.end
        assert len(span.text.split()) <= limit


def test_a_year_question_gets_a_few_words_around_the_year() -> None:
    sentence = sentence_of(PARAGRAPH, "حکیم")
    text = "فردوسی در چه سالی به دنیا آمد؟"
    span = short_answer(text, sentence, question(text).weights, 25, "fa")
    assert "۳۲۹" in span.text
    assert len(span.text.split()) <= TYPED_ANSWER_WORDS
    assert PARAGRAPH[span.start : span.end] == span.text
    assert span.text.split()[-1] not in DANGLING
    # a limit below the typed width still holds: the year alone fits it
    assert short_answer(text, sentence, question(text).weights, 1, "fa").text == "۳۲۹"


def test_only_windows_holding_the_typed_span_compete() -> None:
    sentence = sentence_of(PARAGRAPH, "حکیم")
    year = PARAGRAPH.index("۳۲۹")
    within = Span(year, year + 3, "۳۲۹")
    weights = [0.0] * len(SPAN_FEATURES)
    weights[SPAN_FEATURES.index("ends_sentence")] = 1.0  # would pick the sentence's last window
    span = best_window(question("چه؟"), sentence, 4, SpanScorer(tuple(weights)), within=within)
    assert span.start <= within.start and within.end <= span.end
    assert len(span.text.split()) <= 4


def test_a_window_never_ends_on_a_function_word_unless_the_kept_span_does() -> None:
    assert without_dangling_end(Span(5, 20, "born in Tus and")) == Span(5, 16, "born in Tus")
    assert without_dangling_end(Span(0, 4, "and ")).text == "and"  # one word stays
    kept = Span(8, 19, "Tus and of")
    assert without_dangling_end(Span(0, 19, "born in Tus and of"), keep=kept).text == "born in Tus and of"


def test_a_scorer_that_prefers_the_end_picks_the_last_window() -> None:
    sentence = sentence_of(PARAGRAPH, "حکیم")
    weights = [0.0] * len(SPAN_FEATURES)
    weights[SPAN_FEATURES.index("ends_sentence")] = 1.0
    span = best_window(question("چه؟"), sentence, 4, SpanScorer(tuple(weights)))
    assert span.end == sentence.end
