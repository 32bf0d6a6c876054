"""Answers on the seeded corpus (the two real news pages), held to the contract: every quote
is the stored text at its offsets, the answer says nothing its quote does not, passages are
ranked and capped, no heading or furniture is ever an answer, and a question the corpus
cannot answer (or whose only matches are furniture) gets an honest abstention.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.models import Answer, Citation
from qa.service import QAService
from qa.text import normalize

TEST_DATA = Path(__file__).parent / "data"
SEED_QUESTIONS = [
    json.loads(line) for line in (TEST_DATA / "seed_questions.jsonl").read_text(encoding="utf-8").splitlines() if line
]
ANSWERABLE = [q for q in SEED_QUESTIONS if q["expect_any"]]
UNANSWERABLE = [q["question"] for q in SEED_QUESTIONS if not q["expect_any"]]

QUESTIONS = [
    ("Who did Bashar al-Assad speak with by phone?", 5),
    ("In which city was the de-escalation agreement signed?", 3),
    ("توافق آتش‌بس در چه سالی منعقد شده بود؟", 5),
    ("کنترل منطقه ادلب بیشتر در اختیار کدام گروه است؟", 2),
    ("بشار اسد با چه کسی تلفنی گفتگو کرد؟", 1),
    ("What is the capital city of Japan?", 4),
]
NAMES = ("پزشکیان", "السودانی")  # whom Assad spoke with: Masoud Pezeshkian, Mohammed Shia al-Sudani


def stored_text(service: QAService, citation: Citation) -> str:
    """The stored paragraph a citation points into."""
    return next(p.text for p in service.document(citation.doc_id)[1] if p.n == citation.paragraph)


def assert_cited_answer_is_well_formed(service: QAService, answer: Answer, top_k: int) -> None:
    assert answer.took_ms > 0
    assert len(answer.passages) <= top_k
    scores = [p.score for p in answer.passages]
    assert scores == sorted(scores, reverse=True)
    for citation in answer.citations:
        _, paragraphs = service.document(citation.doc_id)
        stored = next(p for p in paragraphs if p.n == citation.paragraph)
        assert 0 <= citation.start < citation.end <= len(stored.text)
        assert citation.quote == stored.text[citation.start : citation.end]
        assert citation.quote == citation.quote.strip() and citation.quote
        assert citation.title == stored.title
    if answer.answered:
        assert answer.citations, "an answer always has a citation"
        first = answer.citations[0]
        assert first.start <= first.answer_start < first.answer_end <= first.end, "the answer lies in its quote"
        assert answer.answer == stored_text(service, first)[first.answer_start : first.answer_end]
        assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    else:
        assert answer.answer is None and answer.citations == []


@pytest.mark.parametrize(
    ("question", "top_k"),
    QUESTIONS,
    ids=["en-assad", "en-astana", "fa-ceasefire", "fa-idlib", "fa-assad", "en-japan"],
)
def test_answers_quote_the_stored_text_exactly(service: QAService, question: str, top_k: int) -> None:
    answer = service.ask(question, top_k=top_k)
    assert answer.question == question
    assert answer.language == ("en" if question.isascii() else "fa")
    assert_cited_answer_is_well_formed(service, answer, top_k)
    assert answer.passages, "the seeded corpus always offers passages"


def test_quotes_hold_with_no_abstention(service: QAService) -> None:
    """With the threshold at 0 every question gets a span: each one must still be exact."""
    for question, top_k in QUESTIONS:
        answer = service.ask(question, top_k=top_k, min_confidence=0.0)
        assert answer.answered, question
        assert_cited_answer_is_well_formed(service, answer, top_k)


def assert_names_whom_assad_called(service: QAService, answer: Answer) -> None:
    assert answer.answered, answer.signals
    citation = answer.citations[0]
    blocks = {b.paragraph: b for b in service.blocks(citation.doc_id) if b.paragraph is not None}
    assert blocks[citation.paragraph].label == "body"
    assert any(name in answer.answer for name in NAMES), answer.answer


def test_assad_phone_calls_in_persian(service: QAService) -> None:
    assert_names_whom_assad_called(service, service.ask("بشار اسد با چه کسی تلفنی گفتگو کرد؟"))


def test_assad_phone_calls_in_english(service: QAService) -> None:
    """By meaning alone the call sentence that names no one («رئیس جمهور سوریه در این گفتگوی
    تلفنی ...», cosine 0.822) beat the lead naming Pezeshkian (0.815); the fitted ranker also
    weighs the question's names spelled in Persian (qa.transliterate) and the passage's place."""
    answer = service.ask("Who did Bashar al-Assad speak with by phone?")
    assert answer.answered and answer.citations[0].doc_id.startswith(("000", "002"))
    assert_names_whom_assad_called(service, answer)


def test_no_heading_or_furniture_is_ever_an_answer(service: QAService) -> None:
    """The question the old cleaner answered with a section heading and a related-news headline."""
    for question, top_k in QUESTIONS:
        answer = service.ask(question, top_k=top_k, min_confidence=0.0)
        for cited in answer.citations:
            block = next(b for b in service.blocks(cited.doc_id) if b.paragraph == cited.paragraph)
            assert block.label == "body", (question, block.reason)


@pytest.mark.parametrize("question", ["What is the capital city of Japan?", "پایتخت ژاپن کجاست؟"], ids=["en", "fa"])
def test_out_of_corpus_questions_abstain(service: QAService, question: str) -> None:
    answer = service.ask(question)
    assert (answer.answered, answer.answer, answer.citations) == (False, None, [])
    assert answer.passages, "the closest passages are still shown"


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_seed_questions_unanswerable_abstain(service: QAService, question: str) -> None:
    answer = service.ask(question)
    assert (answer.answered, answer.answer) == (False, None)


def test_seed_questions_answerable_contain_the_expected_text(service: QAService) -> None:
    assert len(ANSWERABLE) == 12
    misses = {}
    for item in ANSWERABLE:
        answer = service.ask(item["question"])
        text = normalize(answer.answer or "")
        if not any(normalize(expected) in text for expected in item["expect_any"]):
            misses[item["question"]] = answer.answer
    # One known miss: "In which city was the de-escalation agreement signed?" is refused (the reader
    # does not tie "de-escalation" to «کاهش تنش»). "When did the terrorist groups begin ...?" is
    # answered since a weekday («بامداد چهارشنبه») counts as the date it asks for.
    assert len(misses) <= 1, json.dumps(misses, ensure_ascii=False, indent=1)
