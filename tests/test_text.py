"""Core behaviour of `qa.text`: the Persian spelling variants that must fold to one key.

Each case is a pitfall of real Persian text: Arabic letter forms, three digit scripts,
the zero-width non-joiner written as a space or left out, diacritics, tatweel, and the
mixed Persian/English text where URLs and decimals must survive. Sentence and clause
offsets must always slice the raw text exactly, since citations rest on them.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.text import ZWNJ, Span, clauses, compound_terms, detect_language, normalize, sentences, tokens


def test_arabic_yeh_and_kaf_fold_to_persian() -> None:
    assert normalize("علي") == normalize("علی")
    assert normalize("كتاب") == normalize("کتاب")
    assert normalize("مي‌كند") == normalize("می‌کند")
    assert tokens("ايران") == tokens("ایران") == ["ایران"]


def test_three_digit_scripts_fold_to_one_form() -> None:
    assert normalize("۲۰۲۰") == normalize("٢٠٢٠") == normalize("2020") == "2020"
    assert tokens("سال ۲۰۲۰") == tokens("سال ٢٠٢٠") == tokens("سال 2020")


@pytest.mark.parametrize(
    "variants",
    [
        ("می\u200cکند", "می کند", "میکند"),
        ("می\u200cخواند", "می خواند", "میخواند"),
        ("نمی\u200cخواند", "نمی خواند", "نمیخواند"),
        ("تروریست\u200cها", "تروریست ها", "تروریستها"),
        ("کتاب\u200cهای", "کتاب های", "کتابهای"),
        ("بزرگ\u200cترین", "بزرگ ترین", "بزرگترین"),
    ],
)
def test_zwnj_space_and_nothing_give_one_key_and_one_token(variants: tuple[str, ...]) -> None:
    assert len({normalize(v) for v in variants}) == 1
    assert len({tuple(tokens(v)) for v in variants}) == 1
    assert ZWNJ not in normalize(variants[0])


def test_plural_joins_in_a_sentence() -> None:
    a = tokens("حمله تروریست‌ها به شهر")
    b = tokens("حمله تروریست ها به شهر")
    c = tokens("حمله تروریستها به شهر")
    assert a == b == c
    assert "تروریستها" in a


def test_diacritics_and_tatweel_are_dropped() -> None:
    assert normalize("عِلْم") == normalize("علم")
    assert normalize("کـــتاب") == normalize("کتاب")
    assert tokens("عِلْمِ کـــتاب") == tokens("علم کتاب")


def test_url_keeps_its_characters() -> None:
    url = "http://x.ir/a?b=1"
    assert normalize(url) == url
    assert url in normalize(f"نشانی {url} را ببینید")


def test_decimals_survive_in_every_digit_script() -> None:
    assert tokens("3.14") == tokens("۳.۱۴") == tokens("٣.١٤") == ["3.14"]
    assert "7.8" in tokens("زلزله ۷.۸ ریشتری")
    assert "pm2.5" in tokens("ذرات PM2.5 در هوا")


def test_english_is_lowercased() -> None:
    assert normalize("Bashar AL-Assad") == "bashar al-assad"
    assert tokens("Tehran AIR Pollution") == ["tehran", "air", "pollution"]


def test_stop_words_are_dropped_in_both_languages() -> None:
    assert tokens("What is the capital of Japan?") == ["capital", "japan"]
    fa = tokens("این کتاب از آن مرد است و در خانه بود")
    assert "کتاب" in fa and "مرد" in fa and "خانه" in fa
    for stop in ("این", "از", "آن", "است", "و", "در", "بود"):
        assert normalize(stop) not in fa
    assert tokens("the and of است از") == []


def test_spoken_question_words_are_not_search_terms() -> None:
    # people type questions as they speak: what they ask is not a word the passage holds
    assert tokens("چه کسایی کاخ باکینگهام رو توسعه دادن؟") == ["کاخ", "باکینگهام", "توسعه"]
    assert tokens("مساحت فرودگاه دوبی چقدره؟") == ["مساحت", "فرودگاه", "دوبی"]
    assert tokens("شرکت ماهان چندتا هواپیما داره؟") == ["شرکت", "ماهان", "هواپیما"]


def test_words_typed_apart_are_joined_where_the_corpus_writes_them_as_one() -> None:
    words = {
        "بینالمللی",
        "فرودگاه",
        "صلاحالدین",
        "صلاح",
        "سردبیر",
        "سر",
        "دبیر",
        "مجله",
        "درابتدا",
        "ابتدا",
    }

    def corpus(terms: list[str]) -> set[str]:
        return words & set(terms)

    assert compound_terms("فرودگاه بین المللی کجاست؟", corpus) == (["بینالمللی"], {"المللی"})
    assert compound_terms("صلاح الدین ایوبی که بود", corpus) == (["صلاحالدین"], {"الدین"})
    assert compound_terms("سر دبیر مجله", corpus) == (["سردبیر"], set()), "a part the corpus holds alone stays"
    assert compound_terms("در ابتدا", corpus) == ([], set()), "a preposition before a word held alone"
    assert compound_terms("بین المللی", lambda terms: set()) == ([], set()), "only what the corpus writes as one"
    assert compound_terms("New York", lambda terms: {"newyork"} & set(terms)) == ([], set()), "Persian words only"


def test_punctuation_is_not_a_token() -> None:
    assert tokens("«سلام»، دنیا! (hello) world?") == ["سلام", "دنیا", "hello", "world"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("پایتخت ژاپن کجاست؟", "fa"),
        ("Where is Tokyo?", "en"),
        ("شاخص PM2.5 در تهران بالا رفت", "fa"),
        ("The AQI in تهران is high today", "en"),
        ("123 !!", "unknown"),
        ("", "unknown"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


MIXED = (
    "زمین\u200cلرزه\u200cای به بزرگی ۷.۸ ریشتر بامداد دوشنبه رخ داد. "
    "The quake had a magnitude of 7.8 on Monday! "
    "آیا ذرات PM2.5 خطرناک\u200cاند؟ بله، به گفته متخصصان: «بسیار خطرناک‌اند.» "
    "قیمت ٣.١٤ درصد بالا رفت.\n\n"
    "Visit http://x.ir/a?b=1 for more - it is updated hourly.   "
)


def _assert_slices(source: str, spans: list[Span]) -> None:
    for span in spans:
        assert source[span.start : span.end] == span.text
        assert span.text == span.text.strip() and span.text


def test_sentence_offsets_slice_mixed_text() -> None:
    found = sentences(MIXED)
    _assert_slices(MIXED, found)
    texts = [s.text for s in found]
    assert texts[0].endswith("رخ داد.") and "۷.۸" in texts[0]
    assert texts[1] == "The quake had a magnitude of 7.8 on Monday!"
    assert any("٣.١٤" in t and t.endswith("بالا رفت.") for t in texts)
    assert any("http://x.ir/a?b=1" in t for t in texts)
    assert [s.start for s in found] == sorted(s.start for s in found)


def test_a_decimal_point_does_not_end_a_sentence() -> None:
    text = "زمین\u200cلرزه\u200cای به بزرگی ۷.۸ ریشتر رخ داد. سپس پس\u200cلرزه ۵.۲ آمد."
    assert [s.text for s in sentences(text)] == [
        "زمین\u200cلرزه\u200cای به بزرگی ۷.۸ ریشتر رخ داد.",
        "سپس پس\u200cلرزه ۵.۲ آمد.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "هری پاتر مجموعه‌ای از هفت رمان نوشتهٔ جی.کی. رولینگ است. بعدی آمد.",
        "The series is by J. K. Rowling of Britain. Then it was filmed.",
        "He met U.S. officials in Doha. Then he left.",
    ],
)
def test_initials_do_not_end_a_sentence(text: str) -> None:
    spans = sentences(text)
    assert len(spans) == 2 and all(text[s.start : s.end] == s.text for s in spans)


def test_a_full_stop_without_the_space_after_it_ends_a_persian_sentence() -> None:
    text = "گروه‌ها به مواضع ارتش حمله کردند.این عملیات توافق را نقض کرد. قیمت ۱۲۳.۵ درصد بالا رفت."
    assert [s.text for s in sentences(text)] == [
        "گروه‌ها به مواضع ارتش حمله کردند.",
        "این عملیات توافق را نقض کرد.",
        "قیمت ۱۲۳.۵ درصد بالا رفت.",
    ]
    assert len(sentences("خبرگزاری www.irna.ir گزارش داد.")) == 1, "an address is not cut"


def test_a_short_word_and_a_line_break_still_end_a_sentence() -> None:
    assert [s.text for s in sentences("کار تمام شد. بعد رفت.")] == ["کار تمام شد.", "بعد رفت."]
    assert [s.text for s in sentences("نوشتهٔ جی.کی.\nرولینگ")] == ["نوشتهٔ جی.کی.", "رولینگ"]


def test_clause_offsets_slice_the_paragraph() -> None:
    for sentence in sentences(MIXED):
        parts = clauses(sentence)
        assert parts
        _assert_slices(MIXED, parts)
        assert all(sentence.start <= c.start <= c.end <= sentence.end for c in parts)
    with_commas = next(s for s in sentences(MIXED) if s.text.startswith("بله،"))
    parts = [c.text for c in clauses(with_commas)]
    assert parts[:2] == ["بله،", "به گفته متخصصان:"]
    assert parts[2].startswith("«بسیار")


def test_a_closing_quote_stays_with_its_sentence() -> None:
    text = "یکی از مقامها گفت: «کمک‌ها دیر رسید.» شمال غرب سوریه آسیب دید. He said (it was late.) Then left."
    found = sentences(text)
    _assert_slices(text, found)
    assert [s.text for s in found] == [
        "یکی از مقامها گفت: «کمک‌ها دیر رسید.»",
        "شمال غرب سوریه آسیب دید.",
        "He said (it was late.)",
        "Then left.",
    ]


PERSIAN_LETTERS = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیيكةۀأإآئؤء"
ALPHABET = PERSIAN_LETTERS + " " * 6 + "\n" + ZWNJ * 2 + "۰۱۲۳۴۵۶۷۸۹٠١٢0123456789" + ".!?؟…،,;؛:-–«»\"')(ـ"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=200))
def test_property_every_sentence_and_clause_is_the_slice_of_the_input(text: str) -> None:
    spans = sentences(text)
    _assert_slices(text, spans)
    for earlier, later in zip(spans, spans[1:], strict=False):
        assert earlier.end <= later.start
    for sentence in spans:
        _assert_slices(text, clauses(sentence))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=120))
def test_property_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
