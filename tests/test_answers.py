"""Answers on the seeded corpus, held to the contract: every quote is the stored text at
its offsets, the answer says nothing its quote does not, passages are ranked and capped,
and a question the corpus cannot answer gets an honest abstention.
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
    ("Why were schools and offices in Tehran closed?", 3),
    ("کانون زلزله فوریه ۲۰۲۳ در کدام استان ترکیه بود؟", 5),
    ("سوزاندن چه سوختی در نیروگاه‌های اطراف تهران مورد انتقاد است؟", 2),
    ("شاخص کیفیت هوای تهران به چه عددی رسید؟", 1),
    ("What is the capital city of Japan?", 4),
]


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
    ids=["en-assad", "en-schools", "fa-epicentre", "fa-mazut", "fa-aqi", "en-japan"],
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


def test_assad_phone_calls(service: QAService) -> None:
    answer = service.ask("Who did Bashar al-Assad speak with by phone?")
    assert answer.answered, answer.signals
    citation = answer.citations[0]
    assert citation.doc_id == "assad-earthquake-calls"
    _, paragraphs = service.document(citation.doc_id)
    assert "بشار اسد" in next(p.text for p in paragraphs if p.n == citation.paragraph)
    assert "السیسی" in answer.answer or "محمد بن زاید" in answer.answer, answer.answer


@pytest.mark.parametrize("question", ["What is the capital city of Japan?", "پایتخت ژاپن کجاست؟"], ids=["en", "fa"])
def test_out_of_corpus_questions_abstain(service: QAService, question: str) -> None:
    answer = service.ask(question)
    assert (answer.answered, answer.answer, answer.citations) == (False, None, [])
    assert answer.passages, "the closest passages are still shown"


def test_seed_questions_unanswerable_abstain(service: QAService) -> None:
    answered = {q: a.answer for q in UNANSWERABLE if (a := service.ask(q)).answered}
    assert answered == {}


def test_seed_questions_answerable_contain_the_expected_text(service: QAService) -> None:
    assert len(ANSWERABLE) == 8
    misses = {}
    for item in ANSWERABLE:
        answer = service.ask(item["question"])
        text = normalize(answer.answer or "")
        if not any(normalize(expected) in text for expected in item["expect_any"]):
            misses[item["question"]] = answer.answer
    assert len(misses) <= 2, json.dumps(misses, ensure_ascii=False, indent=1)
