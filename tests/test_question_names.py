"""The names an English question writes, looked for in the paragraph it is answered from
(qa.answer.question_names, named_share): the confidence's sign that a question over Persian text
asks about someone or somewhere the paragraph never mentions."""

from __future__ import annotations

from collections.abc import Sequence

from qa.answer import named_share, question_names
from qa.lexicon import lexicon, skipped_words
from qa.service import QAService
from qa.text import match_keys
from qa.transliterate import persian_names

PERSEPOLIS = (
    "باشگاه فوتبال پرسپولیس در سال ۱۳۴۲ در تهران تأسیس شد. این باشگاه ورزشگاه آزادی را "
    "برای بازی‌های خانگی خود به کار می‌برد و هواداران بسیاری در سراسر ایران دارد."
)


def no_equivalents(words: Sequence[str]) -> list[str]:
    return []


def share(question: str, paragraph: str, equivalents=no_equivalents) -> float:
    named = question_names(question, skipped_words(), equivalents)
    return named_share(named, persian_names(paragraph), match_keys(paragraph))


def test_a_name_the_paragraph_spells_in_persian_is_found() -> None:
    assert share("In what year was Persepolis football club founded?", PERSEPOLIS) == 1.0


def test_a_name_the_paragraph_never_writes_is_missing() -> None:
    assert share("In what year was Esteghlal football club founded?", PERSEPOLIS) == 0.0
    assert share("When did Persepolis play Esteghlal in Tabriz?", PERSEPOLIS) == 1 / 3


def test_a_name_of_several_words_counts_once_and_is_found_by_any_of_them() -> None:
    question = "Which stadium does Persepolis Football Club use?"
    assert [name.words for name in question_names(question, skipped_words(), no_equivalents)] == [
        ("Persepolis", "Football", "Club")
    ]
    assert share(question, PERSEPOLIS) == 1.0


def test_a_name_persian_does_not_spell_alike_is_found_by_the_lexicons_equivalent() -> None:
    question = "Where do the fans of the Persian club live?"
    assert share(question, PERSEPOLIS) == 0.0, "'Persian' does not spell «ایران»"
    assert share(question, PERSEPOLIS, lambda words: ["فارسی", "ایرانی"]) == 1.0


def test_an_english_paragraph_writes_the_name_as_the_question_does() -> None:
    text = "Persepolis Football Club was founded in 1963 in Tehran."
    assert share("Where was Persepolis founded?", text) == 1.0
    assert share("Where was Esteghlal founded?", text) == 0.0


def test_a_question_naming_nothing_has_nothing_missing() -> None:
    assert share("in what year was the club founded?", PERSEPOLIS) == 1.0
    assert share("باشگاه استقلال در چه سالی تأسیس شد؟", PERSEPOLIS) == 1.0, "a Persian question names in Persian"


def test_the_service_is_less_sure_of_an_answer_about_a_name_its_paragraph_lacks(empty_service: QAService) -> None:
    empty_service.ingest_text(PERSEPOLIS, doc_id="club", title="پرسپولیس")
    named = empty_service.ask("In what year was Persepolis football club founded?", 5, min_confidence=0.0)
    other = empty_service.ask("In what year was Esteghlal football club founded?", 5, min_confidence=0.0)
    assert named.signals["name_coverage"] == 1.0 and other.signals["name_coverage"] == 0.0
    assert other.confidence < named.confidence


def test_a_place_whose_persian_name_is_not_its_spelling_is_found_by_the_shipped_lexicon() -> None:
    paragraph = "سد اسوان بزرگ‌ترین سد مصر است و بر رود نیل ساخته شده است."
    question = "Which river is Egypt's largest dam built on?"
    assert share(question, paragraph) == 0.0, "«مصر» spells nothing like 'Egypt'"
    assert share(question, paragraph, lexicon().equivalents) == 1.0
