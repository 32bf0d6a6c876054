"""The optional extractive reader (QA_READER_MODEL), on a tiny QA model the test builds.

Its random weights answer nothing sensibly; what is checked is the plumbing: the model
loads from a local folder only, reads the top passages, and its span becomes an answer
whose citation quotes the stored paragraph exactly, with the model's no-answer score
deciding the confidence.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_model import tiny_models

from qa.errors import ModelUnavailable
from qa.reader import ExtractiveReader
from qa.service import QAService
from qa.settings import Settings

QUESTIONS = ["بشار اسد با چه کسی تلفنی گفتگو کرد؟", "Why were schools in Tehran closed?"]


@pytest.fixture(scope="module")
def reader_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BERT question-answering model (random, seeded) on the tiny model's tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertForQuestionAnswering

    hf_folder = tiny_models(tmp_path_factory)["e5"].parent / "tiny-e5-hf"
    target = tmp_path_factory.getbasetemp() / "tiny-reader"
    if not (target / "config.json").exists():
        torch.manual_seed(0)
        BertForQuestionAnswering.from_pretrained(hf_folder).save_pretrained(target)
        AutoTokenizer.from_pretrained(hf_folder).save_pretrained(target)
    return target


def test_reader_spans_are_exact_quotes(reader_path: Path, service: QAService, embedder: object) -> None:
    reading = QAService(Settings(data_dir=service.data_dir, reader_model=str(reader_path)), embedder=embedder)
    for question in QUESTIONS:
        answer = reading.ask(question, min_confidence=0.0)
        assert answer.answered and answer.citations
        assert set(answer.signals) == {"reader_score", "reader_null_score"}
        cite = answer.citations[0]
        _, paragraphs = reading.document(cite.doc_id)
        text = next(p.text for p in paragraphs if p.n == cite.paragraph)
        assert cite.quote == text[cite.start : cite.end] == answer.answer
        assert 0.0 <= answer.confidence <= 1.0


def test_reader_no_answer_score_abstains(reader_path: Path, service: QAService, embedder: object) -> None:
    reading = QAService(Settings(data_dir=service.data_dir, reader_model=str(reader_path)), embedder=embedder)
    confidence = reading.ask(QUESTIONS[0], min_confidence=0.0).confidence
    above = reading.ask(QUESTIONS[0], min_confidence=min(1.0, confidence + 1e-3))
    assert not above.answered and above.answer is None and above.citations == []


def test_reader_that_is_not_on_disk_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="QA_READER_MODEL"):
        ExtractiveReader(str(tmp_path / "no-such-reader"))
