"""Names written in Latin letters match the same names in Persian script (qa.transliterate)."""

from __future__ import annotations

import pytest

from qa.text import stopwords
from qa.transliterate import (
    SpellingIndex,
    latin_names,
    latin_skeleton,
    latin_skeletons,
    name_runs,
    persian_names,
    persian_skeletons,
    persian_spellings,
)


@pytest.mark.parametrize(
    ("latin", "persian"),
    [
        ("Pezeshkian", "پزشکیان"),
        ("Sudani", "السودانی"),
        ("Assad", "اسد"),
        ("Bashar", "بشار"),
        ("Putin", "پوتین"),
        ("Japan", "ژاپن"),
        ("Erdogan", "اردوغان"),
        ("Tehran", "تهران"),
        ("Astana", "آستانه"),
        ("Khamenei", "خامنه‌ای"),
        ("UNICEF", "یونیسف"),
        ("Cicero", "سیسرو"),
        ("Baalbek", "بعلبک"),
        ("Saladin", "صلاح‌الدین"),
    ],
)
def test_a_latin_name_matches_its_persian_spelling(latin: str, persian: str) -> None:
    assert latin_skeleton(latin) in persian_skeletons(persian)


@pytest.mark.parametrize(("latin", "persian"), [("Tehran", "مشهد"), ("Pezeshkian", "پزشک"), ("Sudani", "سوریه")])
def test_different_names_do_not_match(latin: str, persian: str) -> None:
    assert latin_skeleton(latin) not in persian_skeletons(persian)


def test_a_question_names_only_its_names() -> None:
    names = latin_names("Who did Bashar al-Assad speak with by phone?", stopwords())
    assert latin_skeleton("Bashar") in names and latin_skeleton("Assad") in names
    assert latin_skeleton("speak") not in names, "a capitalised question names its capitalised words"
    assert latin_skeleton("Assad") in latin_names("who did bashar al-assad speak with", stopwords())


def test_a_persian_sentence_gives_the_skeletons_of_its_words_with_and_without_the_article() -> None:
    names = persian_names("محمد شیاع السودانی نخست وزیر عراق")
    assert {latin_skeleton("Sudani"), latin_skeleton("Iraq"), latin_skeleton("Mohammad")} <= names


def test_punctuation_and_digits_are_not_part_of_a_skeleton() -> None:
    assert persian_skeletons("ایران،") == persian_skeletons("ایران") == {latin_skeleton("Iran")}
    assert persian_skeletons("۲۰۱۸") == frozenset()


def test_a_possessive_is_not_part_of_the_name() -> None:
    assert latin_names("Who was Saladin's uncle?", stopwords()) == [latin_skeleton("Saladin")]
    assert latin_names("Who was Saladin’s uncle?", stopwords()) == [latin_skeleton("Saladin")]


def test_a_passage_spells_the_names_of_a_question_by_their_skeletons() -> None:
    texts = ["محمد شیاع السودانی نخست وزیر عراق با بشار اسد دیدار کرد.", "پدرش حاکم بعلبک شد."]
    assert persian_spellings("Where is Baalbek?", texts, stopwords()) == ["بعلبک"]
    assert persian_spellings("Whom did al-Sudani meet?", texts, stopwords()) == ["السودانی"]
    # "Assad" is two consonants: too many words share them for a search term (SEARCH_CONSONANTS).
    assert persian_spellings("Whom did Assad meet?", texts, stopwords()) == []
    assert persian_spellings("Where is Madrid?", texts, stopwords()) == []


def test_a_corpus_index_spells_a_name_wherever_the_corpus_writes_it() -> None:
    texts = ["محمد شیاع السودانی نخست وزیر عراق با بشار اسد دیدار کرد.", "پدرش حاکم بعلبک شد.", "بعلبک شهری کهن است."]
    index = SpellingIndex(texts)
    assert index.spellings("Where is Baalbek?", stopwords()) == ["بعلبک"], "each word once, from any text"
    assert index.spellings("Whom did al-Sudani meet in Baalbek?", stopwords()) == ["السودانی", "بعلبک"]
    assert index.spellings("Whom did Assad meet?", stopwords()) == [], "too short a skeleton to search for"
    assert index.spellings("Where is Madrid?", stopwords()) == []
    assert len(SpellingIndex([])) == 0


@pytest.mark.parametrize(
    ("latin", "persian"),
    [
        ("Wagner", "واگنر"),  # a w Persian writes «و», which counts as a vowel
        ("Woolf", "وولف"),
        ("Vladimir", "ولادیمیر"),  # an opening v Persian writes «و»
        ("Alexander", "الکساندر"),  # x as «کس»
        ("Kurds", "کردها"),  # an English plural
        ("Syrian", "سوریه"),  # the place a demonym is made from
        ("Iraqi", "عراق"),
        ("Islamic", "اسلام"),
        ("Huns", "هون‌ها"),  # an opening h counts, so a short name is long enough to be found
        ("Harry", "هری"),
        ("Hamas", "حماس"),
        ("Pezeshkian", "پزشکیان"),  # and the name itself
    ],
)
def test_the_variants_of_a_latin_name_match_how_persian_spells_it(latin: str, persian: str) -> None:
    assert latin_skeletons(latin) & persian_skeletons(persian)


@pytest.mark.parametrize(
    ("latin", "persian"),
    [
        ("Wagner", "مشهد"),
        ("Vladimir", "تهران"),
        ("Alexander", "اسکندریه"),
        ("Harry", "هر"),  # "every": a two-letter word's opening «ه» does not count
        ("Hamas", "هم"),
        ("Huns", "نان"),
    ],
)
def test_the_variants_of_a_latin_name_do_not_match_other_words(latin: str, persian: str) -> None:
    assert not latin_skeletons(latin) & persian_skeletons(persian)


def test_a_question_names_runs_of_capitalised_words_as_one_name_each() -> None:
    stop = stopwords()
    assert name_runs("Who founded Real Madrid in the Spanish capital?", stop) == [("Real", "Madrid"), ("Spanish",)]
    assert name_runs("Since when has Vienna hosted OPEC's meetings?", stop) == [("Vienna",), ("OPEC",)], (
        "the first word is capitalised as a sentence's is; a possessive is not part of a name"
    )
    assert name_runs("Who succeeded Louis XIV?", stop) == [("Louis",)], "a Roman numeral is not a name"
    assert name_runs("where is the capital of japan?", stop) == [], "nothing capitalised, no name"
