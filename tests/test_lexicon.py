"""An English question's words searched by their Persian equivalents from the shipped lexicon
(qa.lexicon): inflected English forms find their headword, the Persian forms a corpus holds are
the search terms (plural and other endings included, a few a word), stop and question words are
not looked up, the service finds a Persian passage for an English question by them when the
model matches none of its words, and QA_LEXICON=false turns it off. The shipped file is checked
as data: one TAB a line, Persian letters on the Persian side, no Arabic ي/ك."""

from __future__ import annotations

import re

import pytest

from qa.align import QUESTION_WORDS, Alignment
from qa.lexicon import LEXICON, TERMS_PER_WORD, Lexicon, headwords, lexicon
from qa.service import QAService
from qa.text import stopwords, tokens

SMALL = Lexicon.parse(
    [
        "frog\tقورباغه|وزغ",
        "tongue\tزبان",
        "found\tتأسیس|بنیان",
        "find\tیافتن|کشف",
        "player\tبازیکن",
        "play\tبازی",
        "prime minister\tنخست‌وزیر|نخست وزیر",
        "minister\tوزیر",
        "large\tبزرگ",
        "Frog\tغوک",
        "no tab here",
    ]
)


def test_entries_are_lowercase_headwords_with_their_equivalents_merged() -> None:
    assert SMALL.entries["frog"] == ("قورباغه", "وزغ", "غوک")
    assert "no tab here" not in SMALL.entries


@pytest.mark.parametrize(
    ("form", "head"),
    [
        ("frogs", "frog"),
        ("cities", "city"),
        ("founded", "found"),
        ("largest", "large"),
        ("Saladin's", "saladin"),
        ("stopped", "stop"),
        ("making", "make"),
        ("won", "win"),
        ("children", "child"),
        ("used", "use"),
        ("died", "die"),
        ("fled", "flee"),
    ],
)
def test_an_inflected_english_form_finds_its_headword(form: str, head: str) -> None:
    assert head in headwords(form)


def test_a_form_takes_its_first_listed_headword_and_an_irregular_stem_too() -> None:
    assert SMALL.translations("Frogs") == ("قورباغه", "وزغ", "غوک")
    assert SMALL.translations("player") == ("بازیکن",), "not play's words as well"
    assert SMALL.translations("found") == ("تأسیس", "بنیان", "یافتن", "کشف"), "found, and the past of find"
    assert SMALL.translations("penguin") == ()


def test_a_two_word_compound_is_one_unit() -> None:
    pairs = dict(SMALL.phrases(["the", "prime", "minister", "of", "frogs"]))
    assert "prime minister" in pairs and "minister" not in pairs and "frogs" in pairs


def test_search_terms_are_the_forms_the_corpus_holds() -> None:
    corpus = set(tokens("قورباغه‌ها زبان درازی دارند و این باشگاه تأسیس شد و بزرگترین تیم است"))
    asked: list[list[str]] = []

    def held(terms: list[str]) -> set[str]:
        asked.append(terms)
        return {t for t in terms if t in corpus}

    terms = SMALL.terms("What is a frog's long tongue used for?", held, stopwords() | QUESTION_WORDS)
    assert terms == [tokens("قورباغه‌ها")[0], "زبان"], "the plural as the text writes it; 'long' is not listed"
    assert len(asked) == 1, "the corpus is asked once per question"
    assert SMALL.terms("When was it founded?", held, stopwords()) == ["تاسیس"]
    assert SMALL.terms("What is the largest team?", held, stopwords()) == [tokens("بزرگترین")[0]]
    assert SMALL.terms("Where do penguins live?", held, stopwords()) == []


def test_a_word_adds_a_few_forms_at_most() -> None:
    many = Lexicon.parse(["war\t" + "|".join(["جنگ", "نبرد", "پیکار", "ستیز", "کارزار", "رزم"])])
    terms = many.terms("Which war?", lambda ts: set(ts), stopwords() | QUESTION_WORDS)
    assert 0 < len(terms) <= TERMS_PER_WORD and terms[0] == "جنگ"


def test_question_and_stop_words_are_not_looked_up() -> None:
    asking = Lexicon.parse(["what\tچه", "many\tزیاد", "the\tآن"])
    assert asking.terms("What are the many?", lambda ts: set(ts), stopwords() | QUESTION_WORDS) == []


def test_the_shipped_lexicon_is_well_formed() -> None:
    lines = LEXICON.read_text(encoding="utf-8").splitlines()
    persian = re.compile(r"^[\u0600-\u06ff\u200c ]+$")
    heads = []
    for n, line in enumerate(lines, 1):
        assert line.count("\t") == 1, f"line {n}: one TAB between the English and the Persian side"
        head, rest = line.split("\t")
        assert head == head.lower().strip() and re.fullmatch(r"[a-z][a-z' -]*", head), f"line {n}: {head!r}"
        for word in rest.split("|"):
            assert persian.match(word), f"line {n}: {word!r} is not Persian letters"
            assert "ي" not in word and "ك" not in word, f"line {n}: Arabic ي/ك in {word!r}"
        heads.append(head)
    assert len(heads) == len(set(heads)), "each headword once"
    assert len(lexicon().entries) >= 3000


FROGS = (
    "قورباغه‌ها دوزیستانی هستند که با زبان دراز و چسبناک خود حشرات را شکار می‌کنند. "
    "بیشتر آن‌ها در نزدیکی آب زندگی می‌کنند و تخم‌های خود را در آب می‌گذارند."
)
LEAGUE = "تیم استقلال در سال ۱۳۹۰ قهرمان لیگ برتر فوتبال ایران شد و جام را به پایتخت برد."


def test_an_english_question_is_searched_by_the_lexicons_persian_words(empty_service: QAService) -> None:
    empty_service.ingest_text(FROGS, doc_id="frogs", title="قورباغه")
    empty_service.ingest_text(LEAGUE, doc_id="league", title="استقلال")
    # No word matched by meaning: what BM25 finds, it finds by the lexicon's words.
    empty_service.answerer.aligner.align = lambda question, texts, target="fa": Alignment(())  # type: ignore[method-assign]
    question = "What do frogs use their tongue for?"
    scores = {p.paragraph.doc_id: p.lexical for p in empty_service.search(question, top_k=5)}
    assert scores["frogs"] > 0 and scores["league"] == 0
    empty_service.settings.lexicon = False
    scores = {p.paragraph.doc_id: p.lexical for p in empty_service.search(question, top_k=5)}
    assert scores["frogs"] == 0, "QA_LEXICON=false: no Persian word for 'frogs' or 'tongue'"
